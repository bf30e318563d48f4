package dev.quantflow.quant;

/**
 * Weights quantized to symmetric INT8: {@code values} in the tensor's original layout, one scale per slice along
 * {@code axis} (or a single scale with {@code axis = -1}); zero points are all 0.
 */
public record QuantizedWeights(byte[] values, float[] scales, int axis) {

    public boolean perChannel() {
        return axis >= 0;
    }
}
