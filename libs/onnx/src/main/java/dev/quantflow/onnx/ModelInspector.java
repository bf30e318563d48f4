package dev.quantflow.onnx;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.onnx.proto.OnnxMl;

/**
 * Tells what kind of model a graph is, for {@code --method auto} (the workflow's "model type?" node): vision
 * (convolution-dominated → static INT8), NLP encoder or recurrent (→ dynamic INT8), a dense network without sequence
 * signs (→ static INT8), decoder-only causal language model (→ the 4-bit LLM path).
 *
 * <p><b>By compute</b>, when the shapes allow a complete {@link MacEstimator} count: the op family with the largest
 * share of the multiply-accumulates decides, and the reason gives the numbers ("Conv 94.2% of 17.3 M MACs"):
 * <ul>
 *   <li>convolution → vision;</li>
 *   <li>recurrent (LSTM/GRU/RNN) → recurrent;</li>
 *   <li>attention (activation × activation MatMul, attention ops) → NLP encoder;</li>
 *   <li>MatMul/Gemm with weights → NLP encoder when the graph shows sequence signs (an integer token input, an
 *       embedding Gather from a 2-D weight table, LayerNormalization as an op or as its decomposed
 *       {@code x − ReduceMean(x)} pattern), else dense.</li>
 * </ul>
 * A tiny MatMul + Softmax classifier head on a CNN thus no longer makes it a "transformer".
 *
 * <p><b>By structure</b>, when the estimate is not available (a Conv/MatMul/recurrent node without a known shape,
 * typically dynamic dimensions the caller gave no shapes for); the reason says so:
 * <ul>
 *   <li>an LSTM, GRU or RNN node → recurrent;</li>
 *   <li>more multiply-accumulate work in Conv than in MatMul/Gemm (estimated from the sizes of their weights,
 *       initializers or {@code Constant} nodes) → vision;</li>
 *   <li>MatMul/Gemm with Softmax (attention) or an integer token input → NLP encoder;</li>
 *   <li>anything else → unknown (static INT8 is the fallback).</li>
 * </ul>
 * Either way, an integer token input and a rank-3 float output whose last dimension equals the row count of an
 * embedding table the graph gathers from (a language-model head over the vocabulary) → decoder-only causal LM
 * (unless recurrence dominates the compute).
 */
public final class ModelInspector {

    public enum Family {
        VISION, NLP_ENCODER, RECURRENT, DENSE, DECODER_LLM, UNKNOWN
    }

    /**
     * The verdict and why, in words for the report.
     *
     * @param macs the compute estimate the verdict was made with; null when it was decided by structure because the
     *             estimate was not available (see {@link #estimate})
     * @param estimate the estimate as counted (possibly incomplete), null only when none was attempted
     */
    public record Kind(Family family, String reason, MacEstimate macs, MacEstimate estimate) {
        public Kind(Family family, String reason) {
            this(family, reason, null, null);
        }

        /** True when the family was decided by the MAC shares. */
        public boolean byCompute() {
            return macs != null;
        }
    }

    private static final Set<String> RECURRENT = Set.of("LSTM", "GRU", "RNN");
    private static final Set<String> LAYER_NORMS = Set.of("LayerNormalization", "SimplifiedLayerNormalization",
        "SkipLayerNormalization", "SkipSimplifiedLayerNormalization");

    private ModelInspector() {
    }

    /** {@link #inspect(OnnxModel, Map)} with only the shapes the model declares. */
    public static Kind inspect(OnnxModel model) {
        return inspect(model, Map.of());
    }

