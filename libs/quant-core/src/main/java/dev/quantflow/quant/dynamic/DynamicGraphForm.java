package dev.quantflow.quant.dynamic;

/**
 * How a dynamically quantized MatMul / Gemm is written into the graph. All three compute the same values (see
 * {@link DynamicQuantizer} for the math); they differ in which runtimes can load them and in what ONNX Runtime makes
 * of them.
 */
public enum DynamicGraphForm {
    /**
     * Standard ONNX operators only: {@code DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scale) [→ Add(bias)]},
     * opset 11. Any ONNX runtime can run it; ONNX Runtime fuses the chain into its {@code DynamicQuantizeMatMul} /
     * {@code MatMulIntegerToFloat} kernels (bias included) when the session is optimized at EXTENDED or ALL.
     */
    INTEGER_OPS,
    /**
     * ONNX Runtime's contrib operators written directly: {@code com.microsoft.DynamicQuantizeMatMul} (fp32 in, fp32
     * out, bias fused) when the activation has a single quantized reader, otherwise one shared
     * {@code DynamicQuantizeLinear} feeding {@code com.microsoft.MatMulIntegerToFloat} per reader. Loads in ONNX
     * Runtime only, but needs no graph optimization to reach the fused kernels. In this form, BERT self-attention
     * blocks (Q/K/V projections, scaled dot-product with the padding mask, softmax, context) are also fused into one
     * {@code com.microsoft.QAttention} each (int8 Q|K|V weights per column, input quantized at run time): the
     * Reshapes, Transposes, Split and mask arithmetic of the block disappear.
     */
    ORT_CONTRIB,
    /**
     * QDQ with dynamic activations: {@code DynamicQuantizeLinear → DequantizeLinear} on the activation,
     * {@code DequantizeLinear} (per axis) on the int8 weight, then the original fp32 MatMul. Needs opset 13 for
     * per-channel weights. Left to ONNX Runtime's QDQ fusions.
     */
    QDQ
}
