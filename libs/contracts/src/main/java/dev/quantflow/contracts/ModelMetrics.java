package dev.quantflow.contracts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One model (fp32 or quantized) measured by the validator. Classifiers and encoders fill the first group; causal
 * LMs the second (perplexity on held-out tokens, greedy decode speed at batch 1).
 *
 * @param accuracy     top-1 accuracy in [0, 1]; absent without labels
 * @param latencyBatch1 latency at batch 1
 * @param latencyBatchN latency at the validator's larger batch
 * @param peakRamMb    peak resident memory while the model ran
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelMetrics(
    Long sizeBytes,
    Integer samples,
    Double accuracy,
    Latency latencyBatch1,
    Latency latencyBatchN,
    Double peakRamMb,
    // causal LMs
    Double perplexity,
    Long heldOutTokens,
    Integer windows,
    Integer context,
    Double decodeTokensPerSecond,
    Double decodeP50Ms,
    Double decodeP95Ms,
    Double prefillTokensPerSecond,
    Integer intraOpThreads) {

    /** Latency over {@code runs} timed runs of one batch size (warm-up excluded). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Latency(Integer batchSize, Integer runs, Double p50Ms, Double p95Ms, Double meanMs,
                          Double samplesPerSecond) {
    }

    public static ModelMetrics classifier(long sizeBytes, int samples, Double accuracy, Latency latencyBatch1,
                                          Latency latencyBatchN, Double peakRamMb) {
        return new ModelMetrics(sizeBytes, samples, accuracy, latencyBatch1, latencyBatchN, peakRamMb, null, null, null,
            null, null, null, null, null, null);
    }

    public static ModelMetrics languageModel(long sizeBytes, double perplexity, long heldOutTokens, int windows, int context,
                                             double decodeTokensPerSecond, double decodeP50Ms, double decodeP95Ms,
                                             double prefillTokensPerSecond, int intraOpThreads) {
        return new ModelMetrics(sizeBytes, null, null, null, null, null, perplexity, heldOutTokens, windows, context,
            decodeTokensPerSecond, decodeP50Ms, decodeP95Ms, prefillTokensPerSecond, intraOpThreads);
    }

    /** p50 at batch 1, or null. */
    public Double latencyBatch1P50Ms() {
        return latencyBatch1 == null ? null : latencyBatch1.p50Ms();
    }
}
