package dev.quantflow.quant.dynamic;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.QuantizedWeights;
import dev.quantflow.quant.SymmetricWeightQuantizer;
import dev.quantflow.quant.qdq.NodeDecision;

/**
 * Dynamic post-training INT8 quantization: weights are quantized ahead of time, activations at run time from their
 * own range, so no calibration data is needed. The form NLP models (transformer encoders, LSTMs) take, whose
 * activation ranges vary too much from input to input for fixed calibrated scales.
 *
 * <h2>MatMul / Gemm with a constant weight</h2>
 * For {@code Y = X · W (+ b)}, {@code W = [K, N]} a float initializer (Gemm: {@code alpha · A · op(B) + beta · C},
 * turned into this form with {@code W = alpha · op(B)} and {@code b = beta · C}):
 * <pre>
 *   weights (ahead of time, per output column n, or one scale for the tensor):
 *     s_w[n] = max_k |W[k,n]| / qmax,   Wq[k,n] = clamp(roundHalfToEven(W[k,n] / s_w[n]), -qmax, qmax),   z_w = 0
 *     qmax = 64 (reduced range, default) or 127
 *   activations (at run time, ONNX DynamicQuantizeLinear, one scale for the whole tensor):
 *     lo = min(0, min X),  hi = max(0, max X),  s_x = (hi - lo) / 255
 *     z_x = clamp(roundHalfToEven(-lo / s_x), 0, 255),   Xq = clamp(roundHalfToEven(X / s_x) + z_x, 0, 255)
 *   product (integer accumulation, then one float scale per column):
 *     Y[m,n] = s_x · s_w[n] · Σ_k (Xq[m,k] - z_x) · Wq[k,n]  (+ b[n])
 * </pre>
 * The error against fp32 is bounded per output by {@code Σ_k (|X[m,k]| · s_w[n]/2 + |W[k,n]| · s_x/2 + s_x·s_w[n]/4)}
 * (each factor is off by at most half a step), which is what the tests check.
 *
 * <p><b>Reduced range.</b> ONNX Runtime computes {@code Xq · Wq} with u8·s8 kernels. On x86 CPUs without VNNI
 * (AVX2 {@code vpmaddubsw}) two adjacent products are added into a saturating int16: {@code 255·127·2 > 32767} can
 * clip, {@code 255·64·2 ≤ 32767} cannot. Hence weights default to [-64, 64]
 * ({@link SymmetricWeightQuantizer#REDUCED_RANGE}), exact on every CPU, at the price of one bit of weight precision.
 *
 * <p><b>What stays fp32.</b> A MatMul whose second input is computed at run time (attention's {@code Q·Kᵀ} and
 * {@code P·V}: activation × activation) has no weight to quantize ahead and stays fp32; so do excluded nodes, weights
 * of rank other than 2, and Gemm with {@code transA = 1} or a bias that is not a constant per-column vector.
 *
 * <p><b>Bias folding.</b> An {@code Add} of a constant per-column vector that is the only reader of a quantized
 * MatMul's output becomes the bias of the quantized op (ONNX Runtime then adds it inside the integer kernel's float
 * epilogue).
 *
 * <p><b>Sibling merge</b> ({@link DynamicQuantRecipe#mergeSiblingMatMuls()}): quantized MatMuls that read the same
 * activation (Q, K and V projections) become one integer MatMul over the column-concatenated weights
 * {@code [K, N1+N2+…]} whose output a {@code Split} (last axis) hands back to the original tensors. Per-column
 * scales make this exact: every column keeps its own scale, and the activation is quantized once either way.
 *
 * <p><b>Attention fusion</b> ({@link DynamicGraphForm#ORT_CONTRIB} only, per-column weights, MatMul selected): a
 * PyTorch-exported BERT self-attention block,
 * {@code Reshape(Transpose(Softmax(Q·Kᵀ / √d + M) · V))} with {@code Q, K, V = Transpose(Reshape(X·W + b))} and
 * {@code M} computed from one integer graph input (the 0/1 attention mask), becomes
 * {@code com.microsoft.QAttention(DynamicQuantizeLinear(X), [Wq|Wk|Wv] int8 per column, [bq|bk|bv], …,
 * Cast(mask, int32))}, {@code num_heads = H / d}. The projections are quantized exactly as unfused (same scales,
 * same single activation scale); score, softmax and context run in fp32 inside the kernel. The block's shape
 * computations are removed; every node removed gets a decision saying what it was fused into.
 *
 * <h2>Gather (embedding tables)</h2>
 * A Gather whose data is a float initializer {@code T = [V, D]} (axis 0) reads an int8 copy
 * ({@code s = max|T| / 127}, {@code z = 0}; no integer GEMM follows, so the full range is safe) and its rows are
 * dequantized after the lookup: {@code Gather(Tq, ids) → DequantizeLinear(s, 0)}. The file shrinks 4× for that table;
 * the rows read are exactly those of the dequantized table.
 *
 * <h2>LSTM</h2>
 * An ONNX {@code LSTM} with constant {@code W = [D, 4H, I]} and {@code R = [D, 4H, H]} (layout 0) becomes ONNX
 * Runtime's {@code com.microsoft.DynamicQuantizeLSTM}: weights transposed to {@code [D, I, 4H]} / {@code [D, H, 4H]}
 * and quantized like MatMul weights per direction and gate column ({@code W_scale = [D, 4H]}), input and hidden state
 * quantized at run time inside the kernel. Bias, peepholes and states stay fp32. GRU has no dynamic kernel in ONNX
 * Runtime and is not quantized.
 *
 * <h2>SmoothQuant (optional)</h2>
 * With {@link DynamicQuantRecipe#withSmoothing} the fp32 model is first rewritten by {@link SmoothQuant#apply}: per
 * input channel, {@code X/s} and {@code s·W}, the same function with activation outliers moved into the weights;
 * then quantized as above. The decisions then list the smoothed graph's nodes (its inserted {@code Cast}/{@code Mul}
 * nodes included, kept fp32).
 *
 * <h2>Subgraphs</h2>
 * If branches and Loop/Scan bodies (nested to any depth) are planned like the main graph: a MatMul/Gemm/LSTM/Gather
 * inside reads its weight from its own body or from a graph around it (exporters keep branch weights in the outer
 * graph, Silero VAD legacy does); the int8 copy becomes an initializer of the body, an outer fp32 weight nothing
 * reads any more is dropped. Each decision names where it was made ("inside If 'x' then_branch › If 'y' …").
 * Attention fusion is main-graph only.
 *
 * <h2>Graph form</h2>
 * {@link DynamicGraphForm}: standard integer ops (default), ONNX Runtime contrib ops, or QDQ. The same weights and
 * the same run-time activation quantization in each; see docs/benchmarks.md for what each runs like.
 *
 * <p>Deterministic: the same model and recipe give the same bytes.
 */