    /**
     * @param shapes tensor shapes known to the caller (e.g. from one ONNX Runtime run with every intermediate as an
     *               output); may be empty
     */
    public static Kind inspect(OnnxModel model, Map<String, long[]> shapes) {
        Kind inSubgraphs = computeInSubgraphs(model);
        if (inSubgraphs != null) {
            return inSubgraphs;
        }
        MacEstimate estimate = MacEstimator.estimate(model, shapes);
        Map<String, Integer> ops = new HashMap<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            ops.merge(n.getOpType(), 1, Integer::sum);
        }
        boolean usable = estimate.complete() && estimate.dominant().isPresent();
        if (usable && estimate.dominant().get() == MacEstimator.OpFamily.RECURRENT) {
            List<String> cells = new ArrayList<>();
            for (String r : List.of("LSTM", "GRU", "RNN")) {
                if (ops.containsKey(r)) {
                    cells.add(ops.get(r) + " " + r);
                }
            }
            return byCompute(Family.RECURRENT, estimate, String.join(", ", cells) + " node(s): recurrent network");
        }
        Map<String, OnnxMl.TensorProto> inits = model.initializers();
        boolean tokenInput = tokenInput(model);
        if (!usable) {
            for (String r : RECURRENT) {
                if (ops.containsKey(r)) {
                    return byStructure(Family.RECURRENT, ops.get(r) + " " + r + " node(s): recurrent network", estimate);
                }
            }
        }
        long vocab = -1;
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Gather") && n.getInputCount() > 0 && inits.containsKey(n.getInput(0))) {
                var dims = inits.get(n.getInput(0)).getDimsList();
                if (dims.size() == 2) {
                    vocab = Math.max(vocab, dims.get(0));
                }
            }
        }
        if (tokenInput && vocab > 0) {
            for (OnnxModel.ValueInfo out : model.outputs()) {
                long[] s = out.shape();
                if (out.elemType() == OnnxMl.TensorProto.DataType.FLOAT.getNumber() && s.length == 3 && s[2] == vocab) {
                    return new Kind(Family.DECODER_LLM, "token input and output '" + out.name() + "' over the " + vocab
                        + "-entry vocabulary: a language-model head (decoder-only causal LM)", usable ? estimate : null,
                        estimate);
                }
            }
        }
        if (usable) {
            return switch (estimate.dominant().get()) {
                case CONVOLUTION -> byCompute(Family.VISION, estimate, "vision model");
                case ATTENTION -> byCompute(Family.NLP_ENCODER, estimate, "attention: transformer / NLP encoder");
                case MATMUL -> {
                    List<String> signs = sequenceSigns(model, tokenInput, ops);
                    yield signs.isEmpty()
                        ? byCompute(Family.DENSE, estimate, "no sequence signs (token input, embedding Gather, "
                            + "LayerNormalization): dense network")
                        : byCompute(Family.NLP_ENCODER, estimate, String.join(", ", signs)
                            + ": transformer / NLP encoder");
                }
                default -> throw new IllegalStateException("dominant() is never OTHER");
            };
        }
        Map<String, Long> weightSizes = new HashMap<>();
        inits.forEach((name, t) -> weightSizes.put(name, elements(t)));
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Constant") && n.getOutputCount() == 1) {
                Nodes.attribute(n, "value").ifPresent(a -> weightSizes.put(n.getOutput(0), elements(a.getT())));
            }
        }
        long convMacs = 0;
        long matmulMacs = 0;
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            long w = n.getInputCount() > 1 ? weightSizes.getOrDefault(n.getInput(1), 0L) : 0;
            switch (n.getOpType()) {
                case "Conv", "ConvTranspose" -> convMacs += w * 64; // a weight is reused over many output positions
                case "MatMul", "Gemm" -> matmulMacs += w;
                default -> { }
            }
        }
        if (convMacs > 0 && convMacs >= matmulMacs) {
            return byStructure(Family.VISION, ops.getOrDefault("Conv", 0)
                + " Conv node(s) carry most of the compute: vision model", estimate);
        }
        int matmuls = ops.getOrDefault("MatMul", 0) + ops.getOrDefault("Gemm", 0);
        if (matmuls > 0 && (ops.containsKey("Softmax") || tokenInput)) {
            return byStructure(Family.NLP_ENCODER, matmuls + " MatMul/Gemm node(s)"
                + (ops.containsKey("Softmax") ? " with attention (Softmax)" : "")
                + (tokenInput ? " over token inputs" : "") + ": transformer / NLP encoder", estimate);
        }
        return byStructure(Family.UNKNOWN, "no convolution, attention or recurrence recognized", estimate);
    }

    private static Kind byCompute(Family family, MacEstimate estimate, String what) {
        return new Kind(family, estimate.summary() + ": " + what, estimate, estimate);
    }

    private static final Set<String> COMPUTE = Set.of("Conv", "ConvTranspose", "MatMul", "Gemm", "LSTM", "GRU", "RNN");

    /**
     * A model whose main graph has no compute op while its If/Loop/Scan bodies do (Silero VAD: the whole network
     * inside {@code If(sr == 16000)}): static calibration cannot observe tensors inside subgraphs, dynamic
     * quantization needs no observation (weights ahead of time, activations at run time) and reaches into them.
     * Null for any other model.
     */
    private static Kind computeInSubgraphs(OnnxModel model) {
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (COMPUTE.contains(n.getOpType())) {
                return null;
            }
        }
        Map<String, Integer> ops = new java.util.TreeMap<>();
        int[] bodies = {0};
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            countInBodies(n, ops, bodies);
        }
        if (ops.isEmpty()) {
            return null;
        }
        boolean recurrent = ops.keySet().stream().anyMatch(RECURRENT::contains);
        StringBuilder list = new StringBuilder();
        ops.forEach((op, c) -> list.append(list.isEmpty() ? "" : ", ").append(c).append(' ').append(op));
        return new Kind(recurrent ? Family.RECURRENT : Family.NLP_ENCODER, "the compute sits inside " + bodies[0]
            + " If/Loop/Scan subgraph(s) (" + list + "; none in the main graph): calibration cannot observe tensors "
            + "inside subgraphs, dynamic quantization (weights ahead, activations at run time) reaches them");
    }

    private static void countInBodies(OnnxMl.NodeProto n, Map<String, Integer> ops, int[] bodies) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            List<OnnxMl.GraphProto> graphs = new ArrayList<>(a.getGraphsList());
            if (a.hasG()) {
                graphs.add(a.getG());
            }
            for (OnnxMl.GraphProto g : graphs) {
                bodies[0]++;
                for (OnnxMl.NodeProto sub : g.getNodeList()) {
                    if (COMPUTE.contains(sub.getOpType())) {
                        ops.merge(sub.getOpType(), 1, Integer::sum);
                    }
                    countInBodies(sub, ops, bodies);
                }
            }
        }
    }

    private static Kind byStructure(Family family, String reason, MacEstimate estimate) {
        String why = estimate.dominant().isEmpty() && estimate.complete()
            ? "no Conv, MatMul/Gemm, attention or recurrent node counted"
            : estimate.missing();
        return new Kind(family, reason + " (MAC estimate not available: " + why + ")", null, estimate);
    }

    private static boolean tokenInput(OnnxModel model) {
        return model.inputs().stream().anyMatch(i -> i.elemType() == OnnxMl.TensorProto.DataType.INT64.getNumber()
            || i.elemType() == OnnxMl.TensorProto.DataType.INT32.getNumber());
    }

    /**
     * Signs that a MatMul network works on sequences of tokens: an integer graph input, a Gather from a 2-D
     * initializer (an embedding table), LayerNormalization (an op, or {@code x − ReduceMean(x)} feeding on the same
     * {@code x}, as older exports decompose it).
     */
    static List<String> sequenceSigns(OnnxModel model, boolean tokenInput, Map<String, Integer> ops) {
        List<String> signs = new ArrayList<>();
        if (tokenInput) {
            signs.add("integer token input");
        }
        Map<String, OnnxMl.TensorProto> inits = model.initializers();
        Map<String, String> reduceMeanInput = new HashMap<>();
        boolean embedding = false;
        boolean decomposedNorm = false;
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Gather") && n.getInputCount() > 1 && inits.containsKey(n.getInput(0))
                && inits.get(n.getInput(0)).getDimsCount() == 2 && !inits.containsKey(n.getInput(1))) {
                embedding = true;
            }
            if (n.getOpType().equals("ReduceMean") && n.getInputCount() > 0) {
                reduceMeanInput.put(n.getOutput(0), n.getInput(0));
            }
            if (n.getOpType().equals("Sub") && n.getInputCount() == 2
                && n.getInput(0).equals(reduceMeanInput.get(n.getInput(1)))) {
                decomposedNorm = true;
            }
        }
        if (embedding) {
            signs.add("embedding Gather");
        }
        int norms = 0;
        for (String op : LAYER_NORMS) {
            norms += ops.getOrDefault(op, 0);
        }
        if (norms > 0 || decomposedNorm) {
            signs.add("LayerNormalization");
        }
        return signs;
    }

    /** Vocabulary size and context length of a causal LM; {@code contextLength} 0 when the graph does not tell. */
    public record LmShape(long vocabSize, int contextLength) {
    }

    /**
     * The vocabulary (rows of the largest embedding table the graph gathers from) and the context length: the fixed
     * sequence dimension of the token input when there is one, else the rows of a second, smaller table of the same
     * width that is gathered from or sliced (learned position embeddings). Rotary or sinusoidal models without such a
     * table report 0.
     */
    public static LmShape languageModelShape(OnnxModel model) {
        Map<String, OnnxMl.TensorProto> inits = model.initializers();
        long vocab = -1;
        long positions = -1;
        java.util.List<Long> tables = new java.util.ArrayList<>();
        long width = -1;
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Gather") && n.getInputCount() > 0 && inits.containsKey(n.getInput(0))) {
                var dims = inits.get(n.getInput(0)).getDimsList();
                if (dims.size() == 2) {
                    tables.add(dims.get(0));
                    if (dims.get(0) > vocab) {
                        vocab = dims.get(0);
                        width = dims.get(1);
                    }
                }
            }
        }
        for (long rows : tables) {
            if (rows < vocab) {
                positions = Math.max(positions, rows);
            }
        }
        // A learned position table can also be sliced to the sequence length (pos[:T]) instead of gathered.
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Slice") && n.getInputCount() > 0 && inits.containsKey(n.getInput(0))) {
                var dims = inits.get(n.getInput(0)).getDimsList();
                if (dims.size() == 2 && dims.get(1) == width && dims.get(0) < vocab) {
                    positions = Math.max(positions, dims.get(0));
                }
            }
        }
        int context = 0;
        for (OnnxModel.ValueInfo in : model.inputs()) {
            long[] shape = in.shape();
            if ((in.elemType() == OnnxMl.TensorProto.DataType.INT64.getNumber()
                || in.elemType() == OnnxMl.TensorProto.DataType.INT32.getNumber()) && shape.length == 2 && shape[1] > 0) {
                context = (int) shape[1];
            }
        }
        if (context == 0 && positions > 0) {
            context = (int) positions;
        }
        return new LmShape(vocab, context);
    }

    private static long elements(OnnxMl.TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) {
            n *= d;
        }
        return n;
    }
}
