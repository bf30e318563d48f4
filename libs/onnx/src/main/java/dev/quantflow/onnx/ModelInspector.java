package dev.quantflow.onnx;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import ai.onnx.proto.OnnxMl;

/**
 * Tells what kind of model a graph is, for {@code --method auto} (the workflow's "model type?" node): vision
 * (convolution-dominated → static INT8), NLP encoder or recurrent (→ dynamic INT8), decoder-only causal language
 * model (→ the 4-bit LLM path). Structural rules only, each stated in {@link Kind#reason}:
 * <ul>
 *   <li>an LSTM, GRU or RNN node → recurrent;</li>
 *   <li>an integer token input and a rank-3 float output whose last dimension equals the row count of an embedding
 *       table the graph gathers from (a language-model head over the vocabulary) → decoder-only causal LM;</li>
 *   <li>more multiply-accumulate work in Conv than in MatMul/Gemm (estimated from weight sizes) → vision;</li>
 *   <li>MatMul/Gemm with Softmax (attention) or an integer token input → NLP encoder;</li>
 *   <li>anything else → unknown (static INT8 is the fallback).</li>
 * </ul>
 */
public final class ModelInspector {

    public enum Family {
        VISION, NLP_ENCODER, RECURRENT, DECODER_LLM, UNKNOWN
    }

    /** The verdict and why, in words for the report. */
    public record Kind(Family family, String reason) {
    }

    private static final Set<String> RECURRENT = Set.of("LSTM", "GRU", "RNN");

    private ModelInspector() {
    }

    public static Kind inspect(OnnxModel model) {
        Map<String, Integer> ops = new HashMap<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            ops.merge(n.getOpType(), 1, Integer::sum);
        }
        for (String r : RECURRENT) {
            if (ops.containsKey(r)) {
                return new Kind(Family.RECURRENT, ops.get(r) + " " + r + " node(s): recurrent network");
            }
        }
        Map<String, OnnxMl.TensorProto> inits = model.initializers();
        boolean tokenInput = model.inputs().stream().anyMatch(i -> i.elemType() == OnnxMl.TensorProto.DataType.INT64.getNumber()
            || i.elemType() == OnnxMl.TensorProto.DataType.INT32.getNumber());
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
                        + "-entry vocabulary: a language-model head (decoder-only causal LM)");
                }
            }
        }
        long convMacs = 0;
        long matmulMacs = 0;
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            long w = n.getInputCount() > 1 && inits.containsKey(n.getInput(1)) ? elements(inits.get(n.getInput(1))) : 0;
            switch (n.getOpType()) {
                case "Conv", "ConvTranspose" -> convMacs += w * 64; // a weight is reused over many output positions
                case "MatMul", "Gemm" -> matmulMacs += w;
                default -> { }
            }
        }
        if (convMacs > 0 && convMacs >= matmulMacs) {
            return new Kind(Family.VISION, ops.getOrDefault("Conv", 0) + " Conv node(s) carry most of the compute: vision model");
        }
        int matmuls = ops.getOrDefault("MatMul", 0) + ops.getOrDefault("Gemm", 0);
        if (matmuls > 0 && (ops.containsKey("Softmax") || tokenInput)) {
            return new Kind(Family.NLP_ENCODER, matmuls + " MatMul/Gemm node(s)" + (ops.containsKey("Softmax") ? " with attention (Softmax)" : "")
                + (tokenInput ? " over token inputs" : "") + ": transformer / NLP encoder");
        }
        return new Kind(Family.UNKNOWN, "no convolution, attention or recurrence recognized");
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
