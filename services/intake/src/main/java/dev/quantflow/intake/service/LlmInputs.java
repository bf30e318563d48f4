package dev.quantflow.intake.service;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;

import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.npz.NpzWriter;
import dev.quantflow.runtime.text.TextDatasets;
import dev.quantflow.runtime.text.TextFormat;

/**
 * Data of causal-LM jobs (the 4-bit path). Both sets become token ids:
 * <ul>
 *   <li>calibration → {@code input_ids} [n, context]: windows cut from one token stream (or given as such);</li>
 *   <li>validation → {@code tokens} [L]: the held-out token stream, which the validator cuts into non-overlapping
 *       windows of the context length for perplexity.</li>
 * </ul>
 * Accepted forms: an {@code .npz} with {@code tokens} (1-D) or {@code input_ids} (2-D, rows are windows), or text
 * (one passage per line, or JSONL) with the model's {@code tokenizer.json}, joined by newlines into one stream.
 */
final class LlmInputs {

    static final String TOKENS = "tokens";
    static final String INPUT_IDS = "input_ids";
    /** At most this many calibration windows are kept (GPTQ's usual 128 × 2048 tokens is far more than needed here). */
    static final int MAX_CALIBRATION_WINDOWS = 256;

    private LlmInputs() {
    }

    static ModelInspector.LmShape shape(OnnxModel model) {
        ModelInspector.LmShape shape = ModelInspector.languageModelShape(model);
        if (shape.vocabSize() <= 0) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_MODEL, "the 4-bit LLM path needs a causal language "
                + "model (token ids in, logits over the vocabulary out); this model has no token embedding table");
        }
        if (shape.contextLength() <= 0) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_MODEL, "the model's context length cannot be read "
                + "from the graph (no fixed sequence length and no learned position table)");
        }
        return shape;
    }

    /** Calibration data → npz {@code input_ids} [n, context]. */
    static byte[] calibrationNpz(OnnxModel model, byte[] data, String fileName, byte[] tokenizerJson) {
        ModelInspector.LmShape shape = shape(model);
        int ctx = shape.contextLength();
        long[] windows;
        int rows;
        int width;
        NpzArchive npz = TextInputs.isNpz(data) ? read(data, "calibration data") : null;
        if (npz != null && npz.contains(INPUT_IDS) && npz.array(INPUT_IDS).rank() == 2) {
            NdArray ids = npz.array(INPUT_IDS);
            rows = ids.rows();
            width = (int) ids.shape()[1];
            if (width > ctx) {
                throw new RejectedInputException(422, ReasonCodes.DATASET_MISMATCH, "calibration data: windows of " + width
                    + " tokens are longer than the model's context of " + ctx);
            }
            windows = ids.toLongs();
        } else {
            long[] stream = stream(npz, data, fileName, tokenizerJson, "calibration data");
            rows = (int) Math.min(MAX_CALIBRATION_WINDOWS, stream.length / ctx);
            width = ctx;
            if (rows < 1) {
                throw new RejectedInputException(422, ReasonCodes.INVALID_DATASET, "calibration data: " + stream.length
                    + " tokens are fewer than one window of the model's context (" + ctx + " tokens)");
            }
            windows = Arrays.copyOf(stream, rows * ctx);
        }
        checkIds(windows, shape.vocabSize(), "calibration data");
        return write(NdArray.ofLongs(INPUT_IDS, windows, rows, width));
    }

    /** Validation data → npz {@code tokens} [L] with at least one perplexity window (context + 1 tokens). */
    static byte[] validationNpz(OnnxModel model, byte[] data, String fileName, byte[] tokenizerJson) {
        ModelInspector.LmShape shape = shape(model);
        NpzArchive npz = TextInputs.isNpz(data) ? read(data, "validation data") : null;
        long[] stream;
        if (npz != null && npz.contains(INPUT_IDS) && !npz.contains(TOKENS)) {
            stream = npz.array(INPUT_IDS).toLongs(); // rows of held-out text, read as one stream
        } else {
            stream = stream(npz, data, fileName, tokenizerJson, "validation data");
        }
        if (stream.length < shape.contextLength() + 1) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_DATASET, "validation data: " + stream.length
                + " held-out tokens are fewer than one perplexity window (" + (shape.contextLength() + 1) + " tokens)");
        }
        checkIds(stream, shape.vocabSize(), "validation data");
        return write(NdArray.ofLongs(TOKENS, stream, stream.length));
    }

    private static long[] stream(NpzArchive npz, byte[] data, String fileName, byte[] tokenizerJson, String what) {
        if (npz != null) {
            NdArray tokens = npz.get(TOKENS).orElseThrow(() -> new RejectedInputException(422, ReasonCodes.DATASET_MISMATCH,
                what + ": a causal-LM .npz needs 'tokens' (1-D token ids) or 'input_ids' (2-D windows); it has "
                    + npz.names()));
            if (!tokens.isInteger()) {
                throw new RejectedInputException(422, ReasonCodes.DATASET_MISMATCH, what + ": 'tokens' must hold integers");
            }
            return tokens.toLongs();
        }
        if (tokenizerJson == null) {
            throw new RejectedInputException(400, ReasonCodes.MISSING_INPUT, what + " is not an .npz file; text data needs "
                + "the model's tokenizer.json as the 'tokenizer' part");
        }
        try {
            var samples = TextDatasets.readLines(new ByteArrayInputStream(data),
                TextFormat.fromFileName(fileName == null ? "" : fileName));
            return TextDatasets.encodeStream(tokenizerJson, samples, "\n");
        } catch (DatasetException e) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_DATASET, what + ": " + e.getMessage());
        }
    }

    private static void checkIds(long[] ids, long vocab, String what) {
        for (long id : ids) {
            if (id < 0 || id >= vocab) {
                throw new RejectedInputException(422, ReasonCodes.DATASET_MISMATCH, what + ": token id " + id
                    + " is outside the model's vocabulary of " + vocab + " (was the data tokenized with another tokenizer?)");
            }
        }
    }

    private static NpzArchive read(byte[] data, String what) {
        try {
            return NpzArchive.read(new ByteArrayInputStream(data));
        } catch (DatasetException e) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_DATASET, what + ": " + e.getMessage());
        }
    }

    private static byte[] write(NdArray array) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NpzWriter.write(out, List.of(array), true);
        return out.toByteArray();
    }
}
