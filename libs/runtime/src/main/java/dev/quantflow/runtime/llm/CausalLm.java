package dev.quantflow.runtime.llm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.session.OrtModels;

/**
 * The interface every LLM tool here relies on: a causal language model whose only input is {@code input_ids} int64
 * {@code [batch, seq]} and whose output {@code logits} (or, without one of that name, the first output) is float
 * {@code [batch, seq, vocab]}, where {@code logits[b, t, :]} scores the token that follows position {@code t}.
 * Models with further inputs ({@code attention_mask}, {@code position_ids}, past key/values) are refused: every tool
 * here feeds whole unpadded windows, for which such inputs would be redundant.
 *
 * @param inputName always {@code input_ids}
 * @param logitsName the logits output
 * @param staticBatch the declared batch dimension, or -1 when symbolic or undeclared
 * @param staticContext the declared sequence dimension of {@code input_ids}, or -1 when symbolic or undeclared
 * @param declaredVocab the declared last dimension of the logits, or -1 when symbolic or undeclared
 */
public record CausalLm(String inputName, String logitsName, long staticBatch, long staticContext, long declaredVocab) {

    /** Name of the token-id input. */
    public static final String INPUT_IDS = "input_ids";
    /** Preferred name of the logits output. */
    public static final String LOGITS = "logits";

    /**
     * Checks the model's signature.
     *
     * @throws ModelRunException if there is no int64 {@code input_ids}, another input, a non-float logits output, or
     *                           a declared logits rank other than 3
     */
    public static CausalLm inspect(OnnxModel model) {
        List<OnnxModel.ValueInfo> inputs = model.inputs();
        List<String> inputNames = inputs.stream().map(OnnxModel.ValueInfo::name).toList();
        OnnxModel.ValueInfo ids = inputs.stream().filter(i -> i.name().equals(INPUT_IDS)).findFirst().orElseThrow(() ->
            fail("the model has no input '" + INPUT_IDS + "' (its inputs are " + inputNames + "); a causal language "
                + "model must take int64 token ids named " + INPUT_IDS + " [batch, seq]"));
        if (ids.elemType() != OnnxMl.TensorProto.DataType.INT64.getNumber()) {
            throw fail("model input '" + INPUT_IDS + "' is " + ids.elemTypeName() + "; token ids must be int64");
        }
        long[] idsShape = ids.shape().length == 0 ? new long[] {-1, -1} : ids.shape();
        if (idsShape.length != 2) {
            throw fail("model input '" + INPUT_IDS + "' has rank " + ids.shape().length + "; it must be [batch, seq]");
        }
        if (inputs.size() > 1) {
            throw fail("the model has inputs " + inputNames + "; only models whose single input is " + INPUT_IDS
                + " are supported (no attention_mask, position_ids or past key/values)");
        }
        List<OnnxModel.ValueInfo> outputs = model.outputs();
        OnnxModel.ValueInfo logits = outputs.stream().filter(o -> o.name().equals(LOGITS)).findFirst().orElse(outputs.get(0));
        if (logits.elemType() != 0 && logits.elemType() != OnnxMl.TensorProto.DataType.FLOAT.getNumber()) {
            throw fail("output '" + logits.name() + "' is " + logits.elemTypeName() + "; logits must be float32");
        }
        long vocab = -1;
        if (logits.shape().length > 0) {
            if (logits.shape().length != 3) {
                throw fail(logitsRankMessage(logits.name(), logits.shape().length));
            }
            vocab = logits.shape()[2];
        }
        return new CausalLm(INPUT_IDS, logits.name(), idsShape[0], idsShape[1], vocab);
    }

    /**
     * The context length to use: {@code requested} if given, else the model's static sequence dimension.
     *
     * @throws IllegalArgumentException if neither is known, or they disagree
     */
    public int context(Integer requested) {
        if (requested != null) {
            if (requested < 1) {
                throw new IllegalArgumentException("context must be >= 1, was " + requested);
            }
            if (staticContext > 0 && staticContext != requested) {
                throw new IllegalArgumentException("the model's input_ids has a fixed sequence length of " + staticContext
                    + ", not " + requested);
            }
            return requested;
        }
        if (staticContext > 0) {
            return Math.toIntExact(staticContext);
        }
        throw new IllegalArgumentException("the model's sequence dimension is symbolic; give the context length");
    }

