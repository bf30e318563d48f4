package dev.quantflow.qat;

/**
 * Fake quantization (quantize, then dequantize, in float) with a straight-through estimator, and optionally a learned
 * step size (LSQ: Esser et al., "Learned Step Size Quantization", ICLR 2020).
 *
 * <h2>Forward</h2>
 * For a value {@code x}, step size (scale) {@code s > 0}, integer zero point {@code z} and code range
 * {@code [qmin, qmax]}:
 * <pre>
 *   v = x / s                                   (single precision, as ONNX Runtime's QuantizeLinear computes it)
 *   q = clamp(roundHalfToEven(v) + z, qmin, qmax)
 *   y = (q − z) · s
 * </pre>
 * which is exactly {@code DequantizeLinear(QuantizeLinear(x))} of ONNX, so an exported model computes the same
 * values. Weights are symmetric ({@code z = 0}, one {@code s} per tensor or per output channel), codes in
 * {@code [−2^(b−1), 2^(b−1) − 1]} for {@code b < 8} (4-bit: [−8, 7]) and {@code [−127, 127]} for 8 bits (as our
 * static quantizer writes them). Activations are asymmetric UINT8 ({@code [0, 255]}, per tensor).
 *
 * <h2>Backward</h2>
 * Straight-through estimator for the input: {@code ∂y/∂x = 1} where {@code qmin − z ≤ v ≤ qmax − z} and 0 where the
 * value was clipped. For the step size (LSQ, eq. 3 of the paper, with the zero point held fixed):
 * <pre>
 *   ∂y/∂s = roundHalfToEven(v) − v     inside the range
 *         = qmin − z                    below it
 *         = qmax − z                    above it
 * </pre>
 * and the gradient is multiplied by LSQ's gradient scale {@code g = 1 / √(N · Q_P)}, where {@code Q_P = qmax − z}
 * is the number of positive levels and {@code N} the number of values sharing the scale: weights per scale for a
 * weight quantizer, features per sample for an activation quantizer.
 *
 * <p>A quantizer whose step size is not learned either keeps it fixed (activations: the calibrated range) or,
 * for weights, recomputes it from the current weights every forward pass: {@code s_c = max|w_c| / qmax} (the
 * usual QAT weight observer), so the quantization grid follows the weights as they train. In calibration mode the
 * op is the identity and records the running min/max of its input.
 */
final class QatFakeQuant implements QatOp {

    private final boolean weight;
    private final int qmin;
    private final int qmax;
    private final int channels;
    private final int inner;
    private boolean learnable;
    private int zeroPoint;
    private boolean calibrating;
    private boolean enabled = true;
    private float observedMin = Float.POSITIVE_INFINITY;
    private float observedMax = Float.NEGATIVE_INFINITY;

    private QatFakeQuant(boolean weight, int qmin, int qmax, int channels, int inner, int zeroPoint, boolean learnable) {
        this.weight = weight;
        this.qmin = qmin;
        this.qmax = qmax;
        this.channels = channels;
        this.inner = inner;
        this.zeroPoint = zeroPoint;
        this.learnable = learnable;
    }

