package dev.quantflow.quant.llm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import com.google.protobuf.ByteString;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.QuantizationException;

/**
 * Weight-only b-bit quantization of an LLM's MatMuls ({@code Y = X · W}, {@code W = [K, N]} a constant float
 * initializer) by RTN, GPTQ or AWQ ({@link LlmQuantRecipe}). Activations stay float.
 *
 * <h2>Per MatMul</h2>
 * <ul>
 *   <li>RTN: {@link RtnQuantizer}. GPTQ: {@link GptqQuantizer} with the Hessian of the MatMul's input. AWQ: the
 *       MatMuls reading one activation are searched together ({@link AwqScaleSearch}), their weights become
 *       {@code diag(s)·W}, clipped per (block, column) ({@link AwqClipSearch}, with the Gram matrix of {@code X / s}
 *       from all calibration rows, {@code diag(1/s)·XᵀX·diag(1/s)}; not for query/key projections, see
 *       {@link #feedsAttentionScores}; off with {@link LlmQuantRecipe#awqClip()}) and quantized by RTN, and the
 *       activation is divided by s ({@link AwqFolding}: folded into a LayerNormalization or an explicit Mul; nothing
 *       when the search keeps s = 1).</li>
 *   <li>Statistics come keyed by the MatMul's <em>input</em> tensor name ({@link LayerInputStats#tensor()}).</li>
 *   <li>The reported error is {@link ReconstructionError#relative} of the effective weight
 *       ({@code diag(1/s)·Q(diag(s)·W)} for AWQ) with the input's Hessian when statistics are given.</li>
 * </ul>
 * MatMuls are processed one input group at a time, one weight at a time: the working memory beyond the model is
 * that of one layer (its weight, Hessian and codes).
 *
 * <h2>Output forms</h2>
 * <ul>
 *   <li>{@link LlmQuantRecipe.Format#MATMUL_NBITS}: {@code com.microsoft:MatMulNBits(X, B, scales[, zero_points])}
 *       with attributes K, N, bits, block_size, accuracy_level ({@link MatMulNBitsPacking} gives the layouts;
 *       symmetric weights omit the zero points, whose default is 2^(bits−1)). ONNX Runtime 1.29's CPU kernel runs
 *       bits {@value #NBITS_SUPPORTED_TEXT} (measured by MatMulNBitsSupportTest).</li>
 *   <li>{@link LlmQuantRecipe.Format#QDQ_BLOCKED}: {@code MatMul(X, DequantizeLinear(Wq, scale, zero, axis=0,
 *       block_size))} with Wq a uint4 (4-bit) or uint8 (8-bit) {@code [K, N]} initializer and scale/zero
 *       {@code [ceil(K/blockSize), N]}. Needs opset 21: a model below it is lifted to 21 (the caller must accept
 *       that the graph's other ops mean the same there, as for any opset change).</li>
 * </ul>
 * A bias Add after the MatMul is left as it is. Deterministic: the same inputs give the same bytes.
 *
 * <h2>Tied heads</h2>
 * A MatMul whose weight is {@code Transpose(E, perm=[1, 0])} of a rank-2 initializer (an LM head tied to the token
 * embedding E, which a Gather also reads) is quantized like any other with {@code W = Eᵀ}: it gets its own b-bit
 * codes (for AWQ of {@code diag(s)·Eᵀ}, the scales folded into the LayerNorm before it) and its Transpose is dropped
 * once nothing else reads it. E itself stays fp32 for the Gather: the lookup has no calibration-weighted error to
 * minimise and AWQ's scales could not be applied to a matrix the lookup also reads. The file then holds E twice
 * (fp32 and b-bit), 1/8 more than E alone at 4 bits.
 *
 * <h2>GPTQ damping</h2>
 * {@link GptqQuantizer} raises the damping per layer (×10 steps up to 1) while a Hessian's factor is not positive
 * definite or ill-conditioned, so one degenerate layer input does not fail the job.
 */
public final class LlmWeightQuantizer {

    static final String MS_DOMAIN = "com.microsoft";
    static final String NBITS_SUPPORTED_TEXT = "2, 4 and 8";
    /** Bits ONNX Runtime 1.29's CPU MatMulNBits runs (see MatMulNBitsSupportTest). */
    public static final Set<Integer> MATMUL_NBITS_BITS = Set.of(2, 4, 8);
    /** Bits the blocked-QDQ form can store (uint4, uint8). */
    public static final Set<Integer> QDQ_BITS = Set.of(4, 8);
    static final int BLOCKED_DQ_OPSET = 21;

