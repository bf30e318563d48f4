package dev.quantflow.quant.qdq;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.BiasQuantizer;
import dev.quantflow.quant.QuantParams;
import dev.quantflow.quant.QuantType;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.QuantizedWeights;
import dev.quantflow.quant.SymmetricWeightQuantizer;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.TensorRange;

/**
 * Static post-training INT8 quantization in QDQ form: the fp32 graph is kept, and QuantizeLinear /
 * DequantizeLinear pairs are inserted so that every quantized operator reads dequantized 8-bit values. ONNX
 * Runtime recognises the pattern {@code DQ(inputs) → op → Q(output)} and replaces it with an integer kernel
 * (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, 8-bit MaxPool); any other runtime still gets a valid fp32 graph
 * that computes the same values.
 *
 * <h2>What is quantized, and how</h2>
 * <ul>
 *   <li><b>Weights</b> (Conv input 1, Gemm input B, MatMul input B when an initializer): symmetric INT8, zero point 0,
 *       per output channel by default, reduced to [-64, 64] by default so that no x86 kernel saturates
 *       ({@link SymmetricWeightQuantizer}), stored as int8 initializers read by a
 *       DequantizeLinear (with {@code axis} when per channel). Output channel axis: Conv 0 ({@code W = [M, C/g, k…]});
 *       Gemm 0 if {@code transB = 1} ({@code B = [N, K]}) else 1; MatMul 1 ({@code B = [K, N]}).
 *   <li><b>Bias</b> (Conv input 2, Gemm input C): INT32 with {@code s_b[c] = s_x · s_w[c]}, zero point 0
 *       ({@link BiasQuantizer}), so the integer kernel adds it straight to its accumulator.
 *   <li><b>Activations</b>: asymmetric 8-bit ({@link ActivationType}) with scale and zero point from the calibrated
 *       range ({@link QuantParams#asymmetric}), one QuantizeLinear per tensor and one DequantizeLinear per consumer
 *       (ONNX Runtime's fusions want a DequantizeLinear that feeds a single node).
 *   <li><b>Data-movement ops</b> (MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Resize, and a Relu that
 *       cannot be absorbed) whose input is already quantized reuse their input's scale and zero point for their output.
 *       They only select or rearrange values that are already on the input's grid, so re-quantizing with the same
 *       parameters is exact (Resize in linear mode interpolates between grid values: one rounding step), and ONNX Runtime runs them on the 8-bit data (or drops the Q/DQ pair around them).
 *       They need no calibration range of their own. A data-movement op whose input is fp32 stays fp32; its output
 *       is quantized (one QuantizeLinear after it) for a quantized reader.
 *   <li><b>Short reductions stay fp32</b>: a Conv whose reduction length {@code C/group · kh · kw} is below
 *       {@link StaticQuantRecipe#minConvReduction()} (default 27: 3×3 over 1 or 2 channels) is kept fp32 with
 *       the reason {@value #SHORT_REDUCTION_REASON}; the integer kernel would be slower than ONNX Runtime's fp32 one.
 *       A <b>depthwise</b> Conv ({@code group = C}, one input channel per group) below it is quantized when its input
 *       already has a QuantizeLinear: ONNX Runtime runs it with a dedicated u8 depthwise kernel, so only the
 *       boundary would make it slower. The threshold was measured without VNNI; {@code StaticRecipeTuner} (module
 *       runtime) measures per model whether every conv int8 is faster.
 *   <li><b>Ops with an integer kernel of their own</b>, each output quantized with its own calibrated range:
 *       Add and Mul (residuals, squeeze-excitation gates; QLinearAdd / QLinearMul, with broadcasting and constant
 *       inputs), Concat (QLinearConcat, when one input already is 8-bit), and Sigmoid, LeakyRelu, GlobalAveragePool,
 *       AveragePool (QLinearSigmoid, QLinearLeakyRelu, QLinearGlobalAveragePool, QLinearAveragePool) when their input
 *       has, or gets for another reader, a QuantizeLinear (otherwise they would add a boundary and stay fp32).
 *       Resize is a data-movement op (below): ONNX Runtime runs it on 8-bit data. HardSwish and HardSigmoid have no
 *       integer kernel in ONNX Runtime's CPU provider and stay fp32 with that reason ({@code StaticQdqCoverageTest});
 *       so does ConvTranspose (ORT 1.29 has no QLinearConvTranspose on CPU: a DQ → ConvTranspose → Q group stays
 *       an fp32 ConvTranspose between a DequantizeLinear and a QuantizeLinear).
 * </ul>
 *
 * <h2>fp32 Relu (or ReLU6) → MaxPool before a quantized node</h2>
 * ONNX Runtime's QDQ propagation moves a QuantizeLinear that directly follows a MaxPool above the MaxPool, which then
 * runs on 8-bit NCHW data through a slow reference loop. When an fp32 Relu or Clip(0, max) feeds such an fp32 MaxPool, the two are
 * swapped ({@code relu(maxpool(x)) = maxpool(relu(x))} exactly, and the Relu then touches 4× fewer values), so the
 * QuantizeLinear follows the Relu and stays where it is; ONNX Runtime removes the Relu itself, since the
 * QuantizeLinear's zero point = qmin clamps the same way. A MaxPool after an fp32 node without a Relu is left as it
 * is (ONNX Runtime will still move the QuantizeLinear; see docs/benchmarks.md).
 *
 * <h2>Relu and Clip(0, max) (ReLU6) absorbed into the output quantization</h2>
 * When a Relu, or a Clip with constant min 0 and max &ge; 0, is the only consumer of a quantized Conv / Gemm /
 * MatMul / Add output, the producer's output is quantized with that output's range, {@code [0, max]}, and the node is
 * removed (for a Clip, max is at most its upper bound, so values above it saturate to qmax either way). That range gives
 * {@code z = qmin} (0 for UINT8, -128 for INT8), so for {@code x < 0}, {@code roundHalfToEven(x / s) ≤ 0} and
 * {@code q = saturate(… + qmin) = qmin}, which dequantizes to exactly 0 = relu(x); for {@code x ≥ 0} relu is the
 * identity. Hence {@code Q(relu(x)) = Q(x)} bit for bit: dropping the Relu is exact, not an approximation, and the
 * integer kernel's output clamp performs it for free.
 *
 * <h2>Where the Q/DQ boundaries go</h2>
 * A tensor produced by a quantized node with a quantized output is "in the integer domain": every reader — quantized
 * or fp32, and a graph output — reads a DequantizeLinear of it (a graph output keeps its name: the producer's
 * output is renamed and the DequantizeLinear writes the original name). A tensor produced by an fp32 node (or a
 * graph input) keeps its fp32 value for fp32 readers; only quantized readers go through Q→DQ. Conv outputs are
 * always quantized (QLinearConv needs it). A Gemm / MatMul output is quantized only when some reader could run
 * quantized; otherwise it is left fp32, which ONNX Runtime runs as QGemm / MatMulIntegerToFloat with a float
 * output, keeping the final logits at full precision.
 *
 * <h2>Opset</h2>
 * QuantizeLinear needs opset 10 and per-axis DequantizeLinear opset 13. A model below 13 is moved to 13 when every
 * op it uses means the same there; otherwise it keeps its opset and gets per-tensor weights. Below 10, or a model
 * that already contains quantized operators, is a {@link QuantizationException}.
 *
 * <p>Deterministic: the same model, statistics and recipe give the same bytes.
 */
