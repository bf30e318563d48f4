package dev.quantflow.quant.qdq;

import java.util.Objects;
import java.util.Set;

/**
 * What a static INT8 quantization should do. Weights are always symmetric INT8.
 *
 * @param excludedNodes       node names to keep in fp32 (unnamed nodes are named {@code <OpType>_<index>})
 * @param perChannelWeights   one weight scale per output channel (default) instead of one per tensor
 * @param activationType      integer type of activations (default UINT8)
 * @param reduceRangeWeights  weight codes in [-64, 64] instead of [-127, 127] (default true): the model then computes
 *                            exactly on every x86 CPU, including those without VNNI whose u8·s8 kernels saturate
 *                            (see {@link dev.quantflow.quant.SymmetricWeightQuantizer}). Set false only when the
 *                            model will run on VNNI/ARM hardware or with ONNX Runtime's
 *                            {@code session.x64quantprecision=1}; it buys one bit of weight precision.
 * @param minConvReduction    a Conv whose reduction length per output value, {@code C/group · kh · kw}, is below this
 *                            stays fp32 (default {@value #DEFAULT_MIN_CONV_REDUCTION}; 0 quantizes every Conv). With so
 *                            few multiply-adds per output the integer kernel is all packing, layout conversion and
 *                            requantization: ONNX Runtime's QLinearConv for the 1-channel 3×3 stem of the Fashion-MNIST
 *                            CNN (K = 9) is about 4× slower than its fp32 NCHWc Conv (docs/benchmarks.md).
 */
public record StaticQuantRecipe(Set<String> excludedNodes, boolean perChannelWeights, ActivationType activationType,
                                boolean reduceRangeWeights, int minConvReduction) {

    /**
     * Default for {@link #minConvReduction}: 3×3 convolutions over 1 or 2 channels (K = 9, 18) stay fp32, from 3
     * channels (K = 27, an RGB stem) on they are quantized. Chosen from a sweep over the input channels of a
     * conv(C→32, 3×3) → relu → pool → conv(32→64) block at batch 256 on an AVX2 CPU with ONNX Runtime 1.29, one thread:
     * the stem in fp32 was faster at C = 1 and 2, even at C = 3 (int8 kept: smaller file), slower from C = 4 on
     * (docs/benchmarks.md, "Static INT8 on the Fashion-MNIST CNN").
     */
    public static final int DEFAULT_MIN_CONV_REDUCTION = 27;

    public StaticQuantRecipe {
        excludedNodes = Set.copyOf(Objects.requireNonNull(excludedNodes, "excludedNodes"));
        Objects.requireNonNull(activationType, "activationType");
        if (minConvReduction < 0) {
            throw new IllegalArgumentException("minConvReduction must be >= 0, got " + minConvReduction);
        }
    }

    /** A recipe with the default {@link #minConvReduction}. */
    public StaticQuantRecipe(Set<String> excludedNodes, boolean perChannelWeights, ActivationType activationType,
                             boolean reduceRangeWeights) {
        this(excludedNodes, perChannelWeights, activationType, reduceRangeWeights, DEFAULT_MIN_CONV_REDUCTION);
    }

    /** A recipe with reduced-range (saturation-safe) weights and the default {@link #minConvReduction}. */
    public StaticQuantRecipe(Set<String> excludedNodes, boolean perChannelWeights, ActivationType activationType) {
        this(excludedNodes, perChannelWeights, activationType, true);
    }

    /** Nothing excluded, per-channel weights, UINT8 activations, reduced-range weights, default minConvReduction. */
    public static StaticQuantRecipe defaults() {
        return new StaticQuantRecipe(Set.of(), true, ActivationType.UINT8);
    }

    public StaticQuantRecipe withReduceRangeWeights(boolean reduce) {
        return new StaticQuantRecipe(excludedNodes, perChannelWeights, activationType, reduce, minConvReduction);
    }

    public StaticQuantRecipe withActivationType(ActivationType type) {
        return new StaticQuantRecipe(excludedNodes, perChannelWeights, type, reduceRangeWeights, minConvReduction);
    }

    /** The same recipe with another {@link #minConvReduction} (0: quantize every Conv). */
    public StaticQuantRecipe withMinConvReduction(int minReduction) {
        return new StaticQuantRecipe(excludedNodes, perChannelWeights, activationType, reduceRangeWeights, minReduction);
    }
}
