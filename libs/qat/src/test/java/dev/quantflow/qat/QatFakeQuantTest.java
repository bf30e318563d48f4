package dev.quantflow.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import org.junit.jupiter.api.Test;

/** Fake quantization against values worked out by hand from the formulas in {@link QatFakeQuant}. */
class QatFakeQuantTest {

    private static QatTensor t(String name, float[] v, boolean grad, int... shape) {
        return new QatTensor(name, shape, v, grad, grad);
    }

    @Test
    void activationForwardSteAndLsqScaleGradient() {
        QatFakeQuant fq = QatFakeQuant.activations(true);
        QatTensor scale = t("s", new float[] {0.25f}, true, 1);
        // calibrated range [-2.5, 61.25] → s = 63.75 / 255 = 0.25, z = round(2.5 / 0.25) = 10
        fq.setCalibrating(true);
        QatTensor range = t("r", new float[] {-2.5f, 61.25f}, false, 1, 2);
        fq.forward(new QatTensor[] {range, scale}, t("y", null, false, 0));
        fq.setCalibrating(false);
        fq.initFromObservedRange(scale);
        assertThat(scale.data()[0]).isEqualTo(0.25f);
        assertThat(fq.zeroPoint()).isEqualTo(10);

        QatTensor x = t("x", new float[] {0.1f, 0.7f, -4f, 70f}, true, 1, 4);
        QatTensor y = t("y", null, true, 0);
        fq.forward(new QatTensor[] {x, scale}, y);
        // v = 0.4 → 0; v = 2.8 → 3 → 0.75; v = -16 → q = -6 → clamp 0 → (0 − 10)·0.25; v = 280 → q = 290 → 255
        assertThat(y.values()).containsExactly(0f, 0.75f, -2.5f, 61.25f);

        java.util.Arrays.fill(y.grad(), 0, 4, 1f);
        x.zeroGrad();
        scale.zeroGrad();
        fq.backward(new QatTensor[] {x, scale}, y);
        assertThat(x.values().length).isEqualTo(4);
        assertThat(new float[] {x.grad()[0], x.grad()[1], x.grad()[2], x.grad()[3]}).containsExactly(1f, 1f, 0f, 0f);
        // Σ: (0 − 0.4) + (3 − 2.8) + (0 − 10) + (255 − 10), gradient scale 1/√(4 · 245)
        double expected = (-0.4 + 0.2 - 10 + 245) / Math.sqrt(4 * 245.0);
        assertThat((double) scale.grad()[0]).isCloseTo(expected, offset(1e-5));
    }

    @Test
    void fourBitWeightsPerChannelFollowMaxAbs() {
        QatFakeQuant fq = QatFakeQuant.weights(4, 2, 4, false);
        QatTensor scale = t("s", new float[2], false, 2);
        QatTensor w = t("w", new float[] {1.75f, -0.625f, 0.375f, 0.125f, 0f, 0f, 0f, 0f}, true, 2, 4);
        QatTensor y = t("y", null, true, 0);
        fq.forward(new QatTensor[] {w, scale}, y);
        // s0 = 1.75 / 7 = 0.25: codes 7, round(−2.5) = −2 (half to even), round(1.5) = 2, round(0.5) = 0
        assertThat(scale.data()[0]).isEqualTo(0.25f);
        assertThat(scale.data()[1]).isEqualTo(1f); // an all-zero channel
        assertThat(y.values()).containsExactly(1.75f, -0.5f, 0.5f, 0f, 0f, 0f, 0f, 0f);
    }

    @Test
    void learnedWeightScaleClipsToMinusEightAndSeven() {
        QatFakeQuant fq = QatFakeQuant.weights(4, 1, 3, true);
        QatTensor scale = t("s", new float[] {0.25f}, true, 1);
        QatTensor w = t("w", new float[] {-3f, 2f, 0.3f}, true, 3);
        QatTensor y = t("y", null, true, 0);
        fq.forward(new QatTensor[] {w, scale}, y);
        assertThat(y.values()).containsExactly(-2f, 1.75f, 0.25f); // codes −8 (clipped), 7 (clipped), round(1.2) = 1
        java.util.Arrays.fill(y.grad(), 0, 3, 1f);
        w.zeroGrad();
        scale.zeroGrad();
        fq.backward(new QatTensor[] {w, scale}, y);
        assertThat(new float[] {w.grad()[0], w.grad()[1], w.grad()[2]}).containsExactly(0f, 0f, 1f);
        double expected = (-8 + 7 + (1 - 0.3 / 0.25)) / Math.sqrt(3 * 7.0);
        assertThat((double) scale.grad()[0]).isCloseTo(expected, offset(1e-5));
    }

    @Test
    void eightBitWeightCodesAreSymmetric() {
        QatFakeQuant fq = QatFakeQuant.weights(8, 1, 2, false);
        assertThat(fq.qmin()).isEqualTo(-127);
        assertThat(fq.qmax()).isEqualTo(127);
        assertThat(QatFakeQuant.weights(4, 1, 1, false).qmin()).isEqualTo(-8);
    }
}
