package dev.quantflow.quant.qdq;

import dev.quantflow.quant.QuantType;

/**
 * Integer type of quantized activations. Both are asymmetric (scale and zero point from the calibrated range): a
 * symmetric INT8 activation would waste half its codes on non-negative tensors (every Relu output) and could not
 * absorb a Relu (see {@link StaticQdqQuantizer}).
 */
public enum ActivationType {
    /** u8 activations × s8 weights: the form x86 VNNI dot-product instructions take natively. The default. */
    UINT8(QuantType.UINT8),
    /** s8 activations × s8 weights. */
    INT8(QuantType.INT8);

    private final QuantType quantType;

    ActivationType(QuantType quantType) {
        this.quantType = quantType;
    }

    public QuantType quantType() {
        return quantType;
    }
}