public final class DynamicQuantizer {

    private static final Set<String> QUANTIZED_OPS = Set.of("QuantizeLinear", "DequantizeLinear",
        "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "QGemm",
        "QLinearAdd", "QLinearMul", "MatMulIntegerToFloat", "MatMulNBits", "QAttention", "DynamicQuantizeMatMul",
        "DynamicQuantizeLSTM");
    /** DynamicQuantizeLinear appeared in opset 11. */
    static final int DYNAMIC_OPSET = 11;
    private static final int PER_AXIS_DQ_OPSET = 13;
    static final String MS_DOMAIN = "com.microsoft";
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT_VALUE;

    public DynamicQuantizer() {
    }

    /**
     * Quantizes {@code fp32} as {@code recipe} says.
     *
     * @throws QuantizationException if the model cannot be quantized (opset below 11, already quantized, or nothing
     *                               in it can be quantized under the recipe)
     */
    public DynamicQuantizationResult quantize(OnnxModel fp32, DynamicQuantRecipe recipe) {
        Objects.requireNonNull(fp32, "fp32");
        Objects.requireNonNull(recipe, "recipe");
        if (fp32.opsetVersion() < DYNAMIC_OPSET) {
            throw new QuantizationException("the model uses ONNX opset " + fp32.opsetVersion()
                + "; DynamicQuantizeLinear needs opset " + DYNAMIC_OPSET + " or newer: re-export the model at opset "
                + DYNAMIC_OPSET + " or newer");
        }
        Set<String> found = new TreeSet<>();
        for (OnnxMl.NodeProto n : fp32.graph().getNodeList()) {
            if (QUANTIZED_OPS.contains(n.getOpType())) {
                found.add(n.getOpType());
            }
        }
        if (!found.isEmpty()) {
            throw new QuantizationException("the model already contains quantized operators " + found
                + ": hand over the fp32 model");
        }
        if (recipe.smoothing()) {
            // Exact rewrite of the fp32 function; decisions below then refer to the smoothed graph's nodes.
            fp32 = SmoothQuant.apply(fp32, recipe.smoothingChannelAbsMax(), recipe.smoothingAlpha()).model();
        }
        boolean perChannel = recipe.perChannelWeights();
        boolean perChannelMatMul = perChannel
            && (recipe.graphForm() != DynamicGraphForm.QDQ || fp32.opsetVersion() >= PER_AXIS_DQ_OPSET);
        GraphEditor editor = GraphEditor.of(fp32);
        AttentionFusion fusion = new AttentionFusion(editor, recipe.reduceRangeWeights()
            ? SymmetricWeightQuantizer.REDUCED_RANGE : SymmetricWeightQuantizer.FULL_RANGE, recipe.excludedNodes());
        if (recipe.graphForm() == DynamicGraphForm.ORT_CONTRIB && perChannelMatMul
            && recipe.opTypes().contains("MatMul")) {
            fusion.run();
        }
        Planner planner = new Planner(editor, recipe, perChannelMatMul, perChannel,
            (int) fp32.opsetVersion());
        planner.plan();
        // One decision per fp32 node, in fp32 graph order (nodes the attention fusion replaced included).
        List<NodeDecision> decisions = new ArrayList<>();
        for (OnnxMl.NodeProto n : GraphEditor.of(fp32).nodes()) {
            NodeDecision d = fusion.decisions.containsKey(n.getName()) ? fusion.decisions.get(n.getName())
                : planner.decisions.get(n.getName());
            if (d != null) {
                decisions.add(d);
            }
        }
        // If/Loop/Scan bodies: the same planner on each subgraph, weights resolved through the outer scopes.
        Subgraphs subgraphs = new Subgraphs(fp32.proto(), recipe, perChannelMatMul, perChannel, (int) fp32.opsetVersion());
        subgraphs.plan(fp32.graph());
        decisions.addAll(subgraphs.decisions);
        if (decisions.stream().noneMatch(NodeDecision::quantized)) {
            throw new QuantizationException("nothing in the model can be dynamically quantized under the recipe: "
                + summarize(decisions));
        }
        OnnxModel quantized = planner.emit();
        if (subgraphs.quantized > 0) {
            OnnxMl.GraphProto g = subgraphs.rewrite(quantized.graph(), initializers(quantized.graph(), Map.of()), "");
            // Outer weights the subgraphs no longer read (replaced by their int8 copies) are dropped here.
            quantized = GraphEditor.of(OnnxModel.wrap(quantized.proto().toBuilder().setGraph(g).build())).build();
        }
        if (planner.usesContribOps || fusion.fused > 0 || subgraphs.usesContribOps) {
            quantized = quantized.withOpsetImport(MS_DOMAIN, 1);
        }
        return new DynamicQuantizationResult(quantized, decisions);
    }