public final class StaticQdqQuantizer {

    static final Set<String> WEIGHTED_OPS = Set.of("Conv", "Gemm", "MatMul");
    static final Set<String> PASS_THROUGH_OPS = Set.of("MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze",
        "Unsqueeze", "Relu", "Resize");
    /** Binary ops ONNX Runtime fuses into QLinearAdd / QLinearMul; their output gets its own calibrated range. */
    static final Set<String> OWN_RANGE_OPS = Set.of("Add", "Mul");
    /**
     * Unary ops ONNX Runtime's QDQ transformer replaces by an integer kernel (QLinearSigmoid, QLinearLeakyRelu,
     * QLinearGlobalAveragePool, QLinearAveragePool); quantized only when their input already has a QuantizeLinear
     * (or will get one for another reader), so that they never add a boundary.
     */
    static final Set<String> FUSED_UNARY_OPS = Set.of("Sigmoid", "LeakyRelu", "GlobalAveragePool", "AveragePool");
    /** Activations with no integer kernel in ONNX Runtime's CPU provider (checked in StaticQdqCoverageTest). */
    static final Set<String> NO_INTEGER_KERNEL_OPS = Set.of("HardSigmoid", "HardSwish", "ConvTranspose");
    private static final Set<String> QUANTIZED_OPS = Set.of("QuantizeLinear", "DequantizeLinear",
        "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "QGemm",
        "QLinearAdd", "QLinearMul", "MatMulIntegerToFloat", "MatMulNBits", "QAttention", "DynamicQuantizeMatMul");
    /** Ops whose definition does not change in a way that matters between opsets 10 and 13. */
    private static final Set<String> SAME_FROM_10_TO_13 = Set.of("Conv", "Gemm", "MatMul", "Relu", "LeakyRelu",
        "Sigmoid", "Tanh", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape",
        "Transpose", "Add", "Sub", "Mul", "Div", "Concat", "BatchNormalization", "Identity", "Shape", "Gather",
        "Constant", "Cast", "Sqrt", "Exp", "Log", "Neg", "Abs", "Pow", "Erf", "Slice", "Sum", "Mean", "Max", "Min",
        "Elu", "Selu", "PRelu", "Softplus", "HardSigmoid");
    /** Start of the reason of a Conv kept fp32 by {@link StaticQuantRecipe#minConvReduction()}. */
    static final String SHORT_REDUCTION_REASON = "reduction too short for integer kernels to pay off";
    private static final int PER_AXIS_OPSET = 13;
    private static final int QDQ_OPSET = 10;

    public StaticQdqQuantizer() {
    }

    /**
     * Quantizes {@code fp32} with the ranges in {@code stats}.
     *
     * @throws QuantizationException if the model cannot be quantized at all (opset below 10, already quantized, or
     *                               no node could be quantized)
     */
    public StaticQuantizationResult quantize(OnnxModel fp32, ActivationStatistics stats, StaticQuantRecipe recipe) {
        Objects.requireNonNull(fp32, "fp32");
        Objects.requireNonNull(stats, "stats");
        Objects.requireNonNull(recipe, "recipe");
        checkQuantizable(fp32);
        OnnxModel model = fp32;
        boolean perChannel = recipe.perChannelWeights();
        if (perChannel && model.opsetVersion() < PER_AXIS_OPSET) {
            if (canMoveToOpset13(model)) {
                model = model.withOpsetVersion(PER_AXIS_OPSET);
            } else {
                perChannel = false;
            }
        }
        Planner planner = new Planner(model, recipe, perChannel, stats::range);
        planner.plan();
        if (planner.decisions.values().stream().noneMatch(NodeDecision::quantized)) {
            throw new QuantizationException("no node of the model could be quantized: " + summarize(planner.decisions.values()));
        }
        OnnxModel quantized = planner.emit();
        return new StaticQuantizationResult(quantized, List.copyOf(planner.decisions.values()));
    }

