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
 */
public record StaticQuantRecipe(Set<String> excludedNodes, boolean perChannelWeights, ActivationType activationType,
                                boolean reduceRangeWeights) {

    public StaticQuantRecipe {
        excludedNodes = Set.copyOf(Objects.requireNonNull(excludedNodes, "excludedNodes"));
        Objects.requireNonNull(activationType, "activationType");
    }

    /** A recipe with reduced-range (saturation-safe) weights. */
    public StaticQuantRecipe(Set<String> excludedNodes, boolean perChannelWeights, ActivationType activationType) {
        this(excludedNodes, perChannelWeights, activationType, true);
    }

    /** Nothing excluded, per-channel weights, UINT8 activations, reduced-range weights. */
    public static StaticQuantRecipe defaults() {
        return new StaticQuantRecipe(Set.of(), true, ActivationType.UINT8);
    }

    public StaticQuantRecipe withReduceRangeWeights(boolean reduce) {
        return new StaticQuantRecipe(excludedNodes, perChannelWeights, activationType, reduce);
    }

    public StaticQuantRecipe withActivationType(ActivationType type) {
        return new StaticQuantRecipe(excludedNodes, perChannelWeights, type, reduceRangeWeights);
    }
}