    private static Map<String, OnnxMl.TensorProto> initializers(OnnxMl.GraphProto g,
                                                                 Map<String, OnnxMl.TensorProto> outer) {
        Map<String, OnnxMl.TensorProto> scope = new LinkedHashMap<>(outer);
        g.getInitializerList().forEach(t -> scope.put(t.getName(), t));
        return scope;
    }

    /**
     * Dynamic quantization inside subgraphs (If branches, Loop/Scan bodies, nested to any depth): each body is
     * planned like a main graph, its weights found among its own initializers or those of the graphs around it
     * (exporters often keep a branch's weights in the outer graph). A quantized body gets its int8 weights as its own
     * initializers; the fp32 weights it borrowed stay in the outer graph while something still reads them. The
     * decisions name the subgraph ("inside If 'x' then_branch"). Attention fusion is main-graph only.
     */
    private static final class Subgraphs {
        private final OnnxMl.ModelProto base;
        private final DynamicQuantRecipe recipe;
        private final boolean perChannelMatMul;
        private final boolean perChannelLstm;
        private final int opset;
        final List<NodeDecision> decisions = new ArrayList<>();
        int quantized;
        boolean usesContribOps;

        Subgraphs(OnnxMl.ModelProto base, DynamicQuantRecipe recipe, boolean perChannelMatMul, boolean perChannelLstm,
                  int opset) {
            this.base = base;
            this.recipe = recipe;
            this.perChannelMatMul = perChannelMatMul;
            this.perChannelLstm = perChannelLstm;
            this.opset = opset;
        }

        /** Decisions only (no rewrite), for every subgraph of {@code g}. */
        void plan(OnnxMl.GraphProto g) {
            visit(g, initializers(g, Map.of()), "", false);
        }

        /** {@code g} with every subgraph quantized as planned. */
        OnnxMl.GraphProto rewrite(OnnxMl.GraphProto g, Map<String, OnnxMl.TensorProto> scope, String where) {
            return visit(g, scope, where, true);
        }

        private OnnxMl.GraphProto visit(OnnxMl.GraphProto g, Map<String, OnnxMl.TensorProto> scope, String where,
                                        boolean emit) {
            OnnxMl.GraphProto.Builder gb = g.toBuilder();
            for (int i = 0; i < g.getNodeCount(); i++) {
                OnnxMl.NodeProto n = g.getNode(i);
                OnnxMl.NodeProto.Builder nb = null;
                for (int j = 0; j < n.getAttributeCount(); j++) {
                    OnnxMl.AttributeProto a = n.getAttribute(j);
                    if (!a.hasG() && a.getGraphsCount() == 0) {
                        continue;
                    }
                    String here = where + (where.isEmpty() ? "inside " : " › ") + n.getOpType() + " '" + n.getName()
                        + "' " + a.getName();
                    OnnxMl.AttributeProto.Builder ab = a.toBuilder();
                    if (a.hasG()) {
                        ab.setG(body(a.getG(), scope, here, emit));
                    }
                    for (int k = 0; k < a.getGraphsCount(); k++) {
                        ab.setGraphs(k, body(a.getGraphs(k), scope, here + "[" + k + "]", emit));
                    }
                    if (nb == null) {
                        nb = n.toBuilder();
                    }
                    nb.setAttribute(j, ab);
                }
                if (nb != null) {
                    gb.setNode(i, nb);
                }
            }
            return gb.build();
        }

        private OnnxMl.GraphProto body(OnnxMl.GraphProto body, Map<String, OnnxMl.TensorProto> outer, String where,
                                       boolean emit) {
            java.util.Set<String> local = new java.util.HashSet<>();
            body.getInitializerList().forEach(t -> local.add(t.getName()));
            body.getInputList().forEach(v -> local.add(v.getName()));
            body.getNodeList().forEach(n -> local.addAll(n.getOutputList()));
            Map<String, OnnxMl.TensorProto> borrowed = new LinkedHashMap<>();
            for (OnnxMl.NodeProto n : body.getNodeList()) {
                for (String in : n.getInputList()) {
                    if (!local.contains(in) && outer.containsKey(in)) {
                        borrowed.put(in, outer.get(in));
                    }
                }
            }
            OnnxMl.GraphProto probe = body.toBuilder().addAllInitializer(borrowed.values()).build();
            Planner planner = new Planner(GraphEditor.of(OnnxModel.wrap(base.toBuilder().setGraph(probe).build())),
                recipe, perChannelMatMul, perChannelLstm, opset);
            planner.plan();
            boolean any = false;
            for (NodeDecision d : planner.decisions.values()) {
                any |= d.quantized();
                if (!emit) {
                    decisions.add(new NodeDecision(d.node(), d.opType(), d.quantized(), d.reason() + " (" + where + ")"));
                }
            }
            OnnxMl.GraphProto out = body;
            if (any && emit) {
                OnnxMl.GraphProto emitted = planner.emit().graph();
                OnnxMl.GraphProto.Builder ob = emitted.toBuilder().clearInitializer();
                // Borrowed weights still read stay where they were: in the outer graph.
                emitted.getInitializerList().stream().filter(t -> !borrowed.containsKey(t.getName()))
                    .forEach(ob::addInitializer);
                out = ob.setName(body.getName()).build();
                usesContribOps |= planner.usesContribOps;
            }
            if (any && !emit) {
                quantized++;
            }
            return visit(out, initializers(out, outer), where, emit);
        }
    }

