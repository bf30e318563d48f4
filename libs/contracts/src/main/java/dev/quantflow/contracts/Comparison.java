package dev.quantflow.contracts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The quantized model against fp32. Classifiers and encoders fill the first group, causal LMs the second.
 *
 * @param top1Agreement        share of samples where both models predict the same class
 * @param accuracyDrop         fp32 − quantized top-1 (absolute)
 * @param relativeAccuracyDrop accuracyDrop / fp32 top-1
 * @param sizeRatio            quantized / fp32 bytes
 * @param speedupBatch1        fp32 p50 / quantized p50 at batch 1
 * @param perplexityIncrease   (ppl_q − ppl_fp32) / ppl_fp32
 * @param increaseVsBaseline   perplexityIncrease / the round-to-nearest baseline's increase
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Comparison(
    Double top1Agreement,
    Double accuracyDrop,
    Double relativeAccuracyDrop,
    Double sizeRatio,
    Double speedupBatch1,
    Double speedupBatchN,
    // causal LMs
    Double perplexityIncrease,
    Double baselinePerplexityIncrease,
    Double increaseVsBaseline,
    Double decodeSpeedup) {

    /** Nothing compared (the quantized model did not run). */
    public static final Comparison NONE = new Comparison(null, null, null, null, null, null, null, null, null, null);
}
