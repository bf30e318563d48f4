package dev.quantflow.runtime.text;

import java.util.Objects;

/**
 * One sample of a text data file.
 *
 * @param text the text, as in the file (not normalized; the tokenizer does that)
 * @param label class index from a JSONL {@code label}; null when the file has none
 */
public record TextSample(String text, Long label) {

    public TextSample {
        Objects.requireNonNull(text, "text");
    }

    public static TextSample of(String text) {
        return new TextSample(text, null);
    }
}