    private static String summarize(java.util.Collection<NodeDecision> decisions) {
        // Grouped by reason, without the subgraph a decision was made in (a nested model would list every body).
        Map<String, Long> byReason = decisions.stream()
            .collect(Collectors.groupingBy(d -> d.reason().replaceFirst(" \\(inside .*\\)$", " (in a subgraph)"),
                TreeMap::new, Collectors.counting()));
        return byReason.entrySet().stream().map(e -> e.getValue() + " × " + e.getKey())
            .collect(Collectors.joining("; "));
    }

    /** A quantized MatMul / Gemm: {@code output = activation · weight (+ bias)}, weight {@code [k, n]} row-major. */
    private record MatMulPlan(String node, String activation, float[] weight, int k, int n, float[] bias,
                              String biasAdd, String output) {
    }

    private record GatherPlan(String node) {
    }

    private record LstmPlan(String node) {
    }

    /** Decides node by node (in graph order), then rewrites the graph. */
    private static final class Planner {

        private final GraphEditor editor;
        private final DynamicQuantRecipe recipe;
        private final boolean perChannelMatMul;
        private final boolean perChannelLstm;
        private final int opset;
        private final int qmax;

        final Map<String, NodeDecision> decisions = new LinkedHashMap<>();
        /** Decisions for bias Adds folded by the node being decided; recorded right after that node's. */
        private final Map<String, NodeDecision> foldedBiasAdds = new LinkedHashMap<>();
        private final Map<String, MatMulPlan> matMuls = new LinkedHashMap<>();
        private final List<GatherPlan> gathers = new ArrayList<>();
        private final List<LstmPlan> lstms = new ArrayList<>();
        boolean usesContribOps;

        Planner(GraphEditor editor, DynamicQuantRecipe recipe, boolean perChannelMatMul, boolean perChannelLstm,
                int opset) {
            this.editor = editor;
            this.recipe = recipe;
            this.perChannelMatMul = perChannelMatMul;
            this.perChannelLstm = perChannelLstm;
            this.opset = opset;
            this.qmax = recipe.reduceRangeWeights() ? SymmetricWeightQuantizer.REDUCED_RANGE
                : SymmetricWeightQuantizer.FULL_RANGE;
        }

        void plan() {
            for (OnnxMl.NodeProto node : editor.nodes()) {
                if (!decisions.containsKey(node.getName())) {
                    decisions.put(node.getName(), decide(node));
                    decisions.putAll(foldedBiasAdds);
                    foldedBiasAdds.clear();
                }
            }
        }

        private NodeDecision decide(OnnxMl.NodeProto node) {
            String op = node.getOpType();
            boolean defaultDomain = node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx");
            if (!defaultDomain || !DynamicQuantRecipe.SUPPORTED_OP_TYPES.contains(op)) {
                return keep(node, "no weights to quantize: runs in fp32");
            }
            if (recipe.excludedNodes().contains(node.getName())) {
                return keep(node, "excluded by recipe");
            }
            if (!recipe.opTypes().contains(op)) {
                return keep(node, "op type " + op + " not selected by the recipe");
            }
            return switch (op) {
                case "MatMul" -> decideMatMul(node);
                case "Gemm" -> decideGemm(node);
                case "Gather" -> decideGather(node);
                default -> decideLstm(node);
            };
        }

        private NodeDecision decideMatMul(OnnxMl.NodeProto node) {
            String x = Nodes.input(node, 0);
            Optional<OnnxMl.TensorProto> w = floatInitializer(Nodes.input(node, 1));
            if (editor.initializer(x).isPresent()) {
                return keep(node, "first input is a constant: nothing to quantize at run time");
            }
            if (w.isEmpty()) {
                return keep(node, editor.initializer(Nodes.input(node, 1)).isPresent()
                    ? "weight is not a float initializer"
                    : "both inputs computed at run time (activation × activation): kept fp32");
            }
            if (w.get().getDimsCount() != 2) {
                return keep(node, "weight of rank " + w.get().getDimsCount() + ": only 2-D weights are quantized");
            }
            int k = (int) w.get().getDims(0);
            int n = (int) w.get().getDims(1);
            return commitMatMul(node, x, Tensors.toFloatArray(w.get()), k, n, null);
        }