    /**
     * A symmetric weight quantizer with {@code channels} scales; element {@code i} uses scale
     * {@code (i / inner) mod channels} (per tensor: channels = 1).
     */
    static QatFakeQuant weights(int bits, int channels, int inner, boolean learnable) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("weight bits " + bits + " outside [2, 8]");
        }
        int qmax = bits == 8 ? 127 : (1 << (bits - 1)) - 1;
        int qmin = bits == 8 ? -127 : -(1 << (bits - 1));
        return new QatFakeQuant(true, qmin, qmax, channels, inner, 0, learnable);
    }

    /** An asymmetric UINT8 activation quantizer (one scale, zero point set at calibration). */
    static QatFakeQuant activations(boolean learnable) {
        return new QatFakeQuant(false, 0, 255, 1, 1, 0, learnable);
    }

    boolean isWeight() {
        return weight;
    }

    int qmin() {
        return qmin;
    }

    int qmax() {
        return qmax;
    }

    int zeroPoint() {
        return zeroPoint;
    }

    int channels() {
        return channels;
    }

    boolean learnable() {
        return learnable;
    }

    void setCalibrating(boolean calibrating) {
        this.calibrating = calibrating;
    }

    /** Disabled: the identity (the fp32 model). */
    void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    float observedMin() {
        return observedMin;
    }

    float observedMax() {
        return observedMax;
    }

    /**
     * Sets an activation quantizer's scale and zero point from the observed range (widened to contain 0), as
     * {@code QuantParams.asymmetric} does: {@code s = (max − min) / 255}, {@code z = clamp(round(−min / s), 0, 255)}.
     */
    void initFromObservedRange(QatTensor scale) {
        float lo = Math.min(observedMin, 0f);
        float hi = Math.max(observedMax, 0f);
        if (!(hi > lo)) {
            scale.data()[0] = 1f;
            zeroPoint = qmin;
            return;
        }
        float s = (hi - lo) / (qmax - qmin);
        scale.data()[0] = s;
        zeroPoint = (int) Math.max(qmin, Math.min(qmax, Math.rint(qmin - lo / s)));
    }

    /** Sets weight scales to {@code max|w_c| / qmax} (1 for an all-zero channel). */
    void initWeightScales(float[] w, int size, float[] scales) {
        java.util.Arrays.fill(scales, 0, channels, 0f);
        int block = channels == 1 ? size : inner;
        for (int start = 0; start < size; start += block) {
            int c = (start / block) % channels;
            int end = Math.min(size, start + block);
            float m = scales[c];
            for (int i = start; i < end; i++) {
                m = Math.max(m, Math.abs(w[i]));
            }
            scales[c] = m;
        }
        for (int c = 0; c < channels; c++) {
            scales[c] = scales[c] == 0f ? 1f : scales[c] / qmax;
        }
    }

    /** Quantizes one value to its integer code with scale s (ONNX QuantizeLinear). */
    static int quantize(float x, float s, int z, int qmin, int qmax) {
        float v = x / s;
        double q = Math.rint(v) + z;
        return (int) Math.max(qmin, Math.min(qmax, q));
    }

    @Override
    public void forward(QatTensor[] in, QatTensor out) {
        QatTensor x = in[0];
        QatTensor scale = in[1];
        out.reshape(x.shapeRef());
        float[] xd = x.data();
        float[] y = out.data();
        int n = x.size();
        if (calibrating || !enabled) {
            if (calibrating) {
                for (int i = 0; i < n; i++) {
                    observedMin = Math.min(observedMin, xd[i]);
                    observedMax = Math.max(observedMax, xd[i]);
                }
            }
            System.arraycopy(xd, 0, y, 0, n);
            return;
        }
        float[] s = scale.data();
        if (weight && !learnable) {
            initWeightScales(xd, n, s);
        }
        int z = zeroPoint;
        int block = channels == 1 ? n : inner;
        for (int start = 0; start < n; start += block) {
            float sc = s[(start / block) % channels];
            int end = Math.min(n, start + block);
            for (int i = start; i < end; i++) {
                y[i] = (quantize(xd[i], sc, z, qmin, qmax) - z) * sc;
            }
        }
    }

    @Override
    public void backward(QatTensor[] in, QatTensor out) {
        QatTensor x = in[0];
        QatTensor scale = in[1];
        float[] g = out.grad();
        float[] xd = x.data();
        float[] dx = x.grad();
        int n = x.size();
        if (calibrating || !enabled) {
            if (dx != null) {
                for (int i = 0; i < n; i++) {
                    dx[i] += g[i];
                }
            }
            return;
        }
        float[] s = scale.data();
        float[] ds = learnable ? scale.grad() : null;
        int z = zeroPoint;
        float lo = qmin - z;
        float hi = qmax - z;
        int perScale = weight ? n / channels : n / Math.max(x.dim(0), 1);
        float gradScale = (float) (1.0 / Math.sqrt((double) perScale * hi));
        int block = channels == 1 ? n : inner;
        for (int start = 0; start < n; start += block) {
            int c = (start / block) % channels;
            float sc = s[c];
            int end = Math.min(n, start + block);
            double acc = 0;
            for (int i = start; i < end; i++) {
                float v = xd[i] / sc;
                float gi = g[i];
                if (v < lo) {
                    acc += gi * lo;
                } else if (v > hi) {
                    acc += gi * hi;
                } else {
                    if (dx != null) {
                        dx[i] += gi;
                    }
                    acc += gi * (Math.rint(v) - v);
                }
            }
            if (ds != null) {
                ds[c] += (float) (acc * gradScale);
            }
        }
    }
}