    public LlmWeightQuantizer() {
    }

    /**
     * A MatMul with a constant rank-2 float weight: the initializer itself ({@code [k, n]}), or, for a head tied to
     * the token embedding, {@code Transpose(E, perm=[1, 0])} of an initializer {@code E = [n, k]} ({@code transpose}
     * names that node).
     */
    private record Candidate(OnnxMl.NodeProto node, String input, String weight, int k, int n, String transpose) {
    }

    /**
     * Quantizes the model's weight MatMuls.
     *
     * @param stats input statistics keyed by MatMul input tensor name; may be empty for RTN
     * @throws QuantizationException for missing statistics (GPTQ/AWQ), bits the output form cannot store, an
     *                               already quantized model, or a model without any quantizable MatMul
     */
    public LlmQuantizationResult quantize(OnnxModel model, Map<String, LayerInputStats> stats, LlmQuantRecipe recipe) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(stats, "stats");
        Objects.requireNonNull(recipe, "recipe");
        Set<Integer> allowed = recipe.format() == LlmQuantRecipe.Format.MATMUL_NBITS ? MATMUL_NBITS_BITS : QDQ_BITS;
        if (!allowed.contains(recipe.bits()) || (!recipe.eightBitNodes().isEmpty() && !allowed.contains(8))) {
            throw new QuantizationException(recipe.bits() + "-bit weights cannot be written as " + recipe.format()
                + ": it supports " + allowed.stream().sorted().toList() + " bits");
        }
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("MatMulNBits") || n.getOpType().equals("DequantizeLinear")) {
                throw new QuantizationException("the model already contains " + n.getOpType()
                    + " nodes: hand over the fp32 model");
            }
        }
        GraphEditor editor = GraphEditor.of(model);
        Map<String, List<Candidate>> groups = new LinkedHashMap<>();
        Map<String, LlmNodeDecision> decisions = new HashMap<>();
        List<String> order = new ArrayList<>();
        for (OnnxMl.NodeProto node : editor.nodes()) {
            Candidate c = candidate(editor, node);
            if (c == null) {
                continue;
            }
            order.add(node.getName());
            String keep = null;
            if (recipe.keepFp32().contains(node.getName())) {
                keep = "kept fp32 by the recipe";
            } else if (!recipe.quantizeLmHead() && isLmHead(editor, node)) {
                keep = "LM head (produces a graph output), kept fp32: quantizeLmHead is off";
            }
            if (keep != null) {
                decisions.put(node.getName(), new LlmNodeDecision(node.getName(), c.weight(), c.k(), c.n(), 32,
                    "fp32", Double.NaN, keep));
            } else {
                groups.computeIfAbsent(c.input(), x -> new ArrayList<>()).add(c);
            }
        }
        if (groups.isEmpty()) {
            throw new QuantizationException(order.isEmpty()
                ? "the model has no MatMul with a constant 2-D float weight to quantize"
                : "every weight MatMul is kept fp32 by the recipe");
        }
        boolean blockedQdq = recipe.format() == LlmQuantRecipe.Format.QDQ_BLOCKED;
        for (Map.Entry<String, List<Candidate>> group : groups.entrySet()) {
            quantizeGroup(editor, group.getKey(), group.getValue(), stats.get(group.getKey()), recipe, decisions);
        }
        OnnxModel out = editor.build();
        if (blockedQdq) {
            if (out.opsetVersion() < BLOCKED_DQ_OPSET) {
                out = out.withOpsetVersion(BLOCKED_DQ_OPSET);
            }
        } else {
            out = out.withOpsetImport(MS_DOMAIN, 1);
        }
        List<LlmNodeDecision> list = new ArrayList<>();
        for (String name : order) {
            list.add(decisions.get(name));
        }
        return new LlmQuantizationResult(out, list);
    }

    private void quantizeGroup(GraphEditor editor, String input, List<Candidate> members, LayerInputStats stats,
                               LlmQuantRecipe recipe, Map<String, LlmNodeDecision> decisions) {
        int k = members.get(0).k();
        if (recipe.method() != LlmQuantRecipe.Method.RTN && stats == null) {
            throw new QuantizationException(recipe.method() + " needs calibration statistics for '" + input
                + "', the input of MatMul '" + members.get(0).node().getName() + "'; none were given (RTN needs none)");
        }
        if (stats != null && stats.k() != k) {
            throw new QuantizationException("statistics of '" + input + "' have " + stats.k()
                + " channels, MatMul '" + members.get(0).node().getName() + "' has K = " + k);
        }
        if (stats != null && stats.rows() == 0) {
            throw new QuantizationException("statistics of '" + input + "' hold no rows");
        }
        double[] hessian = stats == null ? null : stats.hessian();
        String activation = input;
        float[] awqScales = null;
        double[] awqGram = null;
        List<float[]> weights = new ArrayList<>();
        if (recipe.method() == LlmQuantRecipe.Method.AWQ) {
            List<AwqScaleSearch.Member> awqMembers = new ArrayList<>();
            for (Candidate c : members) {
                float[] w = weight(editor, c);
                weights.add(w);
                awqMembers.add(new AwqScaleSearch.Member(w, c.n(),
                    new RtnQuantizer(grid(recipe, c), recipe.blockSize())));
            }
            awqScales = AwqScaleSearch.search(awqMembers, k, stats).scales();
            Set<String> names = new LinkedHashSet<>();
            members.forEach(c -> names.add(c.node().getName()));
            // α = 0 gives s = 1: nothing to put into the graph (no identity Mul)
            activation = allOnes(awqScales) ? input : AwqFolding.apply(editor, input, names, awqScales).activation();
            if (recipe.awqClip()) {
                awqGram = scaledGram(hessian, awqScales, k);
            }
        }
        for (int m = 0; m < members.size(); m++) {
            Candidate c = members.get(m);
            float[] w = awqScales != null ? weights.get(m) : weight(editor, c);
            BlockQuantGrid grid = grid(recipe, c);
            BlockQuantizedWeight q;
            float[] effective;
            switch (recipe.method()) {
                case RTN -> {
                    q = new RtnQuantizer(grid, recipe.blockSize()).quantize(w, c.k(), c.n());
                    effective = q.dequantize();
                }
                case GPTQ -> {
                    q = new GptqQuantizer(grid, recipe.blockSize(), recipe.percDamp(), recipe.actOrder())
                        .quantize(w, c.k(), c.n(), hessian);
                    effective = q.dequantize();
                }
                case AWQ -> {
                    float[] sw = new float[w.length];
                    AwqScaleSearch.scaleRows(w, c.k(), c.n(), awqScales, sw);
                    if (awqGram != null && !feedsAttentionScores(editor, c.node())) {
                        sw = AwqClipSearch.search(sw, c.k(), c.n(), awqGram, grid, recipe.blockSize()).clipped();
                    }
                    q = new RtnQuantizer(grid, recipe.blockSize()).quantize(sw, c.k(), c.n());
                    effective = q.dequantize();
                    for (int i = 0; i < c.k(); i++) {
                        float inv = 1f / awqScales[i];
                        for (int j = 0; j < c.n(); j++) {
                            effective[i * c.n() + j] *= inv;
                        }
                    }
                }
                default -> throw new IllegalStateException();
            }
            double err = ReconstructionError.relative(w, effective, c.k(), c.n(), hessian);
            emit(editor, c, activation, q, recipe);
            decisions.put(c.node().getName(), new LlmNodeDecision(c.node().getName(), c.weight(), c.k(), c.n(),
                q.bits(), recipe.method().name(), err, null));
        }
    }

    private static boolean allOnes(float[] s) {
        for (float v : s) {
            if (v != 1f) {
                return false;
            }
        }
        return true;
    }

    /** {@code diag(1/s) · G · diag(1/s)}: the Gram matrix of {@code X / s} from that of X (a new array). */
    static double[] scaledGram(double[] gram, float[] s, int k) {
        double[] out = new double[k * k];
        for (int i = 0; i < k; i++) {
            double si = s[i];
            for (int j = 0; j < k; j++) {
                out[i * k + j] = gram[i * k + j] / (si * s[j]);
            }
        }
        return out;
    }

    private static BlockQuantGrid grid(LlmQuantRecipe recipe, Candidate c) {
        int bits = recipe.eightBitNodes().contains(c.node().getName()) ? 8 : recipe.bits();
        return new BlockQuantGrid(bits, recipe.symmetric());
    }

    private static float[] weight(GraphEditor editor, Candidate c) {
        float[] w = Tensors.toFloatArray(editor.initializer(c.weight()).orElseThrow());
        if (c.transpose() == null) {
            return w;
        }
        float[] t = new float[w.length];
        for (int r = 0; r < c.n(); r++) {
            for (int col = 0; col < c.k(); col++) {
                t[col * c.n() + r] = w[r * c.k() + col];
            }
        }
        return t;
    }

    /**
     * A tied head's Transpose is dropped once the head reads its own quantized copy, when nothing else reads its
     * output; the embedding itself stays (the Gather reads it).
     */
    private static void dropTranspose(GraphEditor editor, Candidate c) {
        if (c.transpose() != null) {
            OnnxMl.NodeProto t = editor.node(c.transpose()).orElse(null);
            if (t != null && editor.consumers(t.getOutput(0)).isEmpty() && !editor.isGraphOutput(t.getOutput(0))) {
                editor.removeNode(t.getName());
            }
        }
    }

    private static void emit(GraphEditor editor, Candidate c, String activation, BlockQuantizedWeight q,
                             LlmQuantRecipe recipe) {
        String node = c.node().getName();
        String output = c.node().getOutput(0);
        int blocks = q.blocks();
        if (recipe.format() == LlmQuantRecipe.Format.MATMUL_NBITS) {
            String bName = editor.uniqueName(c.weight() + "_q" + q.bits());
            String sName = editor.uniqueName(c.weight() + "_scales");
            editor.putInitializer(Tensors.uint8Tensor(bName,
                new long[] {c.n(), blocks, MatMulNBitsPacking.blobSize(q.blockSize(), q.bits())},
                MatMulNBitsPacking.packB(q)));
            editor.putInitializer(Tensors.floatTensor(sName, new long[] {(long) c.n() * blocks},
                MatMulNBitsPacking.packScales(q)));
            List<String> inputs = new ArrayList<>(List.of(activation, bName, sName));
            if (!q.symmetric()) {
                String zName = editor.uniqueName(c.weight() + "_zero_points");
                byte[] zp = MatMulNBitsPacking.packZeroPoints(q);
                editor.putInitializer(Tensors.uint8Tensor(zName, new long[] {zp.length}, zp));
                inputs.add(zName);
            }
            editor.replaceNode(node, List.of(Nodes.createInDomain(MS_DOMAIN, "MatMulNBits", node, inputs,
                List.of(output), Nodes.intAttribute("K", c.k()), Nodes.intAttribute("N", c.n()),
                Nodes.intAttribute("bits", q.bits()), Nodes.intAttribute("block_size", q.blockSize()),
                Nodes.intAttribute("accuracy_level", recipe.accuracyLevel()))));
            dropTranspose(editor, c);
            return;
        }
        String qName = editor.uniqueName(c.weight() + "_quantized");
        String sName = editor.uniqueName(c.weight() + "_scale");
        String zName = editor.uniqueName(c.weight() + "_zero_point");
        String dqOut = editor.uniqueName(c.weight() + "_dequantized");
        long[] wDims = {c.k(), c.n()};
        long[] pDims = {blocks, c.n()};
        if (q.bits() == 4) {
            editor.putInitializer(packed4(qName, wDims, q.codes()));
            editor.putInitializer(packed4(zName, pDims, q.zeros()));
        } else {
            editor.putInitializer(Tensors.uint8Tensor(qName, wDims, q.codes()));
            editor.putInitializer(Tensors.uint8Tensor(zName, pDims, q.zeros()));
        }
        editor.putInitializer(Tensors.floatTensor(sName, pDims, q.scales()));
        String dqNode = editor.uniqueName(node + "_weight_dq");
        editor.replaceNode(node, List.of(
            Nodes.create("DequantizeLinear", dqNode, List.of(qName, sName, zName), List.of(dqOut),
                Nodes.intAttribute("axis", 0), Nodes.intAttribute("block_size", q.blockSize())),
            c.node().toBuilder().setInput(0, activation).setInput(1, dqOut).build()));
        dropTranspose(editor, c);
    }

    /** A UINT4 tensor: two values per byte, low nibble first, in row-major order. */
    private static OnnxMl.TensorProto packed4(String name, long[] dims, byte[] values) {
        OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setName(name)
            .setDataType(OnnxMl.TensorProto.DataType.UINT4_VALUE);
        for (long d : dims) {
            b.addDims(d);
        }
        return b.setRawData(ByteString.copyFrom(MatMulNBitsPacking.packNibbles(values))).build();
    }

    private static Candidate candidate(GraphEditor editor, OnnxMl.NodeProto node) {
        if (!node.getOpType().equals("MatMul") || !(node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx"))
            || node.getInputCount() != 2) {
            return null;
        }
        String weightName = node.getInput(1);
        String transpose = null;
        var init = editor.initializer(weightName);
        if (init.isEmpty()) {
            OnnxMl.NodeProto t = tiedTranspose(editor, weightName);
            if (t == null) {
                return null;
            }
            transpose = t.getName();
            weightName = t.getInput(0);
            init = editor.initializer(weightName);
        }
        if (init.isEmpty() || init.get().getDataType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE
            || init.get().getDimsCount() != 2) {
            return null;
        }
        long k = init.get().getDims(transpose == null ? 0 : 1);
        long n = init.get().getDims(transpose == null ? 1 : 0);
        if (k <= 0 || n <= 0 || k * n > Integer.MAX_VALUE || k * k > Integer.MAX_VALUE) {
            return null;
        }
        return new Candidate(node, node.getInput(0), weightName, (int) k, (int) n, transpose);
    }

    /** The {@code Transpose(E)} (perm [1, 0] or none) of a rank-2 initializer that produces {@code tensor}, or null. */
    static OnnxMl.NodeProto tiedTranspose(GraphEditor editor, String tensor) {
        OnnxMl.NodeProto t = editor.producer(tensor).orElse(null);
        if (t == null || !t.getOpType().equals("Transpose") || !(t.getDomain().isEmpty() || t.getDomain().equals("ai.onnx"))
            || t.getInputCount() != 1 || editor.initializer(t.getInput(0)).isEmpty()
            || editor.initializer(t.getInput(0)).get().getDimsCount() != 2) {
            return null;
        }
        for (OnnxMl.AttributeProto a : t.getAttributeList()) {
            if (a.getName().equals("perm") && !(a.getIntsCount() == 2 && a.getInts(0) == 1 && a.getInts(1) == 0)) {
                return null;
            }
        }
        return t;
    }

    private static final Set<String> HEAD_LAYOUT_OPS = Set.of("Add", "Reshape", "Transpose", "Mul", "Div", "Squeeze",
        "Unsqueeze", "Cast");
    private static final Set<String> SCORE_OPS = Set.of("Add", "Mul", "Div", "Where", "Cast", "Reshape", "Transpose");

    /**
     * The weight MatMul is a query or key projection: its output reaches, through bias/head-layout ops only, a MatMul
     * of two activations whose output reaches a Softmax through score ops only (scale, mask). The value projection
     * reaches the second attention MatMul, whose output goes on without a Softmax. AWQ does not clip these weights:
     * the layer error of q and k says little about the error of the softmax of their product (the AWQ reference
     * skips them too; on the fixture GPT at 4-bit, block 128, clipping them as well gave a perplexity increase of
     * 0.61× RTN's instead of 0.48×, LlmFourBitBench).
     */
    static boolean feedsAttentionScores(GraphEditor editor, OnnxMl.NodeProto matMul) {
        OnnxMl.NodeProto cur = matMul;
        for (int step = 0; step < 8; step++) {
            OnnxMl.NodeProto next = onlyReader(editor, cur.getOutput(0));
            if (next == null) {
                return false;
            }
            if (next.getOpType().equals("MatMul")) {
                if (editor.initializer(next.getInput(0)).isPresent() || editor.initializer(next.getInput(1)).isPresent()) {
                    return false;
                }
                OnnxMl.NodeProto s = next;
                for (int j = 0; j < 8; j++) {
                    s = onlyReader(editor, s.getOutput(0));
                    if (s == null) {
                        return false;
                    }
                    if (s.getOpType().equals("Softmax")) {
                        return true;
                    }
                    if (!SCORE_OPS.contains(s.getOpType())) {
                        return false;
                    }
                }
                return false;
            }
            if (!HEAD_LAYOUT_OPS.contains(next.getOpType())) {
                return false;
            }
            cur = next;
        }
        return false;
    }

    /** The one node reading {@code tensor}, not counting Shape nodes; null when none or several. */
    private static OnnxMl.NodeProto onlyReader(GraphEditor editor, String tensor) {
        OnnxMl.NodeProto only = null;
        for (OnnxMl.NodeProto n : editor.consumers(tensor)) {
            if (n.getOpType().equals("Shape")) {
                continue;
            }
            if (only != null) {
                return null;
            }
            only = n;
        }
        return only;
    }

    /** The MatMul produces a graph output, directly or through its only reader, an Add. */
    private static boolean isLmHead(GraphEditor editor, OnnxMl.NodeProto node) {
        String out = node.getOutput(0);
        if (editor.isGraphOutput(out)) {
            return true;
        }
        List<OnnxMl.NodeProto> readers = editor.consumers(out);
        return readers.size() == 1 && readers.get(0).getOpType().equals("Add")
            && editor.isGraphOutput(readers.get(0).getOutput(0));
    }
}
