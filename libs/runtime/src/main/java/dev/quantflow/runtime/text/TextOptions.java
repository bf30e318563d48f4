package dev.quantflow.runtime.text;

/**
 * How texts become model inputs.
 *
 * @param maxLength tokens per sample (special tokens included); null = the longest sample of the set, capped at the
 *                  model's limit (see {@link TextDatasets}). A model input with a fixed sequence dimension always
 *                  decides the length, and a different {@code maxLength} is an error.
 * @param padSide where padding goes: {@link PadSide#RIGHT} as BERT-style encoders expect, {@link PadSide#LEFT} for
 *                models that read the last position (e.g. an LSTM classifier on its final hidden state)
 * @param addSpecialTokens whether the tokenizer's post-processor adds its special tokens ({@code [CLS] … [SEP]})
 */
public record TextOptions(Integer maxLength, PadSide padSide, boolean addSpecialTokens) {

    /** Side on which short samples are padded. Truncation always keeps the start of the text. */
    public enum PadSide { RIGHT, LEFT }

    public TextOptions {
        if (maxLength != null && maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be >= 1, was " + maxLength);
        }
        if (padSide == null) {
            throw new IllegalArgumentException("padSide must be set");
        }
    }

    /** Longest sample (capped), right padding, special tokens added. */
    public static TextOptions defaults() {
        return new TextOptions(null, PadSide.RIGHT, true);
    }

    public TextOptions withMaxLength(Integer n) {
        return new TextOptions(n, padSide, addSpecialTokens);
    }

    public TextOptions withPadSide(PadSide side) {
        return new TextOptions(maxLength, side, addSpecialTokens);
    }

    public TextOptions withAddSpecialTokens(boolean add) {
        return new TextOptions(maxLength, padSide, add);
    }
}
