package dev.quantflow.contracts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The quantizer's reference model measured alongside the attempt: QAT's plain PTQ at the same settings
 * (accuracy, agreement, the share of its drop the training recovered), or the LLM pools' round-to-nearest at the
 * same bits (perplexity).
 *
 * @param recoveredFraction (q − baseline) / (fp32 − baseline) top-1; absent when the baseline lost nothing
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Baseline(String method, Long sizeBytes, Double accuracy, Double top1Agreement, Double accuracyDrop,
                       Double recoveredFraction, Double perplexity) {
}
