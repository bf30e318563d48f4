package dev.quantflow.runtime.eval;

import java.util.List;

/**
 * What an evaluation measured; field names are those of the JSON report.
 *
 * @param sizeBytes size of the serialized model
 * @param samples samples in the accuracy pass
 * @param accuracy top-1 accuracy against {@code labels}; null when the data has no labels
 * @param predictions top-1 class (argmax of the output) per sample; -1 where every output value was NaN
 * @param latency one entry per timed batch size
 * @param peakRamMb memory the evaluation added to the process at its peak (see {@link ModelEvaluator}); null when
 *                  the platform cannot measure it
 */
public record EvalResult(long sizeBytes, int samples, Double accuracy, int[] predictions, List<LatencyStats> latency,
                         Double peakRamMb) {

    /**
     * Timing of one batch size.
     *
     * @param batchSize samples per run
     * @param runs timed runs
     * @param p50Ms median run time (nearest rank)
     * @param p95Ms 95th percentile run time (nearest rank)
     * @param meanMs mean run time
     * @param samplesPerSecond {@code batchSize / meanMs * 1000}
     */
    public record LatencyStats(int batchSize, int runs, double p50Ms, double p95Ms, double meanMs, double samplesPerSecond) {
    }
}
