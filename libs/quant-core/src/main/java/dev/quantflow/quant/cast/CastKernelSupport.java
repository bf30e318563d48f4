package dev.quantflow.quant.cast;

import java.util.Map;

/**
 * Which ops ONNX Runtime's CPU execution provider (1.29, x86-64 build) runs natively in FP16 / BF16, and from which
 * ai.onnx opset on.
 *
 * <p>How the lists were found: a one-node model per op (inputs and outputs in the 16-bit type, opsets 11, 13, 17
 * and 21) was loaded with all optimizations and its optimized graph saved. An op is listed when the session loads,
 * runs, and the optimized graph has no Cast in it. For FP16 ONNX Runtime loads far more ops, but only because its
 * insert-cast transformer wraps every op that lacks an fp16 CPU kernel in fp16→fp32→fp16 Casts (Add, Mul, Div, Sub,
 * Softmax, Erf, Conv, Relu, pooling, reductions, … all do, on x86); counting those as FP16 would hide a Cast pair per
 * op inside the runtime. For BF16 there is no such transformer: an op without a bf16 kernel fails to load, and no
 * arithmetic op has one — only data movement does, and only from opset 13, where ONNX added bfloat16 to the
 * operator schemas (Cast included). {@code CastKernelSupportTest} loads and runs every listed op in its type, and a
 * few unlisted ones to show they still need Casts, so an ONNX Runtime upgrade that changes this fails a test.
 *
 * <p>Shape and Cast read any input type and are handled by {@link CastQuantizer} separately.
 */
public final class CastKernelSupport {

    /** FP16 kernels without inserted Casts: op → lowest opset verified. */
    static final Map<String, Integer> FP16 = Map.ofEntries(
        Map.entry("MatMul", 11), Map.entry("Gemm", 11), Map.entry("LayerNormalization", 17),
        Map.entry("Clip", 13), Map.entry("Max", 13), Map.entry("Min", 13), Map.entry("Round", 11),
        Map.entry("Sign", 11), Map.entry("Concat", 11), Map.entry("Expand", 11), Map.entry("Flatten", 11),
        Map.entry("Gather", 11), Map.entry("Identity", 11), Map.entry("Reshape", 11), Map.entry("Slice", 11),
        Map.entry("Squeeze", 11), Map.entry("Unsqueeze", 11), Map.entry("Transpose", 11), Map.entry("Cast", 11),
        Map.entry("Shape", 11));

    /** BF16 kernels: op → lowest opset verified (13: bfloat16 entered the schemas there). */
    static final Map<String, Integer> BF16 = Map.ofEntries(
        Map.entry("Clip", 13), Map.entry("Sign", 13), Map.entry("Concat", 13), Map.entry("Flatten", 13),
        Map.entry("Gather", 13), Map.entry("Identity", 13), Map.entry("Reshape", 13), Map.entry("Slice", 13),
        Map.entry("Squeeze", 13), Map.entry("Unsqueeze", 13), Map.entry("Transpose", 13), Map.entry("Cast", 13),
        Map.entry("Shape", 13));

    private CastKernelSupport() {
    }

    /** True when ONNX Runtime CPU runs {@code opType} (ai.onnx domain) in {@code target} at {@code opset}. */
    public static boolean hasKernel(String opType, CastTarget target, long opset) {
        Integer since = (target == CastTarget.FP16 ? FP16 : BF16).get(opType);
        return since != null && opset >= since;
    }

    /** Lowest opset at which ONNX Runtime CPU is known to run BF16 tensors at all. */
    public static final int BF16_MIN_OPSET = 13;
}