    /** Rows per run: {@code wanted}, unless the model fixes the batch dimension. */
    public int batchSize(int wanted) {
        return staticBatch > 0 ? Math.toIntExact(staticBatch) : wanted;
    }

    /**
     * The vocabulary size: the declared one, else the last dimension of the logits of a probe run on token 0.
     *
     * @throws ModelRunException if the probe fails or its logits are not rank 3
     */
    public int vocab(OrtSession session) {
        if (declaredVocab > 0) {
            return Math.toIntExact(declaredVocab);
        }
        int seq = staticContext > 0 ? Math.toIntExact(staticContext) : 1;
        int rows = staticBatch > 0 ? Math.toIntExact(staticBatch) : 1;
        try (OnnxTensor ids = idsTensor(new long[rows * seq], rows, seq);
             OrtSession.Result r = session.run(Map.of(inputName, ids), Set.of(logitsName))) {
            return Math.toIntExact(logitsShape(r.get(0), rows, seq)[2]);
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed on a one-token probe run: " + e.getMessage(), e);
        }
    }

    /**
     * A {@code [rows, seq]} int64 tensor of {@code ids} (row-major, at least {@code rows * seq} long); the caller
     * closes it.
     */
    static OnnxTensor idsTensor(long[] ids, int rows, int seq) {
        ByteBuffer bytes = ByteBuffer.allocateDirect(rows * seq * Long.BYTES).order(ByteOrder.nativeOrder());
        LongBuffer buffer = bytes.asLongBuffer();
        buffer.put(ids, 0, rows * seq).flip();
        try {
            return OnnxTensor.createTensor(OrtModels.environment(), buffer, new long[] {rows, seq});
        } catch (OrtException e) {
            throw new ModelRunException("cannot create the input_ids tensor: " + e.getMessage(), e);
        }
    }

    /**
     * Checks that a logits value is a float tensor of shape {@code [rows, seq, V]} and returns that shape.
     *
     * @throws ModelRunException otherwise
     */
    long[] logitsShape(OnnxValue value, int rows, int seq) {
        if (!(value instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT) {
            throw fail("output '" + logitsName + "' is not a float32 tensor");
        }
        long[] shape = t.getInfo().getShape();
        if (shape.length != 3) {
            throw fail(logitsRankMessage(logitsName, shape.length));
        }
        if (shape[0] != rows || shape[1] != seq || shape[2] < 1) {
            throw fail("output '" + logitsName + "' has shape " + Arrays.toString(shape) + " for input_ids [" + rows
                + ", " + seq + "]; logits must be [batch, seq, vocab]");
        }
        return shape;
    }

    /** Copies the logits into {@code into} (caller-owned, grown when too small) and returns the array holding them. */
    static float[] readLogits(OnnxValue value, float[] into) {
        FloatBuffer fb = ((OnnxTensor) value).getFloatBuffer();
        float[] out = into.length >= fb.remaining() ? into : new float[fb.remaining()];
        fb.get(out, 0, fb.remaining());
        return out;
    }

    /**
     * Checks that every id of {@code ids[from, to)} is a token of a {@code vocab}-sized vocabulary.
     *
     * @throws DatasetException naming the first id outside {@code [0, vocab)}
     */
    static void checkTokens(long[] ids, int from, int to, int vocab, String what) {
        for (int i = from; i < to; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new DatasetException("token id " + ids[i] + " at position " + i + " of " + what + " is outside the "
                    + "model's vocabulary [0, " + vocab + "); tokenize the text with the model's own tokenizer");
            }
        }
    }

    static ModelRunException fail(String message) {
        return new ModelRunException(message, null);
    }

    private static String logitsRankMessage(String name, int rank) {
        return "output '" + name + "' has rank " + rank + "; a causal language model's logits must be [batch, seq, vocab]";
    }
}
