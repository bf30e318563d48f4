package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;

class EntropyCalibratorTest {

    /**
     * Independent, literal transcription of TensorRT's procedure with MXNet's smoothing: materialize P and Q for
     * every candidate, smooth, normalize each, sum p·ln(p/q); first minimum wins.
     */
    static double[] referenceDivergences(long[] h, int used, int levels) {
        double[] kl = new double[used + 1];
        java.util.Arrays.fill(kl, Double.NaN);
        for (int i = levels; i <= used; i++) {
            double[] p = new double[i];
            for (int k = 0; k < used; k++) {
                p[Math.min(k, i - 1)] += h[k];
            }
            double[] q = new double[i];
            for (int g = 0; g < levels; g++) {
                int start = g * i / levels;
                int end = (g + 1) * i / levels;
                double sum = 0;
                int nonZero = 0;
                for (int k = start; k < end; k++) {
                    sum += h[k];
                    nonZero += p[k] != 0 ? 1 : 0;
                }
                for (int k = start; k < end; k++) {
                    q[k] = p[k] != 0 ? sum / nonZero : 0;
                }
            }
            double[] ps = smoothed(p);
            double[] qs = smoothed(q);
            if (ps == null || qs == null) {
                kl[i] = Double.POSITIVE_INFINITY;
                continue;
            }
            double sp = java.util.Arrays.stream(ps).sum();
            double sq = java.util.Arrays.stream(qs).sum();
            double d = 0;
            for (int k = 0; k < i; k++) {
                d += ps[k] / sp * Math.log((ps[k] / sp) / (qs[k] / sq));
            }
            kl[i] = d;
        }
        return kl;
    }

    private static double[] smoothed(double[] d) {
        long zeros = java.util.Arrays.stream(d).filter(x -> x == 0).count();
        if (zeros == d.length) {
            return null;
        }
        double take = 1e-4 * zeros / (d.length - zeros);
        double[] out = java.util.Arrays.stream(d).map(x -> x == 0 ? 1e-4 : x - take).toArray();
        return java.util.Arrays.stream(out).anyMatch(x -> x <= 0) ? null : out;
    }

    static int referenceBest(long[] h, int used, int levels) {
        if (used <= levels) {
            return used;
        }
        double[] kl = referenceDivergences(h, used, levels);
        int best = levels;
        for (int i = levels; i <= used; i++) {
            if (kl[i] < kl[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void minimizerOnHandBuiltHistogramsWithFourLevels() {
        // expected values also computed by a separate Python transcription of the same definition
        assertThat(EntropyCalibrator.optimalBinCount(new long[] {10, 6, 3, 2, 1, 0, 0, 1}, 8, 4)).isEqualTo(5);
        assertThat(EntropyCalibrator.optimalBinCount(new long[] {1, 0, 0, 0, 5, 9, 4, 1, 0, 0, 0, 0, 2}, 13, 4)).isEqualTo(7);
        assertThat(EntropyCalibrator.optimalBinCount(new long[] {50, 30, 20, 10, 5, 2, 1, 1, 0, 1}, 10, 4)).isEqualTo(5);
        // a far outlier beyond empty bins: clipped right after the bulk (only smoothing makes that candidate finite)
        assertThat(EntropyCalibrator.optimalBinCount(new long[] {1000, 800, 500, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3},
            16, 4)).isEqualTo(4);
        // no finer than the grid: keep everything
        assertThat(EntropyCalibrator.optimalBinCount(new long[] {3, 0, 1}, 3, 4)).isEqualTo(3);
    }

    @Test
    void divergencesMatchTheLiteralTranscription() {
        long[] h = {1, 0, 0, 0, 5, 9, 4, 1, 0, 0, 0, 0, 2};
        double[] ref = referenceDivergences(h, 13, 4);
        double[] p = new double[13];
        double[] q = new double[13];
        for (int i = 4; i <= 13; i++) {
            assertThat(EntropyCalibrator.divergence(h, 13, i, 4, p, q)).as("i=%d", i)
                .isCloseTo(ref[i], org.assertj.core.data.Offset.offset(1e-12));
        }
        // Python transcription of the same definition: KL_4 = 8.60673, KL_7 = 0.010104 (the minimum)
        assertThat(ref[4]).isCloseTo(8.60673, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(ref[7]).isCloseTo(0.010104, org.assertj.core.data.Offset.offset(1e-6));
    }

    @Test
    void agreesWithTheTranscriptionOnRandomHistogramsOfOddSizes() {
        Random rnd = new Random(11);
        for (int used : new int[] {1, 13, 129, 207, 257, 1001, 2047}) {
            for (int levels : new int[] {128, 256}) {
                long[] h = new long[used];
                for (int k = 0; k < used; k++) {
                    // heavy-tailed with gaps: exercises empty bins and infinite candidates
                    h[k] = rnd.nextInt(5) == 0 ? 0 : (long) (1000 * Math.exp(-k / (used / 6.0 + 1)) * rnd.nextDouble());
                }
                h[used - 1] = 1;
                int ours = EntropyCalibrator.optimalBinCount(h, used, levels);
                int ref = referenceBest(h, used, levels);
                if (ours != ref) {
                    // only a floating-point tie may separate them
                    double[] kl = referenceDivergences(h, used, levels);
                    assertThat(kl[ours]).as("used=%d levels=%d", used, levels).isCloseTo(kl[ref],
                        org.assertj.core.data.Offset.offset(1e-12));
                }
            }
        }
    }

    @Test
    void rangeOfANonNegativeTensorWithOutliers() {
        // Relu-like: geometric bulk on [0, 4) plus three far outliers; 256 levels because min >= 0
        StreamingHistogram h = new StreamingHistogram();
        for (int k = 0; k < 400; k++) {
            h.add(k / 100f, 1 + (long) (100_000 * Math.exp(-k / 60.0)));
        }
        h.add(40f, 3);
        long[] folded = new long[h.bins()];
        int used = h.foldAbs(folded);
        int expectedBins = referenceBest(folded, used, 256);
        TensorRange r = new EntropyCalibrator().range(h);
        assertThat(r.min()).isZero();
        assertThat(r.max()).isEqualTo((float) Math.min(40, expectedBins * h.binWidth()));
        assertThat(r.max()).isLessThan(40f).isGreaterThan(1f);
    }

    @Test
    void signedTensorUsesTheFoldAndClipsEachSideToTheObservedRange() {
        StreamingHistogram h = new StreamingHistogram();
        Random rnd = new Random(5);
        for (int i = 0; i < 50_000; i++) {
            h.add((float) (rnd.nextGaussian() * 0.5), 1);
        }
        h.add(-30f, 2);
        long[] folded = new long[h.bins()];
        int used = h.foldAbs(folded);
        double t = Math.min(h.absMax(), referenceBest(folded, used, 128) * h.binWidth());
        TensorRange r = new EntropyCalibrator().range(h);
        assertThat(r).isEqualTo(new TensorRange((float) -t, Math.min(h.max(), (float) t)));
        assertThat(r.min()).isGreaterThan(-30f);
    }

    @Test
    void aUniformTensorIsNotClipped() {
        // every |x| bin equally full: Q reproduces P exactly only when nothing is folded (KL = 0)
        StreamingHistogram h = new StreamingHistogram();
        for (int k = 0; k < 1500; k++) {
            h.add((k + 0.5f) / 1000f, 7);
        }
        TensorRange r = new EntropyCalibrator().range(h);
        assertThat(r).isEqualTo(new TensorRange(0f, h.max()));
    }
}
