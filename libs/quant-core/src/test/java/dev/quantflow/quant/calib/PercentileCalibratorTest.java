package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PercentileCalibratorTest {

    private static TensorRange percentile(String p, StreamingHistogram h) {
        return ((PercentileCalibrator) Calibrators.parse("percentile:" + p)).range(h);
    }

    @Test
    void nonNegativeTensorKeepsMinZeroAndClipsItsOneOutlier() {
        // 9999 × 0.5 and 1 × 100: span [0, 100], w = 1/16, 0.5 falls in [0.5, 0.5625)
        StreamingHistogram h = new StreamingHistogram();
        h.add(0.5f, 9_999);
        h.add(100f, 1);
        assertThat(h.binWidth()).isEqualTo(1.0 / 16);
        assertThat(percentile("99.99", h)).isEqualTo(new TensorRange(0f, 0.5625f));   // keep ceil(9999) = 9999
        assertThat(percentile("99.999", h)).isEqualTo(new TensorRange(0f, 100f));     // keep ceil(9999.9) = 10000
    }

    @Test
    void signedTensorIsClippedPerTail() {
        // N = 10000 on w = 1/32 (span [-2, 30]): -2 ×5, -0.5 ×9990, 0.75 ×4, 30 ×1
        StreamingHistogram h = new StreamingHistogram();
        h.add(-2f, 5);
        h.add(-0.5f, 9_990);
        h.add(0.75f, 4);
        h.add(30f, 1);
        assertThat(h.binWidth()).isEqualTo(1.0 / 32);
        // keep 9990 / 9995: both bounds fall in the bin [-0.5, -0.46875); the upper one then widens to 0
        assertThat(percentile("99.9", h)).isEqualTo(new TensorRange(-0.5f, 0f));
        assertThat(percentile("99.95", h)).isEqualTo(new TensorRange(-0.5f, 0f));
        // keep 9999: from below up to [0.75, 0.78125), from above down to the bin of -2 (floored at min)
        assertThat(percentile("99.99", h)).isEqualTo(new TensorRange(-2f, 0.78125f));
        assertThat(percentile("100", h)).isEqualTo(new TensorRange(-2f, 30f));
    }
}
