package dev.quantflow.runtime.text;

import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Texts turned into model inputs, with what the user should know about how.
 *
 * @param archive one array per text input of the model ({@code input_ids}, {@code attention_mask},
 *                {@code token_type_ids} as the model has them), shape [N, sequenceLength], plus {@code labels} int64
 *                [N] when every sample had a label
 * @param sequenceLength tokens per sample after padding
 * @param truncatedSamples samples that had more tokens than {@code sequenceLength} and lost their end
 * @param longestSample tokens in the longest sample before truncation was needed (at most the tokenizer's cap)
 */
public record TokenizedText(NpzArchive archive, int sequenceLength, int truncatedSamples, int longestSample) {
}
