package dev.quantflow.quant.calib;

/** Observed (or chosen, for clipping calibrators) value range of one tensor. */
public record TensorRange(float min, float max) {
    public TensorRange {
        if (Float.isNaN(min) || Float.isNaN(max)) {
            throw new IllegalArgumentException("range contains NaN");
        }
        if (min > max) {
            throw new IllegalArgumentException("min " + min + " > max " + max);
        }
    }
}