    /**
     * The activation tensors of {@code fp32} whose ranges {@link #quantize} will look up under {@code recipe}, in
     * graph order. Tensors whose quantization parameters are inherited (outputs of data-movement ops) or that a Relu
     * replaces are not listed.
     */
    public static List<String> tensorsToCalibrate(OnnxModel fp32, StaticQuantRecipe recipe) {
        checkQuantizable(fp32);
        Planner planner = new Planner(fp32, recipe, recipe.perChannelWeights(),
            name -> Optional.of(new TensorRange(-1f, 1f)));
        planner.plan();
        return List.copyOf(planner.requestedRanges);
    }

    private static void checkQuantizable(OnnxModel model) {
        if (model.opsetVersion() < QDQ_OPSET) {
            throw new QuantizationException("the model uses ONNX opset " + model.opsetVersion()
                + "; QuantizeLinear needs opset " + QDQ_OPSET + " or newer: re-export the model at opset 13 or newer");
        }
        Set<String> found = new TreeSet<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (QUANTIZED_OPS.contains(n.getOpType())) {
                found.add(n.getOpType());
            }
        }
        if (!found.isEmpty()) {
            throw new QuantizationException("the model already contains quantized operators " + found
                + ": hand over the fp32 model");
        }
    }

    private static boolean canMoveToOpset13(OnnxModel model) {
        return model.graph().getNodeList().stream()
            .allMatch(n -> (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"))
                && SAME_FROM_10_TO_13.contains(n.getOpType()));
    }

    private static String summarize(java.util.Collection<NodeDecision> decisions) {
        Map<String, Long> byReason = decisions.stream()
            .collect(Collectors.groupingBy(NodeDecision::reason, TreeMap::new, Collectors.counting()));
        return byReason.entrySet().stream().map(e -> e.getValue() + " × " + e.getKey())
            .collect(Collectors.joining("; "));
    }

    /** Decides node by node (in graph order), then rewrites the graph. */
    private static final class Planner {

        private final GraphEditor editor;
        private final StaticQuantRecipe recipe;
        private final boolean perChannel;
        private final Function<String, Optional<TensorRange>> ranges;
        private final QuantType activationType;

        final Map<String, NodeDecision> decisions = new LinkedHashMap<>();
        final Set<String> requestedRanges = new LinkedHashSet<>();
        /** Tensors that get a QuantizeLinear, with their parameters. */
        private final Map<String, QuantParams> activationParams = new LinkedHashMap<>();
        /** Tensors written by a quantized node through a QuantizeLinear: every reader reads a DequantizeLinear. */
        private final Set<String> integerDomain = new HashSet<>();
        /** Quantized node name → the inputs it reads through a DequantizeLinear of an activation. */
        private final Map<String, Set<String>> quantizedReads = new HashMap<>();
        /** Weighted nodes → their weight/bias plan. */
        private final Map<String, WeightPlan> weightPlans = new LinkedHashMap<>();
        /** Add nodes' initializer inputs → their parameters. */
        private final Map<String, Map<String, QuantParams>> constantInputs = new HashMap<>();
        /** Absorbed Relu name → its producer. */
        private final Map<String, String> absorbedRelus = new LinkedHashMap<>();
        private final Map<String, Boolean> floatTensors = new HashMap<>();

        Planner(OnnxModel model, StaticQuantRecipe recipe, boolean perChannel,
                Function<String, Optional<TensorRange>> ranges) {
            this.editor = GraphEditor.of(model);
            this.recipe = recipe;
            this.perChannel = perChannel;
            this.ranges = ranges;
            this.activationType = recipe.activationType().quantType();
        }

        private record WeightPlan(String input, String weight, int axis, String bias) {
        }

        void plan() {
            for (OnnxMl.NodeProto node : editor.nodes()) {
                if (absorbedRelus.containsKey(node.getName())) {
                    continue;
                }
                decisions.put(node.getName(), decide(node));
            }
            planReluPoolSwaps();
        }

        /** fp32 Relu (or ReLU6 Clip) name → the fp32 MaxPool it is moved behind. */
        private final Map<String, String> reluPoolSwaps = new LinkedHashMap<>();

        /**
         * An fp32 {@code Relu → MaxPool} whose output is quantized for a quantized reader becomes
         * {@code MaxPool → Relu}: exact (both are monotone, so relu(max(x)) = max(relu(x))), and it keeps the first
         * QuantizeLinear after the MaxPool in ONNX Runtime. Its QDQ propagation moves a QuantizeLinear that directly
         * follows a MaxPool above it, and the MaxPool then runs on 8-bit data in NCHW layout, for which ONNX Runtime
         * has only a slow reference loop (25 ms instead of 2 ms as fp32 NCHWc on the fixture CNN's first pool). With
         * the Relu between them nothing is propagated; ONNX Runtime then drops the Relu itself (a QuantizeLinear with
         * zero point = qmin clamps the same way). A Clip with constant min 0 (ReLU6, {@link #isZeroFloorClip}) is
         * monotone too and is moved the same way (its bound inputs stay): without it, a torch export's
         * {@code Conv → Clip(0, 6) → MaxPool} before the first quantized conv ran its pool as 8-bit NCHW, 22 ms of
         * 31 ms at batch 256 on the BN-kept fixture CNN (bench/run-bn-kept.sh), 3× the fp32 model.
         */
        private void planReluPoolSwaps() {
            for (OnnxMl.NodeProto relu : editor.nodes()) {
                boolean floor = relu.getOpType().equals("Relu") && relu.getInputCount() == 1 || isZeroFloorClip(relu);
                if (!floor || !relu.getDomain().isEmpty() || isQuantized(relu.getName())
                    || recipe.excludedNodes().contains(relu.getName())) {
                    continue;
                }
                String mid = relu.getOutput(0);
                List<OnnxMl.NodeProto> readers = editor.consumers(mid);
                if (readers.size() != 1 || editor.isGraphOutput(mid)) {
                    continue;
                }
                OnnxMl.NodeProto pool = readers.get(0);
                if (!pool.getOpType().equals("MaxPool") || !pool.getDomain().isEmpty() || pool.getOutputCount() != 1
                    || isQuantized(pool.getName()) || !activationParams.containsKey(pool.getOutput(0))
                    || integerDomain.contains(pool.getOutput(0))) {
                    continue;
                }
                reluPoolSwaps.put(relu.getName(), pool.getName());
                decisions.put(relu.getName(), new NodeDecision(relu.getName(), relu.getOpType(), false,
                    "kept fp32, moved behind " + pool.getName() + " (exact) so that ONNX Runtime keeps that MaxPool"
                        + " in fp32 and quantizes its output"));
            }
        }

        private boolean isQuantized(String node) {
            NodeDecision d = decisions.get(node);
            return d != null && d.quantized();
        }

        private NodeDecision decide(OnnxMl.NodeProto node) {
            String op = node.getOpType();
            if (recipe.excludedNodes().contains(node.getName())) {
                return keep(node, "excluded by recipe");
            }
            if (!node.getDomain().isEmpty() && !node.getDomain().equals("ai.onnx")) {
                return keep(node, "op not supported (domain " + node.getDomain() + ")");
            }
            if (WEIGHTED_OPS.contains(op)) {
                return decideWeighted(node);
            }
            if (OWN_RANGE_OPS.contains(op)) {
                return decideAdd(node);
            }
            if (PASS_THROUGH_OPS.contains(op)) {
                return decidePassThrough(node);
            }
            if (FUSED_UNARY_OPS.contains(op)) {
                return decideFusedUnary(node);
            }
            if (op.equals("Concat")) {
                return decideConcat(node);
            }
            if (NO_INTEGER_KERNEL_OPS.contains(op)) {
                return keep(node, "no integer kernel in ONNX Runtime's CPU provider (a Q/DQ pair around it would"
                    + " only add work)");
            }
            if (node.getAttributeList().stream().anyMatch(a -> a.hasG() || a.getGraphsCount() > 0)) {
                return keep(node, "control flow (" + op + "): its subgraphs stay fp32, static calibration cannot observe"
                    + " tensors inside a subgraph (method dynamic quantizes the MatMul/Gemm/LSTM inside)");
            }
            return keep(node, "op not supported");
        }

        private NodeDecision decideWeighted(OnnxMl.NodeProto node) {
            String op = node.getOpType();
            String x = Nodes.input(node, 0);
            String w = Nodes.input(node, 1);
            String b = Nodes.input(node, 2);
            if (editor.initializer(x).isPresent()) {
                return keep(node, "op not supported (constant first input)");
            }
            Optional<OnnxMl.TensorProto> weight = editor.initializer(w).filter(this::isFloatInitializer);
            int axis;
            switch (op) {
                case "Conv" -> {
                    if (weight.isEmpty() || weight.get().getDimsCount() < 3) {
                        return keep(node, "op not supported (Conv weights are not a float initializer)");
                    }
                    long reduction = 1;
                    for (int d = 1; d < weight.get().getDimsCount(); d++) {
                        reduction *= weight.get().getDims(d);
                    }
                    if (reduction < recipe.minConvReduction() && isDepthwise(node, weight.get())
                        && hasQuantizeLinear(x)) {
                        axis = 0; // depthwise on an input that is already 8-bit: see isDepthwise
                    } else if (reduction < recipe.minConvReduction()) {
                        return keep(node, SHORT_REDUCTION_REASON + " (C/group·kh·kw = " + reduction + " < "
                            + recipe.minConvReduction() + (isDepthwise(node, weight.get())
                            ? "; depthwise with an fp32 input" : "") + ")");
                    }
                    else {
                        axis = 0;
                    }
                }
                case "Gemm" -> {
                    if (weight.isEmpty() || weight.get().getDimsCount() != 2) {
                        return keep(node, "op not supported (Gemm B is not a 2-D float initializer)");
                    }
                    if (Nodes.intAttribute(node, "transA", 0) != 0 || Nodes.floatAttribute(node, "alpha", 1f) != 1f
                        || (!b.isEmpty() && Nodes.floatAttribute(node, "beta", 1f) != 1f)) {
                        return keep(node, "op not supported (Gemm with transA, alpha or beta other than default)");
                    }
                    axis = Nodes.intAttribute(node, "transB", 0) != 0 ? 0 : 1;
                }
                default -> { // MatMul
                    if (weight.isPresent() && weight.get().getDimsCount() != 2) {
                        return keep(node, "op not supported (MatMul weights of rank " + weight.get().getDimsCount() + ")");
                    }
                    if (weight.isEmpty() && editor.initializer(w).isPresent()) {
                        return keep(node, "op not supported (MatMul B is a non-float initializer)");
                    }
                    if (weight.isEmpty() && !(isFloat(x) || isFloat(w))) {
                        return keep(node, "op not supported (inputs not known to be float)");
                    }
                    axis = 1;
                }
            }
            if (!b.isEmpty()) {
                Optional<OnnxMl.TensorProto> bias = editor.initializer(b).filter(this::isFloatInitializer);
                long outChannels = weight.map(t -> t.getDims(axis)).orElse(-1L);
                if (bias.isEmpty() || bias.get().getDimsCount() != 1 || bias.get().getDims(0) != outChannels) {
                    return keep(node, "op not supported (bias is not a 1-D float initializer per output channel)");
                }
            }
            List<String> activationInputs = weight.isPresent() ? List.of(x) : List.of(x, w);
            OutputChoice out = chooseOutput(node, op.equals("Conv"));
            return commit(node, activationInputs, out, () -> {
                if (weight.isPresent()) {
                    weightPlans.put(node.getName(), new WeightPlan(x, w, axis, b));
                }
            });
        }

        private NodeDecision decideAdd(OnnxMl.NodeProto node) {
            List<String> activationInputs = new ArrayList<>();
            Map<String, QuantParams> constants = new LinkedHashMap<>();
            for (String in : node.getInputList()) {
                Optional<OnnxMl.TensorProto> init = editor.initializer(in);
                if (init.isPresent()) {
                    if (!isFloatInitializer(init.get())) {
                        return keep(node, "op not supported (non-float input)");
                    }
                    float[] values = Tensors.toFloatArray(init.get());
                    float min = 0f;
                    float max = 0f;
                    for (float v : values) {
                        min = Math.min(min, v);
                        max = Math.max(max, v);
                    }
                    try {
                        constants.put(in, QuantParams.asymmetric(min, max, activationType));
                    } catch (IllegalArgumentException e) {
                        return keep(node, "op not supported (constant input '" + in + "' is not finite)");
                    }
                } else if (!isFloat(in)) {
                    return keep(node, "op not supported (inputs not known to be float)");
                } else {
                    activationInputs.add(in);
                }
            }
            OutputChoice out = chooseOutput(node, true);
            return commit(node, activationInputs, out, () -> constantInputs.put(node.getName(), constants));
        }

        /**
         * A depthwise Conv: one input channel per group ({@code W = [C·m, 1, k…]}, {@code group = C > 1}). ONNX
         * Runtime runs it quantized with a dedicated u8·s8 depthwise kernel (no im2col, no GEMM packing), so the cost
         * that makes short dense reductions slower in int8 is absent; what remains is the Q/DQ boundary. Hence a
         * depthwise Conv below {@link StaticQuantRecipe#minConvReduction()} is quantized when its input already has a
         * QuantizeLinear, and kept fp32 otherwise (docs/benchmarks.md, "Coverage on PaddleOCR").
         */
        private boolean isDepthwise(OnnxMl.NodeProto conv, OnnxMl.TensorProto weight) {
            long group = Nodes.intAttribute(conv, "group", 1);
            return group > 1 && weight.getDims(1) == 1;
        }

        /** Whether {@code tensor} already has a QuantizeLinear (it is 8-bit, or a quantized reader asked for one). */
        private boolean hasQuantizeLinear(String tensor) {
            return integerDomain.contains(tensor) || activationParams.containsKey(tensor);
        }

        private NodeDecision decideFusedUnary(OnnxMl.NodeProto node) {
            String in = Nodes.input(node, 0);
            if (node.getOutputCount() != 1 || node.getOutput(0).isEmpty()) {
                return keep(node, "op not supported (more than one output)");
            }
            if (!isFloat(in)) {
                return keep(node, "op not supported (inputs not known to be float)");
            }
            boolean otherQuantizedReader = editor.consumers(in).stream()
                .anyMatch(r -> !r.getName().equals(node.getName()) && couldRunQuantized(r));
            if (!hasQuantizeLinear(in) && !otherQuantizedReader) {
                return keep(node, "input not quantized (quantizing it here would add a Q/DQ boundary)");
            }
            return commit(node, List.of(in), chooseOutput(node, true), () -> { });
        }

        /** Concat → QLinearConcat: every input through a DequantizeLinear, at least one of them already 8-bit. */
        private NodeDecision decideConcat(OnnxMl.NodeProto node) {
            List<String> inputs = new ArrayList<>();
            boolean anyQuantized = false;
            for (String in : node.getInputList()) {
                if (editor.initializer(in).isPresent() || !isFloat(in)) {
                    return keep(node, "op not supported (constant or non-float input '" + in + "')");
                }
                anyQuantized |= hasQuantizeLinear(in);
                if (!inputs.contains(in)) {
                    inputs.add(in);
                }
            }
            if (!anyQuantized) {
                return keep(node, "input not quantized (quantizing it here would add a Q/DQ boundary)");
            }
            return commit(node, inputs, chooseOutput(node, true), () -> { });
        }

        private NodeDecision decidePassThrough(OnnxMl.NodeProto node) {
            String in = Nodes.input(node, 0);
            if (node.getOutputCount() != 1) {
                return keep(node, "op not supported (more than one output)");
            }
            if (!integerDomain.contains(in)) {
                return keep(node, "input not quantized (nothing to pass through)");
            }
            String out = node.getOutput(0);
            QuantParams params = activationParams.get(in);
            activationParams.put(out, params);
            integerDomain.add(out);
            quantizedReads.put(node.getName(), Set.of(in));
            return new NodeDecision(node.getName(), node.getOpType(), true,
                "quantized (reuses the scale and zero point of its input)");
        }

        /** Where a quantized node's output goes: which tensor gets the Q, whether a Relu is absorbed. */
        private record OutputChoice(String tensor, boolean quantize, OnnxMl.NodeProto absorbedRelu) {
        }

        private OutputChoice chooseOutput(OnnxMl.NodeProto node, boolean alwaysQuantize) {
            String out = node.getOutput(0);
            List<OnnxMl.NodeProto> readers = editor.consumers(out);
            if (readers.size() == 1 && !editor.isGraphOutput(out)) {
                OnnxMl.NodeProto reader = readers.get(0);
                if (reader.getDomain().isEmpty() && !recipe.excludedNodes().contains(reader.getName())
                    && (reader.getOpType().equals("Relu") && reader.getInputCount() == 1 || isZeroFloorClip(reader))) {
                    return new OutputChoice(reader.getOutput(0), true, reader);
                }
            }
            boolean quantize = alwaysQuantize || (!editor.isGraphOutput(out)
                && readers.stream().anyMatch(this::couldRunQuantized));
            return new OutputChoice(out, quantize, null);
        }

        /**
         * A Clip whose min is a constant 0 and whose max is a constant &ge; 0 (ReLU6 is Clip(0, 6)). Its output range,
         * as calibrated, is {@code [0, m]} with {@code m <= max}, so quantizing the producer's output with it clamps
         * below 0 and above m exactly as the Clip followed by that quantization would: absorbing it is exact, like a
         * Relu's.
         */
        private boolean isZeroFloorClip(OnnxMl.NodeProto clip) {
            if (!clip.getOpType().equals("Clip") || clip.getInputCount() != 3
                || clip.getInput(1).isEmpty() || clip.getInput(2).isEmpty()) {
                return false;
            }
            Optional<OnnxMl.TensorProto> lo = editor.initializer(clip.getInput(1)).filter(this::isFloatInitializer);
            Optional<OnnxMl.TensorProto> hi = editor.initializer(clip.getInput(2)).filter(this::isFloatInitializer);
            if (lo.isEmpty() || hi.isEmpty()) {
                return false;
            }
            float[] l = Tensors.toFloatArray(lo.get());
            float[] h = Tensors.toFloatArray(hi.get());
            return l.length == 1 && h.length == 1 && l[0] == 0f && h[0] >= 0f;
        }

        private boolean couldRunQuantized(OnnxMl.NodeProto reader) {
            String op = reader.getOpType();
            return !recipe.excludedNodes().contains(reader.getName()) && reader.getDomain().isEmpty()
                && (WEIGHTED_OPS.contains(op) || PASS_THROUGH_OPS.contains(op) || OWN_RANGE_OPS.contains(op)
                || FUSED_UNARY_OPS.contains(op) || op.equals("Concat"));
        }

        private NodeDecision commit(OnnxMl.NodeProto node, List<String> activationInputs, OutputChoice out,
                                    Runnable onQuantized) {
            Map<String, QuantParams> needed = new LinkedHashMap<>();
            for (String in : activationInputs) {
                Optional<QuantParams> p = paramsFor(in, false);
                if (p.isEmpty()) {
                    return keep(node, missingReason(in));
                }
                needed.put(in, p.get());
            }
            if (out.quantize()) {
                Optional<QuantParams> p = paramsFor(out.tensor(), out.absorbedRelu() != null);
                if (p.isEmpty()) {
                    return keep(node, missingReason(out.tensor()));
                }
                needed.put(out.tensor(), p.get());
            }
            activationParams.putAll(needed);
            if (out.quantize()) {
                integerDomain.add(out.tensor());
            }
            quantizedReads.put(node.getName(), Set.copyOf(activationInputs));
            onQuantized.run();
            if (out.absorbedRelu() != null) {
                OnnxMl.NodeProto relu = out.absorbedRelu();
                absorbedRelus.put(relu.getName(), node.getName());
                decisions.put(node.getName(), new NodeDecision(node.getName(), node.getOpType(), true, "quantized"));
                decisions.put(relu.getName(), new NodeDecision(relu.getName(), relu.getOpType(), true,
                    "absorbed into the output quantization of " + node.getName() + " (zero point = qmin makes it exact)"));
                return decisions.get(node.getName());
            }
            return new NodeDecision(node.getName(), node.getOpType(), true, "quantized");
        }

        private String missingReason(String tensor) {
            return lastInvalidRange.containsKey(tensor) ? lastInvalidRange.get(tensor)
                : "no calibration range for tensor '" + tensor + "'";
        }

        private final Map<String, String> lastInvalidRange = new HashMap<>();

        /** Parameters already chosen for {@code tensor}, or new ones from its calibrated range. */
        private Optional<QuantParams> paramsFor(String tensor, boolean reluOutput) {
            QuantParams known = activationParams.get(tensor);
            if (known != null) {
                return Optional.of(known);
            }
            requestedRanges.add(tensor);
            Optional<TensorRange> range = ranges.apply(tensor);
            if (range.isEmpty()) {
                return Optional.empty();
            }
            float min = reluOutput ? 0f : range.get().min();
            float max = reluOutput ? Math.max(0f, range.get().max()) : range.get().max();
            try {
                return Optional.of(QuantParams.asymmetric(min, max, activationType));
            } catch (IllegalArgumentException e) {
                lastInvalidRange.put(tensor, "unusable calibration range for tensor '" + tensor + "' ["
                    + range.get().min() + ", " + range.get().max() + "]");
                return Optional.empty();
            }
        }

        private NodeDecision keep(OnnxMl.NodeProto node, String reason) {
            return new NodeDecision(node.getName(), node.getOpType(), false, reason);
        }

        private boolean isFloatInitializer(OnnxMl.TensorProto t) {
            return t.getDataType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE;
        }

        /** Whether {@code tensor} is known to be fp32 (from declared types, or propagated through float ops). */
        private boolean isFloat(String tensor) {
            Boolean cached = floatTensors.get(tensor);
            if (cached != null) {
                return cached;
            }
            floatTensors.put(tensor, false); // guards against cycles in malformed graphs
            boolean result;
            Optional<OnnxMl.TensorProto> init = editor.initializer(tensor);
            Optional<OnnxMl.ValueInfoProto> info = editor.valueInfo(tensor);
            if (init.isPresent()) {
                result = isFloatInitializer(init.get());
            } else if (info.isPresent() && info.get().getType().hasTensorType()) {
                result = info.get().getType().getTensorType().getElemType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE;
            } else {
                Optional<OnnxMl.NodeProto> producer = editor.producer(tensor);
                result = producer.isPresent() && producer.get().getDomain().isEmpty()
                    && FLOAT_FOLLOWS_INPUT0.contains(producer.get().getOpType())
                    && producer.get().getOutput(0).equals(tensor)
                    && isFloat(Nodes.input(producer.get(), 0));
            }
            floatTensors.put(tensor, result);
            return result;
        }

        private static final Set<String> FLOAT_FOLLOWS_INPUT0 = Set.of("Conv", "Gemm", "MatMul", "Relu", "LeakyRelu",
            "Sigmoid", "Tanh", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape",
            "Transpose", "Squeeze", "Unsqueeze", "Add", "Sub", "Mul", "Div", "BatchNormalization", "Softmax",
            "Identity", "Concat", "Erf", "Sqrt", "Exp", "Neg", "Abs", "Pow", "Gelu", "LayerNormalization", "Dropout",
            "Clip", "Slice", "Gather", "Elu", "Selu", "PRelu", "HardSigmoid", "HardSwish", "ReduceMean", "Resize",
            "Upsample", "ConvTranspose", "Pad", "Expand", "Tile", "DepthToSpace", "SpaceToDepth", "Max", "Min");

        // ------------------------------------------------------------------ rewriting

        OnnxModel emit() {
            // 1. Absorbed Relus disappear; their producer writes the Relu's output name.
            for (Map.Entry<String, String> e : absorbedRelus.entrySet()) {
                OnnxMl.NodeProto relu = editor.node(e.getKey()).orElseThrow();
                OnnxMl.NodeProto producer = editor.node(e.getValue()).orElseThrow();
                editor.removeNode(relu.getName());
                editor.replaceNode(producer.getName(), List.of(producer.toBuilder()
                    .setOutput(0, relu.getOutput(0)).build()));
            }
            // 1b. fp32 Relu → MaxPool feeding a quantized reader becomes MaxPool → Relu (see planReluPoolSwaps).
            for (Map.Entry<String, String> e : reluPoolSwaps.entrySet()) {
                OnnxMl.NodeProto relu = editor.node(e.getKey()).orElseThrow();
                OnnxMl.NodeProto pool = editor.node(e.getValue()).orElseThrow();
                String pooled = editor.uniqueName(pool.getOutput(0) + "_before_relu");
                editor.removeNode(relu.getName());
                editor.replaceNode(pool.getName(), List.of(
                    pool.toBuilder().setInput(0, relu.getInput(0)).setOutput(0, pooled).build(),
                    relu.toBuilder().setInput(0, pooled).setOutput(0, pool.getOutput(0)).build()));
            }
            // 2. Weights and biases of weighted nodes, and constant inputs of Adds, become integer initializers + DQ.
            for (Map.Entry<String, WeightPlan> e : weightPlans.entrySet()) {
                rewriteWeights(e.getKey(), e.getValue());
            }
            for (Map.Entry<String, Map<String, QuantParams>> e : constantInputs.entrySet()) {
                for (Map.Entry<String, QuantParams> c : e.getValue().entrySet()) {
                    rewriteConstantInput(e.getKey(), c.getKey(), c.getValue());
                }
            }
            // 3. One QuantizeLinear per quantized activation, one DequantizeLinear per reader that needs it.
            for (Map.Entry<String, QuantParams> e : activationParams.entrySet()) {
                insertQdq(e.getKey(), e.getValue());
            }
            return editor.build();
        }

        private final Map<String, String[]> quantizedInitializers = new HashMap<>();

        private void rewriteWeights(String nodeName, WeightPlan plan) {
            OnnxMl.NodeProto node = editor.node(nodeName).orElseThrow();
            OnnxMl.TensorProto w = editor.initializer(plan.weight()).orElseThrow();
            long[] dims = Tensors.dims(w);
            int axis = perChannel ? plan.axis() : -1;
            String key = plan.weight() + "#" + axis;
            String[] names = quantizedInitializers.get(key);
            QuantizedWeights qw;
            float[] values = Tensors.toFloatArray(w);
            int qmax = recipe.reduceRangeWeights() ? SymmetricWeightQuantizer.REDUCED_RANGE
                : SymmetricWeightQuantizer.FULL_RANGE;
            qw = axis >= 0 ? SymmetricWeightQuantizer.perChannel(values, dims, axis, qmax)
                : SymmetricWeightQuantizer.perTensor(values, qmax);
            if (names == null) {
                names = new String[] {editor.uniqueName(plan.weight() + "_quantized"),
                    editor.uniqueName(plan.weight() + "_scale"), editor.uniqueName(plan.weight() + "_zero_point")};
                quantizedInitializers.put(key, names);
                editor.putInitializer(Tensors.int8Tensor(names[0], dims, qw.values()));
                long[] paramDims = axis >= 0 ? new long[] {qw.scales().length} : new long[0];
                editor.putInitializer(Tensors.floatTensor(names[1], paramDims, qw.scales()));
                editor.putInitializer(Tensors.int8Tensor(names[2], paramDims, new byte[qw.scales().length]));
            }
            List<OnnxMl.NodeProto> before = new ArrayList<>();
            String wDq = editor.uniqueName(plan.weight() + "_dequantized");
            before.add(dequantize(editor.uniqueName(plan.weight() + "_DequantizeLinear"), names, wDq, axis));
            OnnxMl.NodeProto.Builder rewritten = node.toBuilder().setInput(1, wDq);
            if (!plan.bias().isEmpty()) {
                float inputScale = activationParams.get(plan.input()).scale();
                float[] bias = Tensors.toFloatArray(editor.initializer(plan.bias()).orElseThrow());
                BiasQuantizer.QuantizedBias qb = BiasQuantizer.quantize(bias, inputScale, qw.scales());
                String bq = editor.uniqueName(plan.bias() + "_quantized");
                String bs = editor.uniqueName(plan.bias() + "_scale");
                String bz = editor.uniqueName(plan.bias() + "_zero_point");
                long[] biasDims = {bias.length};
                editor.putInitializer(Tensors.int32Tensor(bq, biasDims, qb.values()));
                if (axis >= 0) {
                    editor.putInitializer(Tensors.floatTensor(bs, biasDims, qb.scales()));
                    editor.putInitializer(Tensors.int32Tensor(bz, biasDims, new int[bias.length]));
                } else {
                    editor.putInitializer(Tensors.floatTensor(bs, new long[0], new float[] {qb.scales()[0]}));
                    editor.putInitializer(Tensors.int32Tensor(bz, new long[0], new int[1]));
                }
                String bDq = editor.uniqueName(plan.bias() + "_dequantized");
                before.add(dequantize(editor.uniqueName(plan.bias() + "_DequantizeLinear"),
                    new String[] {bq, bs, bz}, bDq, axis >= 0 ? 0 : -1));
                rewritten.setInput(2, bDq);
            }
            editor.replaceNode(nodeName, List.of(rewritten.build()));
            editor.insertBefore(nodeName, before);
        }

        private void rewriteConstantInput(String nodeName, String constant, QuantParams params) {
            OnnxMl.NodeProto node = editor.node(nodeName).orElseThrow();
            float[] values = Tensors.toFloatArray(editor.initializer(constant).orElseThrow());
            long[] dims = Tensors.dims(editor.initializer(constant).orElseThrow());
            byte[] q = new byte[values.length];
            params.quantize(values, 0, q, 0, values.length);
            String[] names = {editor.uniqueName(constant + "_quantized"), editor.uniqueName(constant + "_scale"),
                editor.uniqueName(constant + "_zero_point")};
            editor.putInitializer(integerTensor(names[0], dims, q, params.type()));
            putScaleAndZeroPoint(names[1], names[2], params);
            String dq = editor.uniqueName(constant + "_dequantized");
            OnnxMl.NodeProto.Builder rewritten = node.toBuilder();
            for (int i = 0; i < node.getInputCount(); i++) {
                if (node.getInput(i).equals(constant)) {
                    rewritten.setInput(i, dq);
                }
            }
            editor.replaceNode(nodeName, List.of(rewritten.build()));
            editor.insertBefore(nodeName, List.of(dequantize(editor.uniqueName(constant + "_DequantizeLinear"),
                names, dq, -1)));
        }

        private void insertQdq(String tensor, QuantParams params) {
            boolean integer = integerDomain.contains(tensor);
            Optional<OnnxMl.NodeProto> producer = editor.producer(tensor);
            String source = tensor;
            if (integer && editor.isGraphOutput(tensor)) {
                // The graph output keeps its name and is written by a DequantizeLinear.
                source = editor.uniqueName(tensor + "_float");
                OnnxMl.NodeProto p = producer.orElseThrow();
                OnnxMl.NodeProto.Builder renamed = p.toBuilder();
                for (int i = 0; i < p.getOutputCount(); i++) {
                    if (p.getOutput(i).equals(tensor)) {
                        renamed.setOutput(i, source);
                    }
                }
                editor.replaceNode(p.getName(), List.of(renamed.build()));
            }
            String scale = editor.uniqueName(tensor + "_scale");
            String zeroPoint = editor.uniqueName(tensor + "_zero_point");
            putScaleAndZeroPoint(scale, zeroPoint, params);
            String quantized = editor.uniqueName(tensor + "_quantized");
            List<OnnxMl.NodeProto> added = new ArrayList<>();
            added.add(Nodes.create("QuantizeLinear", editor.uniqueName(tensor + "_QuantizeLinear"),
                List.of(source, scale, zeroPoint), List.of(quantized)));
            String[] qdqNames = {quantized, scale, zeroPoint};
            for (OnnxMl.NodeProto reader : editor.consumers(tensor)) {
                boolean readsQuantized = integer
                    || quantizedReads.getOrDefault(reader.getName(), Set.of()).contains(tensor);
                if (!readsQuantized) {
                    continue;
                }
                String dq = editor.uniqueName(tensor + "_dequantized");
                added.add(dequantize(editor.uniqueName(tensor + "_DequantizeLinear"), qdqNames, dq, -1));
                OnnxMl.NodeProto.Builder rewritten = reader.toBuilder();
                for (int i = 0; i < reader.getInputCount(); i++) {
                    if (reader.getInput(i).equals(tensor)) {
                        rewritten.setInput(i, dq);
                    }
                }
                editor.replaceNode(reader.getName(), List.of(rewritten.build()));
            }
            if (integer && editor.isGraphOutput(tensor)) {
                added.add(dequantize(editor.uniqueName(tensor + "_DequantizeLinear"), qdqNames, tensor, -1));
            }
            if (producer.isPresent()) {
                editor.insertAfter(producer.get().getName(), added);
            } else {
                editor.insertAtStart(added);
            }
        }

        private void putScaleAndZeroPoint(String scale, String zeroPoint, QuantParams params) {
            editor.putInitializer(Tensors.floatTensor(scale, new long[0], new float[] {params.scale()}));
            editor.putInitializer(integerTensor(zeroPoint, new long[0], new byte[] {(byte) params.zeroPoint()},
                params.type()));
        }

        private static OnnxMl.TensorProto integerTensor(String name, long[] dims, byte[] values, QuantType type) {
            return type == QuantType.UINT8 ? Tensors.uint8Tensor(name, dims, values)
                : Tensors.int8Tensor(name, dims, values);
        }

        private static OnnxMl.NodeProto dequantize(String name, String[] inputs, String output, int axis) {
            return axis >= 0
                ? Nodes.create("DequantizeLinear", name, List.of(inputs), List.of(output), Nodes.intAttribute("axis", axis))
                : Nodes.create("DequantizeLinear", name, List.of(inputs), List.of(output));
        }
    }
}
