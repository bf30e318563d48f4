package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;

class MseCalibratorTest {

    /** Independent reference: the asymmetric u8 grid written out, every candidate's error summed bin by bin. */
    static TensorRange referenceRange(StreamingHistogram h) {
        float a = Math.min(h.min(), 0f);
        float b = Math.max(h.max(), 0f);
        double best = Double.POSITIVE_INFINITY;
        TensorRange bestRange = null;
        for (int k = MseCalibrator.CANDIDATES; k >= 1; k--) {
            float lo = (float) ((double) a * k / MseCalibrator.CANDIDATES);
            float hi = (float) ((double) b * k / MseCalibrator.CANDIDATES);
            float scale = (hi - lo) / 255f;
            int zp = (int) Math.max(0, Math.min(255, Math.rint(0 - lo / scale)));
            double sum = 0;
            for (int j = 0; j < h.bins(); j++) {
                if (h.count(j) == 0) {
                    continue;
                }
                float x = (float) ((Math.max(h.min(), h.lowerEdge(j)) + Math.min(h.max(), h.upperEdge(j))) / 2);
                double q = Math.max(0, Math.min(255, Math.rint(x / scale) + zp));
                float dq = (float) (q - zp) * scale;
                sum += h.count(j) * ((double) x - dq) * ((double) x - dq);
            }
            if (sum < best) {
                best = sum;
                bestRange = new TensorRange(lo, hi);
            }
        }
        return bestRange;
    }

    @Test
    void handBuiltHistograms() {
        // expected values from a separate NumPy (float32) transcription
        StreamingHistogram few = new StreamingHistogram();
        few.add(0.25f, 1_000);
        few.add(1.0f, 100);
        few.add(64f, 1);
        assertThat(new MseCalibrator().range(few)).isEqualTo(new TensorRange(0f, 64f));      // k = 512: no clipping pays

        StreamingHistogram many = new StreamingHistogram();
        many.add(0.25f, 1_000_000);
        many.add(1.0f, 100_000);
        many.add(64f, 1);
        assertThat(new MseCalibrator().range(many)).isEqualTo(new TensorRange(0f, 37f));     // k = 296

        StreamingHistogram signed = new StreamingHistogram();
        signed.add(-0.75f, 1_000_000);
        signed.add(0.3f, 1_000_000);
        signed.add(40f, 1);
        assertThat(new MseCalibrator().range(signed)).isEqualTo(new TensorRange(-0.6899414f, 36.796875f)); // k = 471
    }

    @Test
    void agreesWithTheReferenceOnRandomTensors() {
        Random rnd = new Random(17);
        for (int n : new int[] {1, 13, 207, 4098}) {
            StreamingHistogram h = new StreamingHistogram();
            for (int i = 0; i < n; i++) {
                double g = rnd.nextGaussian();
                h.add((float) (i % 2 == 0 ? Math.abs(g) : g * g * g), 1 + rnd.nextInt(3));
            }
            assertThat(new MseCalibrator().range(h)).as("n=%d", n).isEqualTo(referenceRange(h));
        }
    }

    @Test
    void allZeroTensorGetsTheZeroRange() {
        StreamingHistogram h = new StreamingHistogram();
        h.add(0f, 10);
        assertThat(new MseCalibrator().range(h)).isEqualTo(new TensorRange(0f, 0f));
    }
}
