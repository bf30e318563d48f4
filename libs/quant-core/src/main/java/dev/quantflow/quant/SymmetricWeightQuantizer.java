package dev.quantflow.quant;

/**
 * Symmetric INT8 quantization of weights, per tensor or per output channel.
 *
 * <p>Per channel along {@code axis} of a tensor with dims {@code d}: the element at flat (row-major) index {@code i}
 * belongs to channel {@code c = (i / inner) mod d[axis]}, {@code inner = d[axis+1] · … · d[rank-1]}. For each
 * channel, with {@code qmax = 127} (full range) or 64 (reduced range, below)
 * <pre>
 *   a_c = max_i∈c |w_i|,   s_c = a_c / qmax,   q_i = clamp(roundHalfToEven(w_i / s_c), -qmax, qmax),   z_c = 0
 * </pre>
 * (see {@link QuantParams} for why -128 is left out). A channel that is entirely zero gets {@code s_c = 1}, so it
 * stays exactly zero and its bias scale (input scale · s_c) remains a usable positive number.
 *
 * <p><b>Reduced range</b> ({@code qmax = 64} instead of 127, i.e. 7-bit weights): x86 CPUs without VNNI compute
 * u8·s8 dot products with {@code vpmaddubsw}, which adds two adjacent products into a <em>saturating</em> int16.
 * With u8 activations up to 255 and |q_w| ≤ 127 a pair can reach 64770 &gt; 32767 and the result is silently wrong;
 * with |q_w| ≤ 64 a pair stays ≤ 255·128 = 32640, so every x86 kernel is exact, at the cost of one bit of weight
 * precision. (ONNX Runtime offers the other remedy at run time: {@code session.x64quantprecision=1} converts the
 * weights to u8 and uses the slower non-saturating u8·u8 kernels.)
 *
 * <p>Per-channel scales follow the spread of each output filter instead of the largest filter in the layer, which
 * is what keeps small-norm filters from collapsing to a handful of codes; ONNX DequantizeLinear supports the
 * per-axis form from opset 13.
 */
public final class SymmetricWeightQuantizer {

    private SymmetricWeightQuantizer() {
    }

    /** Largest code magnitude: full 8-bit range. */
    public static final int FULL_RANGE = 127;
    /** Largest code magnitude that cannot saturate x86 u8·s8 pair sums (see class doc). */
    public static final int REDUCED_RANGE = 64;

    /** One scale for the whole tensor, codes in [-127, 127]. */
    public static QuantizedWeights perTensor(float[] weights) {
        return perTensor(weights, FULL_RANGE);
    }

    /** One scale per slice along {@code axis}, codes in [-127, 127]. */
    public static QuantizedWeights perChannel(float[] weights, long[] dims, int axis) {
        return perChannel(weights, dims, axis, FULL_RANGE);
    }

    /** One scale for the whole tensor, codes in [-qmax, qmax]. */
    public static QuantizedWeights perTensor(float[] weights, int qmax) {
        float absMax = 0f;
        for (float w : weights) {
            absMax = Math.max(absMax, Math.abs(w));
        }
        float scale = scaleFor(absMax, qmax);
        byte[] q = new byte[weights.length];
        for (int i = 0; i < weights.length; i++) {
            q[i] = (byte) QuantParams.quantize(weights[i], scale, 0, -qmax, qmax);
        }
        return new QuantizedWeights(q, new float[] {scale}, -1);
    }

    /** One scale per slice along {@code axis} of a tensor with {@code dims}, codes in [-qmax, qmax]. */
    public static QuantizedWeights perChannel(float[] weights, long[] dims, int axis, int qmax) {
        if (qmax < 1 || qmax > 127) {
            throw new IllegalArgumentException("qmax " + qmax + " outside [1, 127]");
        }
        if (axis < 0 || axis >= dims.length) {
            throw new IllegalArgumentException("axis " + axis + " outside rank " + dims.length);
        }
        long count = 1;
        for (long d : dims) {
            count *= d;
        }
        if (count != weights.length) {
            throw new IllegalArgumentException(weights.length + " weights for dims of " + count + " elements");
        }
        int channels = (int) dims[axis];
        int inner = 1;
        for (int k = axis + 1; k < dims.length; k++) {
            inner *= (int) dims[k];
        }
        float[] absMax = new float[channels];
        for (int i = 0; i < weights.length; i++) {
            int c = (i / inner) % channels;
            absMax[c] = Math.max(absMax[c], Math.abs(weights[i]));
        }
        float[] scales = new float[channels];
        for (int c = 0; c < channels; c++) {
            scales[c] = scaleFor(absMax[c], qmax);
        }
        byte[] q = new byte[weights.length];
        for (int i = 0; i < weights.length; i++) {
            q[i] = (byte) QuantParams.quantize(weights[i], scales[(i / inner) % channels], 0, -qmax, qmax);
        }
        return new QuantizedWeights(q, scales, axis);
    }

    private static float scaleFor(float absMax, int qmax) {
        if (Float.isNaN(absMax) || Float.isInfinite(absMax)) {
            throw new QuantizationException("weights contain NaN or infinite values");
        }
        return absMax == 0f ? 1f : absMax / qmax;
    }
}
