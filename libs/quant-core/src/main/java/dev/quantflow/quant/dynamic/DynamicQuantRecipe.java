package dev.quantflow.quant.dynamic;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What a dynamic INT8 quantization should do. Weights are symmetric INT8; activations are quantized at run time
 * (asymmetric UINT8, scale and zero point from each tensor's own min/max), so no calibration data is needed.
 *
 * @param excludedNodes       node names kept in fp32 (unnamed nodes are named {@code <OpType>_<index>})
 * @param opTypes             which op types to quantize: any of {@code MatMul}, {@code Gemm}, {@code Gather},
 *                            {@code LSTM} (default: all four)
 * @param perChannelWeights   one weight scale per output column of a MatMul / Gemm (and per gate row of an LSTM)
 *                            instead of one per tensor (default true)
 * @param reduceRangeWeights  MatMul / Gemm / LSTM weight codes in [-64, 64] instead of [-127, 127] (default true):
 *                            exact on x86 CPUs without VNNI, whose u8·s8 kernels add pairs of products into a
 *                            saturating int16 ({@link dev.quantflow.quant.SymmetricWeightQuantizer}). Embedding
 *                            tables (Gather) never go through an integer GEMM and always use the full range.
 * @param graphForm           the operators written for a quantized MatMul / Gemm (default
 *                            {@link DynamicGraphForm#INTEGER_OPS})
 * @param mergeSiblingMatMuls quantized MatMuls / Gemms that read the same activation (a transformer's Q, K and V
 *                            projections) become one integer MatMul over their concatenated weights followed by a
 *                            Split (default true): the activation is packed once and the kernel runs one wider GEMM
 * @param minGatherTableElements an embedding table (Gather over a float initializer) with fewer elements stays fp32
 *                            (default {@value #DEFAULT_MIN_GATHER_TABLE_ELEMENTS}): a table that small saves no
 *                            meaningful bytes and quantizing it only adds a DequantizeLinear
 * @param smoothingChannelAbsMax SmoothQuant statistics: per MatMul input tensor, {@code max |X[.., j]|} per channel
 *                            from calibration data; empty (default) = no smoothing. When present the fp32 model is
 *                            first rewritten by {@link SmoothQuant#apply} (same function, outlier channels moved
 *                            into the weights) and then quantized as usual
 * @param smoothingAlpha      SmoothQuant's migration strength α in [0, 1] (only read when smoothing is on)
 */
public record DynamicQuantRecipe(Set<String> excludedNodes, Set<String> opTypes, boolean perChannelWeights,
                                 boolean reduceRangeWeights, DynamicGraphForm graphForm, boolean mergeSiblingMatMuls,
                                 int minGatherTableElements, Map<String, float[]> smoothingChannelAbsMax,
                                 double smoothingAlpha) {

    /** Op types this quantizer knows. */
    public static final Set<String> SUPPORTED_OP_TYPES = Set.of("MatMul", "Gemm", "Gather", "LSTM");
    public static final int DEFAULT_MIN_GATHER_TABLE_ELEMENTS = 4096;

    public DynamicQuantRecipe {
        excludedNodes = Set.copyOf(Objects.requireNonNull(excludedNodes, "excludedNodes"));
        opTypes = Set.copyOf(Objects.requireNonNull(opTypes, "opTypes"));
        Objects.requireNonNull(graphForm, "graphForm");
        for (String op : opTypes) {
            if (!SUPPORTED_OP_TYPES.contains(op)) {
                throw new IllegalArgumentException("op type " + op + " cannot be dynamically quantized; supported: "
                    + SUPPORTED_OP_TYPES);
            }
        }
        if (minGatherTableElements < 0) {
            throw new IllegalArgumentException("minGatherTableElements must be >= 0, got " + minGatherTableElements);
        }
        Map<String, float[]> stats = new LinkedHashMap<>();
        if (smoothingChannelAbsMax != null) {
            smoothingChannelAbsMax.forEach((k, v) -> stats.put(Objects.requireNonNull(k, "tensor name"),
                Objects.requireNonNull(v, "statistics of " + k).clone()));
        }
        smoothingChannelAbsMax = Collections.unmodifiableMap(stats);
        if (!stats.isEmpty() && !(smoothingAlpha >= 0 && smoothingAlpha <= 1)) {
            throw new IllegalArgumentException("smoothingAlpha must be in [0, 1], got " + smoothingAlpha);
        }
    }

    /** A recipe without smoothing (the form before SmoothQuant was added). */
    public DynamicQuantRecipe(Set<String> excludedNodes, Set<String> opTypes, boolean perChannelWeights,
                              boolean reduceRangeWeights, DynamicGraphForm graphForm, boolean mergeSiblingMatMuls,
                              int minGatherTableElements) {
        this(excludedNodes, opTypes, perChannelWeights, reduceRangeWeights, graphForm, mergeSiblingMatMuls,
            minGatherTableElements, Map.of(), SmoothQuant.DEFAULT_ALPHA);
    }

    /** Whether {@link DynamicQuantizer} smooths the model with {@link SmoothQuant} first. */
    public boolean smoothing() {
        return !smoothingChannelAbsMax.isEmpty();
    }

    /** Everything supported quantized, per-channel reduced-range weights, standard ONNX integer ops, siblings merged. */
    public static DynamicQuantRecipe defaults() {
        return new DynamicQuantRecipe(Set.of(), SUPPORTED_OP_TYPES, true, true, DynamicGraphForm.INTEGER_OPS, true,
            DEFAULT_MIN_GATHER_TABLE_ELEMENTS);
    }

    public DynamicQuantRecipe withExcludedNodes(Set<String> nodes) {
        return copy(c -> c.excludedNodes = nodes);
    }

    public DynamicQuantRecipe withOpTypes(Set<String> ops) {
        return copy(c -> c.opTypes = ops);
    }

    public DynamicQuantRecipe withPerChannelWeights(boolean perChannel) {
        return copy(c -> c.perChannelWeights = perChannel);
    }

    public DynamicQuantRecipe withReduceRangeWeights(boolean reduce) {
        return copy(c -> c.reduceRangeWeights = reduce);
    }

    public DynamicQuantRecipe withGraphForm(DynamicGraphForm form) {
        return copy(c -> c.graphForm = form);
    }

    public DynamicQuantRecipe withMergeSiblingMatMuls(boolean merge) {
        return copy(c -> c.mergeSiblingMatMuls = merge);
    }

    public DynamicQuantRecipe withMinGatherTableElements(int min) {
        return copy(c -> c.minGatherTableElements = min);
    }

    /**
     * SmoothQuant before quantization ({@link SmoothQuant}): {@code channelAbsMax} maps MatMul input tensors to
     * their per-channel {@code max |X|} over calibration data ({@link SmoothQuant#smoothableInputs} lists the
     * tensors); null or empty turns smoothing off.
     */
    public DynamicQuantRecipe withSmoothing(Map<String, float[]> channelAbsMax, double alpha) {
        return copy(c -> {
            c.smoothingChannelAbsMax = channelAbsMax == null ? Map.of() : channelAbsMax;
            c.smoothingAlpha = alpha;
        });
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private DynamicQuantRecipe copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private Set<String> excludedNodes;
        private Set<String> opTypes;
        private boolean perChannelWeights;
        private boolean reduceRangeWeights;
        private DynamicGraphForm graphForm;
        private boolean mergeSiblingMatMuls;
        private int minGatherTableElements;
        private Map<String, float[]> smoothingChannelAbsMax;
        private double smoothingAlpha;

        private Copy(DynamicQuantRecipe from) {
            excludedNodes = from.excludedNodes;
            opTypes = from.opTypes;
            perChannelWeights = from.perChannelWeights;
            reduceRangeWeights = from.reduceRangeWeights;
            graphForm = from.graphForm;
            mergeSiblingMatMuls = from.mergeSiblingMatMuls;
            minGatherTableElements = from.minGatherTableElements;
            smoothingChannelAbsMax = from.smoothingChannelAbsMax;
            smoothingAlpha = from.smoothingAlpha;
        }

        private DynamicQuantRecipe build() {
            return new DynamicQuantRecipe(excludedNodes, opTypes, perChannelWeights, reduceRangeWeights, graphForm,
                mergeSiblingMatMuls, minGatherTableElements, smoothingChannelAbsMax, smoothingAlpha);
        }
    }
}
