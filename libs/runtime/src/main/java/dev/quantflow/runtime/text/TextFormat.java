package dev.quantflow.runtime.text;

import java.util.Locale;

/** How a text data file holds its samples. */
public enum TextFormat {

    /** One sample per line, UTF-8; blank lines are skipped; no labels. */
    PLAIN,

    /**
     * JSON Lines, UTF-8: one object per line, {@code {"text": "...", "label": 3}}; {@code label} (an integer class
     * index) is optional but must then be on every line. Blank lines are skipped; other keys are ignored.
     */
    JSONL;

    /** {@link #JSONL} for a name ending in {@code .jsonl} or {@code .ndjson} (any case), else {@link #PLAIN}. */
    public static TextFormat fromFileName(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        return lower.endsWith(".jsonl") || lower.endsWith(".ndjson") ? JSONL : PLAIN;
    }
}