        private NodeDecision decideGemm(OnnxMl.NodeProto node) {
            String a = Nodes.input(node, 0);
            Optional<OnnxMl.TensorProto> b = floatInitializer(Nodes.input(node, 1));
            if (editor.initializer(a).isPresent()) {
                return keep(node, "first input is a constant: nothing to quantize at run time");
            }
            if (b.isEmpty() || b.get().getDimsCount() != 2) {
                return keep(node, "B is not a 2-D float initializer");
            }
            if (Nodes.intAttribute(node, "transA", 0) != 0) {
                return keep(node, "Gemm with transA = 1 is not quantized");
            }
            boolean transB = Nodes.intAttribute(node, "transB", 0) != 0;
            float alpha = Nodes.floatAttribute(node, "alpha", 1f);
            float beta = Nodes.floatAttribute(node, "beta", 1f);
            int k = (int) b.get().getDims(transB ? 1 : 0);
            int n = (int) b.get().getDims(transB ? 0 : 1);
            float[] raw = Tensors.toFloatArray(b.get());
            float[] w = new float[k * n];
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < n; j++) {
                    w[i * n + j] = alpha * (transB ? raw[j * k + i] : raw[i * n + j]);
                }
            }
            float[] bias = null;
            String c = Nodes.input(node, 2);
            if (!c.isEmpty()) {
                Optional<OnnxMl.TensorProto> ct = floatInitializer(c);
                float[] cv = ct.map(Tensors::toFloatArray).orElse(null);
                if (cv == null || !(cv.length == n || cv.length == 1) || !perColumnShape(ct.get(), n)) {
                    return keep(node, "Gemm C is not a constant per-column bias");
                }
                bias = new float[n];
                for (int j = 0; j < n; j++) {
                    bias[j] = beta * cv[cv.length == 1 ? 0 : j];
                }
            }
            return commitMatMul(node, a, w, k, n, bias);
        }

        private NodeDecision commitMatMul(OnnxMl.NodeProto node, String x, float[] w, int k, int n, float[] bias) {
            String output = node.getOutput(0);
            String biasAdd = null;
            if (bias == null) {
                Optional<OnnxMl.NodeProto> add = foldableBiasAdd(output, n);
                if (add.isPresent()) {
                    String other = add.get().getInput(0).equals(output) ? add.get().getInput(1) : add.get().getInput(0);
                    bias = Tensors.toFloatArray(editor.initializer(other).orElseThrow());
                    if (bias.length == 1) {
                        float v = bias[0];
                        bias = new float[n];
                        java.util.Arrays.fill(bias, v);
                    }
                    biasAdd = add.get().getName();
                    output = add.get().getOutput(0);
                    foldedBiasAdds.put(biasAdd, new NodeDecision(biasAdd, "Add", true,
                        "bias folded into quantized " + node.getName()));
                }
            }
            matMuls.put(node.getName(), new MatMulPlan(node.getName(), x, w, k, n, bias, biasAdd, output));
            return new NodeDecision(node.getName(), node.getOpType(), true,
                "quantized: int8 weights " + (perChannelMatMul ? "per column" : "per tensor")
                    + ", activation quantized at run time");
        }

        /** The only reader of {@code output}, when it is an Add of a constant vector over the last axis. */
        private Optional<OnnxMl.NodeProto> foldableBiasAdd(String output, int n) {
            if (editor.isGraphOutput(output)) {
                return Optional.empty();
            }
            List<OnnxMl.NodeProto> readers = editor.consumers(output);
            if (readers.size() != 1) {
                return Optional.empty();
            }
            OnnxMl.NodeProto add = readers.get(0);
            if (!add.getOpType().equals("Add") || !add.getDomain().isEmpty() || add.getInputCount() != 2
                || recipe.excludedNodes().contains(add.getName())
                || add.getInput(0).equals(add.getInput(1))) {
                return Optional.empty();
            }
            String other = add.getInput(0).equals(output) ? add.getInput(1) : add.getInput(0);
            Optional<OnnxMl.TensorProto> t = floatInitializer(other);
            if (t.isEmpty() || !perColumnShape(t.get(), n)) {
                return Optional.empty();
            }
            return Optional.of(add);
        }

        /** Shape [n], [1, …, 1, n] or a scalar / all-ones shape: broadcasts along the last axis only. */
        private static boolean perColumnShape(OnnxMl.TensorProto t, int n) {
            int count = t.getDimsCount();
            for (int i = 0; i < count - 1; i++) {
                if (t.getDims(i) != 1) {
                    return false;
                }
            }
            return count == 0 || t.getDims(count - 1) == n || t.getDims(count - 1) == 1;
        }

        private NodeDecision decideGather(OnnxMl.NodeProto node) {
            Optional<OnnxMl.TensorProto> table = editor.initializer(Nodes.input(node, 0));
            if (table.isEmpty()) {
                return keep(node, "not an embedding lookup (data computed at run time)");
            }
            if (table.get().getDataType() != FLOAT) {
                return keep(node, "embedding table is not float");
            }
            if (Nodes.intAttribute(node, "axis", 0) != 0) {
                return keep(node, "Gather along axis " + Nodes.intAttribute(node, "axis", 0) + ": only row lookups"
                    + " (axis 0) are quantized");
            }
            long elements = Tensors.elementCount(Tensors.dims(table.get()));
            if (elements < recipe.minGatherTableElements()) {
                return keep(node, "embedding table of " + elements + " values is below minGatherTableElements "
                    + recipe.minGatherTableElements() + ": kept fp32");
            }
            gathers.add(new GatherPlan(node.getName()));
            return new NodeDecision(node.getName(), node.getOpType(), true,
                "quantized: int8 table per tensor, rows dequantized after the lookup");
        }

        private NodeDecision decideLstm(OnnxMl.NodeProto node) {
            Optional<OnnxMl.TensorProto> w = floatInitializer(Nodes.input(node, 1));
            Optional<OnnxMl.TensorProto> r = floatInitializer(Nodes.input(node, 2));
            if (w.isEmpty() || r.isEmpty() || w.get().getDimsCount() != 3 || r.get().getDimsCount() != 3) {
                return keep(node, "LSTM weights W and R are not constant 3-D float tensors");
            }
            if (Nodes.intAttribute(node, "layout", 0) != 0) {
                return keep(node, "LSTM with layout = 1 is not quantized (DynamicQuantizeLSTM takes layout 0)");
            }
            lstms.add(new LstmPlan(node.getName()));
            return new NodeDecision(node.getName(), node.getOpType(), true,
                "quantized: com.microsoft.DynamicQuantizeLSTM, int8 W and R "
                    + (perChannelLstm ? "per gate column" : "per direction") + ", input and state quantized at run time");
        }

        private Optional<OnnxMl.TensorProto> floatInitializer(String name) {
            return name.isEmpty() ? Optional.empty()
                : editor.initializer(name).filter(t -> t.getDataType() == FLOAT);
        }

        private static NodeDecision keep(OnnxMl.NodeProto node, String reason) {
            return new NodeDecision(node.getName(), node.getOpType(), false, reason);
        }

        // ------------------------------------------------------------------ rewriting

        /** Activation tensor → the outputs of its DynamicQuantizeLinear (quantized, scale, zero point). */
        private final Map<String, String[]> quantizedActivations = new LinkedHashMap<>();

        OnnxModel emit() {
            Map<String, List<MatMulPlan>> byActivation = new LinkedHashMap<>();
            for (MatMulPlan p : matMuls.values()) {
                byActivation.computeIfAbsent(p.activation(), a -> new ArrayList<>()).add(p);
            }
            for (Map.Entry<String, List<MatMulPlan>> e : byActivation.entrySet()) {
                List<List<MatMulPlan>> units = units(e.getValue());
                for (List<MatMulPlan> unit : units) {
                    emitMatMul(e.getKey(), unit, units.size());
                }
            }
            for (GatherPlan g : gathers) {
                emitGather(g);
            }
            for (LstmPlan l : lstms) {
                emitLstm(l);
            }
            return editor.build();
        }

        /** The MatMuls reading one activation, grouped into the integer MatMuls to emit. */
        private List<List<MatMulPlan>> units(List<MatMulPlan> readers) {
            boolean merge = recipe.mergeSiblingMatMuls() && recipe.graphForm() != DynamicGraphForm.QDQ;
            if (!merge) {
                return readers.stream().map(List::of).toList();
            }
            Map<Integer, List<MatMulPlan>> byK = new LinkedHashMap<>();
            for (MatMulPlan p : readers) {
                byK.computeIfAbsent(p.k(), k -> new ArrayList<>()).add(p);
            }
            return List.copyOf(byK.values());
        }

        private void emitMatMul(String activation, List<MatMulPlan> unit, int unitsOnActivation) {
            MatMulPlan first = unit.get(0);
            int k = first.k();
            int n = unit.stream().mapToInt(MatMulPlan::n).sum();
            float[] w = new float[k * n];
            boolean anyBias = unit.stream().anyMatch(p -> p.bias() != null);
            float[] bias = anyBias ? new float[n] : null;
            int col = 0;
            for (MatMulPlan p : unit) {
                for (int i = 0; i < k; i++) {
                    System.arraycopy(p.weight(), i * p.n(), w, i * n + col, p.n());
                }
                if (p.bias() != null) {
                    System.arraycopy(p.bias(), 0, bias, col, p.n());
                }
                col += p.n();
            }
            long[] dims = {k, n};
            // Per tensor, merged siblings keep one scale each: expanded to a per-column vector (same values).
            QuantizedWeights qw;
            float[] columnScales = new float[n];
            byte[] q;
            if (perChannelMatMul) {
                qw = SymmetricWeightQuantizer.perChannel(w, dims, 1, qmax);
                q = qw.values();
                columnScales = qw.scales();
            } else {
                q = new byte[k * n];
                col = 0;
                for (MatMulPlan p : unit) {
                    QuantizedWeights part = SymmetricWeightQuantizer.perTensor(p.weight(), qmax);
                    for (int i = 0; i < k; i++) {
                        System.arraycopy(part.values(), i * p.n(), q, i * n + col, p.n());
                    }
                    java.util.Arrays.fill(columnScales, col, col + p.n(), part.scales()[0]);
                    col += p.n();
                }
            }
            boolean scalarScale = !perChannelMatMul && unit.size() == 1;
            String base = unit.size() == 1 ? first.node() : first.node() + "_merged";
            String wq = editor.uniqueName(base + "_weight_quantized");
            String ws = editor.uniqueName(base + "_weight_scale");
            String wz = editor.uniqueName(base + "_weight_zero_point");
            long[] paramDims = scalarScale ? new long[0] : new long[] {n};
            editor.putInitializer(Tensors.int8Tensor(wq, dims, q));
            editor.putInitializer(Tensors.floatTensor(ws, paramDims,
                scalarScale ? new float[] {columnScales[0]} : columnScales));
            editor.putInitializer(Tensors.int8Tensor(wz, paramDims, new byte[scalarScale ? 1 : n]));
            String b = null;
            if (bias != null) {
                b = editor.uniqueName(base + "_bias");
                editor.putInitializer(Tensors.floatTensor(b, new long[] {n}, bias));
            }
            String out = unit.size() == 1 ? first.output() : editor.uniqueName(base + "_output");
            List<OnnxMl.NodeProto> added = new ArrayList<>();
            switch (recipe.graphForm()) {
                case INTEGER_OPS -> {
                    String[] xq = quantizeActivation(activation);
                    String acc = editor.uniqueName(base + "_int32");
                    String accF = editor.uniqueName(base + "_int32_float");
                    String scale = editor.uniqueName(base + "_output_scale");
                    String y = b == null ? out : editor.uniqueName(base + "_without_bias");
                    added.add(Nodes.create("MatMulInteger", editor.uniqueName(base + "_MatMulInteger"),
                        List.of(xq[0], wq, xq[2], wz), List.of(acc)));
                    added.add(Nodes.create("Cast", editor.uniqueName(base + "_Cast"), List.of(acc), List.of(accF),
                        Nodes.intAttribute("to", FLOAT)));
                    added.add(Nodes.create("Mul", editor.uniqueName(base + "_scale_Mul"), List.of(xq[1], ws),
                        List.of(scale)));
                    added.add(Nodes.create("Mul", editor.uniqueName(base + "_output_Mul"), List.of(accF, scale),
                        List.of(y)));
                    if (b != null) {
                        added.add(Nodes.create("Add", editor.uniqueName(base + "_bias_Add"), List.of(y, b),
                            List.of(out)));
                    }
                }
                case ORT_CONTRIB -> {
                    usesContribOps = true;
                    if (unitsOnActivation == 1) {
                        added.add(Nodes.createInDomain(MS_DOMAIN, "DynamicQuantizeMatMul",
                            editor.uniqueName(base + "_DynamicQuantizeMatMul"),
                            b == null ? List.of(activation, wq, ws, wz) : List.of(activation, wq, ws, wz, b),
                            List.of(out)));
                    } else {
                        String[] xq = quantizeActivation(activation);
                        List<String> inputs = new ArrayList<>(List.of(xq[0], wq, xq[1], ws, xq[2], wz));
                        if (b != null) {
                            inputs.add(b);
                        }
                        added.add(Nodes.createInDomain(MS_DOMAIN, "MatMulIntegerToFloat",
                            editor.uniqueName(base + "_MatMulIntegerToFloat"), inputs, List.of(out)));
                    }
                }
                case QDQ -> {
                    String[] xq = quantizeActivation(activation);
                    String xdq = editor.uniqueName(activation + "_dequantized");
                    String wdq = editor.uniqueName(base + "_weight_dequantized");
                    String y = b == null ? out : editor.uniqueName(base + "_without_bias");
                    added.add(Nodes.create("DequantizeLinear", editor.uniqueName(activation + "_DequantizeLinear"),
                        List.of(xq[0], xq[1], xq[2]), List.of(xdq)));
                    added.add(scalarScale
                        ? Nodes.create("DequantizeLinear", editor.uniqueName(base + "_weight_DequantizeLinear"),
                            List.of(wq, ws, wz), List.of(wdq))
                        : Nodes.create("DequantizeLinear", editor.uniqueName(base + "_weight_DequantizeLinear"),
                            List.of(wq, ws, wz), List.of(wdq), Nodes.intAttribute("axis", 1)));
                    added.add(Nodes.create("MatMul", editor.uniqueName(base + "_MatMul"), List.of(xdq, wdq),
                        List.of(y)));
                    if (b != null) {
                        added.add(Nodes.create("Add", editor.uniqueName(base + "_bias_Add"), List.of(y, b),
                            List.of(out)));
                    }
                }
                default -> throw new IllegalStateException("unknown graph form " + recipe.graphForm());
            }
            if (unit.size() > 1) {
                added.add(split(base, out, unit));
            }
            editor.replaceNode(first.node(), added);
            for (MatMulPlan p : unit) {
                if (p != first) {
                    editor.removeNode(p.node());
                }
                if (p.biasAdd() != null) {
                    editor.removeNode(p.biasAdd());
                }
            }
        }

        private OnnxMl.NodeProto split(String base, String merged, List<MatMulPlan> unit) {
            long[] sizes = unit.stream().mapToLong(MatMulPlan::n).toArray();
            List<String> outputs = unit.stream().map(MatMulPlan::output).toList();
            String name = editor.uniqueName(base + "_Split");
            if (opset >= 13) {
                String sizesName = editor.uniqueName(base + "_split_sizes");
                editor.putInitializer(Tensors.int64Tensor(sizesName, new long[] {sizes.length}, sizes));
                return Nodes.create("Split", name, List.of(merged, sizesName), outputs, Nodes.intAttribute("axis", -1));
            }
            return Nodes.create("Split", name, List.of(merged), outputs, Nodes.intAttribute("axis", -1),
                Nodes.intsAttribute("split", sizes));
        }

        /** One DynamicQuantizeLinear per activation tensor, shared by every reader, placed right after its producer. */
        private String[] quantizeActivation(String activation) {
            String[] known = quantizedActivations.get(activation);
            if (known != null) {
                return known;
            }
            String[] names = {editor.uniqueName(activation + "_quantized"), editor.uniqueName(activation + "_scale"),
                editor.uniqueName(activation + "_zero_point")};
            OnnxMl.NodeProto dql = Nodes.create("DynamicQuantizeLinear",
                editor.uniqueName(activation + "_DynamicQuantizeLinear"), List.of(activation), List.of(names));
            Optional<OnnxMl.NodeProto> producer = editor.producer(activation);
            if (producer.isPresent()) {
                editor.insertAfter(producer.get().getName(), List.of(dql));
            } else {
                editor.insertAtStart(List.of(dql));
            }
            quantizedActivations.put(activation, names);
            return names;
        }

        private void emitGather(GatherPlan plan) {
            OnnxMl.NodeProto node = editor.node(plan.node()).orElseThrow();
            OnnxMl.TensorProto table = editor.initializer(node.getInput(0)).orElseThrow();
            QuantizedWeights qw = SymmetricWeightQuantizer.perTensor(Tensors.toFloatArray(table),
                SymmetricWeightQuantizer.FULL_RANGE);
            String tq = editor.uniqueName(table.getName() + "_quantized");
            String ts = editor.uniqueName(table.getName() + "_scale");
            String tz = editor.uniqueName(table.getName() + "_zero_point");
            editor.putInitializer(Tensors.int8Tensor(tq, Tensors.dims(table), qw.values()));
            editor.putInitializer(Tensors.floatTensor(ts, new long[0], qw.scales()));
            editor.putInitializer(Tensors.int8Tensor(tz, new long[0], new byte[1]));
            String rows = editor.uniqueName(node.getOutput(0) + "_quantized");
            editor.replaceNode(node.getName(), List.of(
                node.toBuilder().setInput(0, tq).setOutput(0, rows).build(),
                Nodes.create("DequantizeLinear", editor.uniqueName(node.getName() + "_DequantizeLinear"),
                    List.of(rows, ts, tz), List.of(node.getOutput(0)))));
        }

        private void emitLstm(LstmPlan plan) {
            usesContribOps = true;
            OnnxMl.NodeProto node = editor.node(plan.node()).orElseThrow();
            String[] w = quantizeLstmWeight(node.getName() + "_W", editor.initializer(node.getInput(1)).orElseThrow());
            String[] r = quantizeLstmWeight(node.getName() + "_R", editor.initializer(node.getInput(2)).orElseThrow());
            List<String> inputs = new ArrayList<>();
            inputs.add(node.getInput(0));
            inputs.add(w[0]);
            inputs.add(r[0]);
            for (int i = 3; i < 8; i++) {
                inputs.add(Nodes.input(node, i));
            }
            inputs.addAll(List.of(w[1], w[2], r[1], r[2]));
            OnnxMl.NodeProto.Builder q = OnnxMl.NodeProto.newBuilder().setOpType("DynamicQuantizeLSTM")
                .setDomain(MS_DOMAIN).setName(editor.uniqueName(node.getName() + "_DynamicQuantizeLSTM"))
                .addAllInput(inputs).addAllOutput(node.getOutputList());
            for (OnnxMl.AttributeProto a : node.getAttributeList()) {
                if (!a.getName().equals("layout")) {
                    q.addAttribute(a);
                }
            }
            editor.replaceNode(node.getName(), List.of(q.build()));
        }

        /**
         * ONNX LSTM weight {@code [D, 4H, I]} → DynamicQuantizeLSTM's {@code [D, I, 4H]}, quantized per direction and
         * gate column (scales {@code [D, 4H]}) or per direction (scales {@code [D]}).
         */
        private String[] quantizeLstmWeight(String base, OnnxMl.TensorProto t) {
            int d = (int) t.getDims(0);
            int g = (int) t.getDims(1);
            int in = (int) t.getDims(2);
            float[] src = Tensors.toFloatArray(t);
            byte[] q = new byte[d * in * g];
            float[] scales = new float[perChannelLstm ? d * g : d];
            for (int dir = 0; dir < d; dir++) {
                float[] slice = new float[in * g];
                for (int gi = 0; gi < g; gi++) {
                    for (int i = 0; i < in; i++) {
                        slice[i * g + gi] = src[(dir * g + gi) * in + i];
                    }
                }
                QuantizedWeights qw = perChannelLstm
                    ? SymmetricWeightQuantizer.perChannel(slice, new long[] {in, g}, 1, qmax)
                    : SymmetricWeightQuantizer.perTensor(slice, qmax);
                System.arraycopy(qw.values(), 0, q, dir * in * g, in * g);
                System.arraycopy(qw.scales(), 0, scales, perChannelLstm ? dir * g : dir, qw.scales().length);
            }
            String qn = editor.uniqueName(base + "_quantized");
            String sn = editor.uniqueName(base + "_scale");
            String zn = editor.uniqueName(base + "_zero_point");
            long[] paramDims = perChannelLstm ? new long[] {d, g} : new long[] {d};
            editor.putInitializer(Tensors.int8Tensor(qn, new long[] {d, in, g}, q));
            editor.putInitializer(Tensors.floatTensor(sn, paramDims, scales));
            editor.putInitializer(Tensors.int8Tensor(zn, paramDims, new byte[scales.length]));
            return new String[] {qn, sn, zn};
        }
    }
}
