package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class StreamingHistogramTest {

    /** Gaussian bulk, a few far outliers on both sides, and exact zeros. */
    private static float[] mixed(int n, long seed) {
        Random rnd = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian() * 3f;
        }
        v[n / 3] = 250f;
        v[n / 2] = -75.5f;
        v[n - 1] = 0f;
        return v;
    }

    /** Reference: every value put directly into the final grid, {@code floor(x / w) - o}. */
    private static long[] directBinning(float[] values, StreamingHistogram h) {
        long[] counts = new long[h.bins()];
        int origin = -h.zeroBin();
        for (float v : values) {
            counts[(int) Math.floor(v / h.binWidth()) - origin]++;
        }
        return counts;
    }

    private static long[] countsOf(StreamingHistogram h) {
        long[] c = new long[h.bins()];
        h.copyCounts(c);
        return c;
    }

    @Test
    void widthIsTheSmallestPowerOfTwoThatFitsTheSpanWithZero() {
        StreamingHistogram h = new StreamingHistogram();
        h.add(new float[] {0f, 0.25f, 1f}, 0, 3);
        // [0, 1]: 1/2048 needs bins 0..2048 (2049 > 2048), so 1/1024
        assertThat(h.binWidth()).isEqualTo(0x1p-10);
        assertThat(h.zeroBin()).isZero();
        assertThat(h.count(0)).isEqualTo(1);
        assertThat(h.count(256)).isEqualTo(1);
        assertThat(h.count(1024)).isEqualTo(1);

        StreamingHistogram far = new StreamingHistogram();
        far.add(1000f, 3);
        far.add(1001f, 1);
        // span [0, 1001] (0 is always in it): 1001 / 0.5 = 2002 <= 2047, 1001 / 0.25 = 4004 > 2047
        assertThat(far.binWidth()).isEqualTo(0.5);
        assertThat(far.lowerEdge(0)).isEqualTo(0.0);
        assertThat(far.count(2000)).isEqualTo(3);
        assertThat(far.count(2002)).isEqualTo(1);
        assertThat(far.min()).isEqualTo(1000f);
        assertThat(far.absMax()).isEqualTo(1001f);
    }

    @Test
    void negativeValuesBinBelowZero() {
        StreamingHistogram h = new StreamingHistogram(16);
        h.add(new float[] {-1f, -0.25f, 0f, 3f}, 0, 4);
        // span [-1, 3]: w = 0.25 gives floor(3/0.25) - floor(-1/0.25) = 12 + 4 = 16 > 15, w = 0.5 gives 8
        assertThat(h.binWidth()).isEqualTo(0.5);
        assertThat(h.zeroBin()).isEqualTo(2);
        assertThat(h.lowerEdge(0)).isEqualTo(-1.0);
        assertThat(countsOf(h)).containsExactly(1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0);
    }

    @Test
    void growingReBinsExactlyIntoTheDirectGrid() {
        float[] values = mixed(4098, 7);
        StreamingHistogram h = new StreamingHistogram();
        // ascending magnitudes force many doublings
        List<Float> ordered = new ArrayList<>();
        for (float v : values) {
            ordered.add(v);
        }
        ordered.sort((x, y) -> Float.compare(Math.abs(x), Math.abs(y)));
        for (float v : ordered) {
            h.add(new float[] {v}, 0, 1);
        }
        assertThat(countsOf(h)).isEqualTo(directBinning(values, h));
        assertThat(h.totalCount()).isEqualTo(values.length);
    }

    @Test
    void stateDependsOnlyOnTheMultisetNotOnBatchSizeOrOrder() {
        float[] values = mixed(4098, 42);
        StreamingHistogram whole = new StreamingHistogram();
        whole.add(values, 0, values.length);
        for (int batch : new int[] {1, 7, 13, 100, 207, 4098}) {
            StreamingHistogram forward = new StreamingHistogram();
            for (int i = 0; i < values.length; i += batch) {
                forward.add(values, i, Math.min(batch, values.length - i));
            }
            StreamingHistogram backward = new StreamingHistogram();
            for (int i = ((values.length - 1) / batch) * batch; i >= 0; i -= batch) {
                backward.add(values, i, Math.min(batch, values.length - i));
            }
            for (StreamingHistogram h : List.of(forward, backward)) {
                assertThat(h.binWidth()).isEqualTo(whole.binWidth());
                assertThat(h.zeroBin()).isEqualTo(whole.zeroBin());
                assertThat(countsOf(h)).isEqualTo(countsOf(whole));
                assertThat(h.min()).isEqualTo(whole.min());
                assertThat(h.max()).isEqualTo(whole.max());
                assertThat(h.totalCount()).isEqualTo(whole.totalCount());
            }
        }
        List<Float> shuffled = new ArrayList<>();
        for (float v : values) {
            shuffled.add(v);
        }
        Collections.shuffle(shuffled, new Random(3));
        StreamingHistogram oneByOne = new StreamingHistogram();
        shuffled.forEach(v -> oneByOne.add(v, 1));
        assertThat(countsOf(oneByOne)).isEqualTo(countsOf(whole));
        assertThat(countsOf(whole)).isEqualTo(directBinning(values, whole));
    }

    @Test
    void mergingPartialHistogramsEqualsOnePass() {
        float[] values = mixed(2049, 5);
        StreamingHistogram whole = new StreamingHistogram(256);
        whole.add(values, 0, values.length);
        StreamingHistogram a = new StreamingHistogram(256);
        StreamingHistogram b = new StreamingHistogram(256);
        a.add(values, 0, 1000);   // holds the 250 outlier only
        b.add(values, 1000, 1049);
        b.merge(a);
        assertThat(b.binWidth()).isEqualTo(whole.binWidth());
        assertThat(countsOf(b)).isEqualTo(countsOf(whole));
        assertThat(b.totalCount()).isEqualTo(2049);
    }

    @Test
    void constantAndTinyValuesKeepAGrid() {
        StreamingHistogram zeros = new StreamingHistogram();
        zeros.add(new float[5], 0, 5);
        assertThat(zeros.binWidth()).isEqualTo(StreamingHistogram.MIN_WIDTH);
        assertThat(zeros.count(zeros.zeroBin())).isEqualTo(5);
        assertThat(zeros.absMax()).isZero();

        StreamingHistogram tiny = new StreamingHistogram();
        float[] v = {Float.MIN_VALUE, -3 * Float.MIN_VALUE, 1e-30f, Float.MAX_VALUE, -Float.MAX_VALUE};
        for (float x : v) {
            tiny.add(x, 1);
        }
        assertThat(countsOf(tiny)).isEqualTo(directBinning(v, tiny));
        assertThat(tiny.max()).isEqualTo(Float.MAX_VALUE);
    }

    @Test
    void floatBufferRemainderIsAddedWithoutMovingIt() {
        FloatBuffer buf = FloatBuffer.wrap(new float[] {100f, -1f, 2f, -100f});
        buf.position(1).limit(3);
        StreamingHistogram h = new StreamingHistogram();
        h.add(buf);
        assertThat(buf.position()).isEqualTo(1);
        assertThat(h.min()).isEqualTo(-1f);
        assertThat(h.max()).isEqualTo(2f);
        assertThat(h.totalCount()).isEqualTo(2);
    }

    @Test
    void nonFiniteValuesAreRefused() {
        StreamingHistogram h = new StreamingHistogram();
        assertThatThrownBy(() -> h.add(new float[] {1f, Float.NaN}, 0, 2)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("element 1");
        assertThatThrownBy(() -> h.add(Float.POSITIVE_INFINITY, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(h.isEmpty()).isTrue();
    }

    @Test
    void quantilesOnAKnownHistogram() {
        // 90 × 0.5, 9 × 1.5, 1 × 7.5 on 16 bins: span [0, 7.5], w = 0.5 (floor(7.5/0.25) = 30 > 15)
        StreamingHistogram h = new StreamingHistogram(16);
        h.add(0.5f, 90);
        h.add(1.5f, 9);
        h.add(7.5f, 1);
        assertThat(h.binWidth()).isEqualTo(0.5);
        assertThat(h.upperQuantile(new BigDecimal("0.9"))).isEqualTo(1.0f);    // keep 90: bin [0.5, 1)
        assertThat(h.upperQuantile(new BigDecimal("0.91"))).isEqualTo(2.0f);   // keep 91: bin [1.5, 2)
        assertThat(h.upperQuantile(new BigDecimal("0.99"))).isEqualTo(2.0f);   // keep 99
        assertThat(h.upperQuantile(new BigDecimal("0.991"))).isEqualTo(7.5f);  // keep ceil(99.1) = 100: capped at max
        assertThat(h.lowerQuantile(new BigDecimal("0.9"))).isEqualTo(0.5f);    // 100 values >= 0.5: floored at min
        assertThat(h.lowerQuantile(new BigDecimal("0.1"))).isEqualTo(1.5f);    // keep 10 from the top: [1.5, 2) has 9+1
        assertThat(h.absQuantile(new BigDecimal("0.99"), new long[16])).isEqualTo(2.0f);
    }

    @Test
    void absQuantileFoldsNegativeBinsOntoPositiveOnes() {
        // w = 0.5 on 16 bins over [-3.25, 1.25]; |x| bins: -3.25 → (3, 3.5] → fold bin 6; -0.25 → (0, 0.5] → bin 0
        StreamingHistogram h = new StreamingHistogram(16);
        h.add(-3.25f, 2);
        h.add(-0.25f, 50);
        h.add(0.75f, 40);
        h.add(1.25f, 8);
        assertThat(h.binWidth()).isEqualTo(0.5);
        long[] folded = new long[16];
        assertThat(h.foldAbs(folded)).isEqualTo(7);
        assertThat(folded).startsWith(50, 40, 8, 0, 0, 0, 2);
        assertThat(h.absQuantile(new BigDecimal("0.5"), folded)).isEqualTo(0.5f);   // keep 50
        assertThat(h.absQuantile(new BigDecimal("0.98"), folded)).isEqualTo(1.5f);  // keep 98
        assertThat(h.absQuantile(new BigDecimal("0.99"), folded)).isEqualTo(3.25f); // keep 99: bin (3, 3.5], capped
    }

    @Test
    void keepCountIsExactDecimal() {
        assertThat(StreamingHistogram.keepCount(new BigDecimal("0.9999"), 10_000)).isEqualTo(9_999);
        assertThat(StreamingHistogram.keepCount(new BigDecimal("0.9999"), 10_001)).isEqualTo(10_000);
        assertThat(StreamingHistogram.keepCount(new BigDecimal("0.99999"), 10)).isEqualTo(10);
        assertThat(StreamingHistogram.keepCount(new BigDecimal("0.000001"), 10)).isEqualTo(1);
    }
}
