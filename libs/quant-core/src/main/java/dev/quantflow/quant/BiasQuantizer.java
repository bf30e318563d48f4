package dev.quantflow.quant;

/**
 * INT32 quantization of a bias added to an integer accumulator.
 *
 * <p>An integer Conv/Gemm accumulates {@code Σ (qx - zx)·qw_c} whose real value is that sum times
 * {@code sx · sw_c}. A bias added to the same accumulator must therefore use
 * <pre>
 *   s_b[c] = sx · sw[c]   (float product),   z_b = 0,   q_b[c] = saturate_int32(roundHalfToEven(b[c] / s_b[c]))
 * </pre>
 * which is what ONNX Runtime's QLinearConv / QGemm assume for a DequantizeLinear'd int32 bias. The scale tensor
 * written next to the bias is exactly {@code s_b}, so DequantizeLinear and the fused kernel agree. A single weight
 * scale (per-tensor weights) is broadcast over all channels.
 */
public final class BiasQuantizer {

    private BiasQuantizer() {
    }

    public record QuantizedBias(int[] values, float[] scales) {
    }

    public static QuantizedBias quantize(float[] bias, float inputScale, float[] weightScales) {
        if (weightScales.length != 1 && weightScales.length != bias.length) {
            throw new IllegalArgumentException(bias.length + " bias values for " + weightScales.length + " weight scales");
        }
        int[] q = new int[bias.length];
        float[] scales = new float[bias.length];
        for (int c = 0; c < bias.length; c++) {
            float s = inputScale * weightScales[weightScales.length == 1 ? 0 : c];
            scales[c] = s;
            float v = bias[c] / s;
            if (Float.isNaN(v)) {
                throw new QuantizationException("bias contains NaN");
            }
            double r = Math.rint(v);
            q[c] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, r));
        }
        return new QuantizedBias(q, scales);
    }
}
