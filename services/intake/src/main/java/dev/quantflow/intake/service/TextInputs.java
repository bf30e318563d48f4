package dev.quantflow.intake.service;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NpzWriter;
import dev.quantflow.runtime.text.TextDatasets;
import dev.quantflow.runtime.text.TextFormat;
import dev.quantflow.runtime.text.TextOptions;

/**
 * Text calibration/validation data: plain text (one sample per line) or JSONL ({@code {"text": …, "label": …}}),
 * tokenized with the {@code tokenizer.json} sent with the request into the same {@code .npz} the rest of the
 * pipeline reads (one int64 array per model input). A file that is already an {@code .npz} (a zip) passes through.
 */
final class TextInputs {

    private TextInputs() {
    }

    static boolean isNpz(byte[] data) {
        return data.length >= 2 && data[0] == 'P' && data[1] == 'K';
    }

    /**
     * @param fileName decides the format: {@code .jsonl}/{@code .ndjson} → JSONL, anything else → one sample per line
     */
    static byte[] toNpz(OnnxModel model, byte[] data, String fileName, byte[] tokenizerJson, String what) {
        if (data == null || isNpz(data)) {
            return data;
        }
        if (tokenizerJson == null) {
            throw new RejectedInputException(400, ReasonCodes.MISSING_INPUT, what + " is not an .npz file; text data needs "
                + "the model's tokenizer.json as the 'tokenizer' part");
        }
        try {
            var samples = TextDatasets.readLines(new ByteArrayInputStream(data), TextFormat.fromFileName(fileName == null ? "" : fileName));
            var tokenized = TextDatasets.encode(model, tokenizerJson, samples, TextOptions.defaults());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            NpzWriter.write(out, tokenized.archive().arrays(), true);
            return out.toByteArray();
        } catch (DatasetException e) {
            throw new RejectedInputException(422, ReasonCodes.INVALID_DATASET, what + ": " + e.getMessage());
        }
    }
}
