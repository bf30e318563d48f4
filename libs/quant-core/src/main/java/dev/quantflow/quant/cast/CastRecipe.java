package dev.quantflow.quant.cast;

import java.util.Objects;
import java.util.Set;

/**
 * What an FP16 / BF16 conversion should do.
 *
 * @param target                the 16-bit format
 * @param blockedOps            op types kept in fp32 for numerics, whatever the runtime supports (default
 *                              {@link #DEFAULT_BLOCKED_OPS})
 * @param excludedNodes         node names kept in fp32 (unnamed nodes are named {@code <OpType>_<index>})
 * @param keepIoFp32            graph inputs and outputs stay fp32 (default); when false, float inputs and outputs
 *                              take the target type
 * @param requireNativeKernels  an op runs in the target type only when ONNX Runtime's CPU provider has a kernel for it
 *                              in that type ({@link CastKernelSupport}); otherwise it is kept fp32 with explicit
 *                              Casts (default true). With false every op not blocked gets the target type: BF16 models
 *                              then do not load in ONNX Runtime CPU, and for FP16 ONNX Runtime inserts its own
 *                              fp16→fp32→fp16 Casts around each such op (the bench uses this to measure what the
 *                              block-list buys in numerics)
 */
public record CastRecipe(CastTarget target, Set<String> blockedOps, Set<String> excludedNodes, boolean keepIoFp32,
                         boolean requireNativeKernels) {

    /**
     * Ops kept fp32 by default. Normalisation and its decomposed form (LayerNormalization; ReduceMean, Pow, Sqrt,
     * Reciprocal as exported by PyTorch), Softmax-like ops, reductions, and exponentials/logarithms: they sum many
     * terms or amplify relative error (exp(x) turns an absolute error in x into a relative one), and in FP16 their
     * intermediate values (sums of squares, exp) overflow 65504 or underflow. Range and CumSum produce index-like
     * sequences that a 10-bit fraction cannot count exactly past 2048. Measured on all-MiniLM-L6-v2 in
     * docs/benchmarks.md ("FP16 / BF16 on all-MiniLM-L6-v2").
     */
    public static final Set<String> DEFAULT_BLOCKED_OPS = Set.of("LayerNormalization", "SimplifiedLayerNormalization",
        "InstanceNormalization", "BatchNormalization", "GroupNormalization", "ReduceMean", "ReduceSum",
        "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd", "Pow", "Sqrt",
        "Reciprocal", "Softmax", "LogSoftmax", "Exp", "Log", "Range", "CumSum");

    public CastRecipe {
        Objects.requireNonNull(target, "target");
        blockedOps = Set.copyOf(Objects.requireNonNull(blockedOps, "blockedOps"));
        excludedNodes = Set.copyOf(Objects.requireNonNull(excludedNodes, "excludedNodes"));
    }

    /** A recipe that keeps ops without an ONNX Runtime CPU kernel in the target type fp32. */
    public CastRecipe(CastTarget target, Set<String> blockedOps, Set<String> excludedNodes, boolean keepIoFp32) {
        this(target, blockedOps, excludedNodes, keepIoFp32, true);
    }

    /** FP16, default block-list, nothing excluded, fp32 inputs/outputs, native kernels only. */
    public static CastRecipe fp16() {
        return new CastRecipe(CastTarget.FP16, DEFAULT_BLOCKED_OPS, Set.of(), true);
    }

    /** BF16, default block-list, nothing excluded, fp32 inputs/outputs, native kernels only. */
    public static CastRecipe bf16() {
        return new CastRecipe(CastTarget.BF16, DEFAULT_BLOCKED_OPS, Set.of(), true);
    }

    public CastRecipe withBlockedOps(Set<String> ops) {
        return new CastRecipe(target, ops, excludedNodes, keepIoFp32, requireNativeKernels);
    }

    public CastRecipe withExcludedNodes(Set<String> nodes) {
        return new CastRecipe(target, blockedOps, nodes, keepIoFp32, requireNativeKernels);
    }

    public CastRecipe withKeepIoFp32(boolean keep) {
        return new CastRecipe(target, blockedOps, excludedNodes, keep, requireNativeKernels);
    }

    public CastRecipe withRequireNativeKernels(boolean require) {
        return new CastRecipe(target, blockedOps, excludedNodes, keepIoFp32, require);
    }
}
