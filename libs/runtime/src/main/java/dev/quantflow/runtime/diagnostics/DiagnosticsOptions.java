package dev.quantflow.runtime.diagnostics;

/**
 * How a per-layer comparison runs.
 *
 * @param maxSamples     compare on the first {@code maxSamples} samples of the file, in file order; 0 = all
 *                       (default 64: two batches, enough for stable dB figures and cheap, since every compared tensor
 *                       of both models is fetched)
 * @param batchSize      samples per model run (default 32); the result does not depend on it beyond float rounding
 * @param intraOpThreads ONNX Runtime threads inside one operator (default 1)
 */
public record DiagnosticsOptions(int maxSamples, int batchSize, int intraOpThreads) {

    public DiagnosticsOptions {
        if (maxSamples < 0) {
            throw new IllegalArgumentException("maxSamples must be >= 0 (0 = all), was " + maxSamples);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize);
        }
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, was " + intraOpThreads);
        }
    }

    /** 64 samples, batches of 32, 1 thread. */
    public static DiagnosticsOptions defaults() {
        return new DiagnosticsOptions(64, 32, 1);
    }

    public DiagnosticsOptions withMaxSamples(int n) {
        return new DiagnosticsOptions(n, batchSize, intraOpThreads);
    }

    public DiagnosticsOptions withBatchSize(int n) {
        return new DiagnosticsOptions(maxSamples, n, intraOpThreads);
    }

    public DiagnosticsOptions withIntraOpThreads(int n) {
        return new DiagnosticsOptions(maxSamples, batchSize, n);
    }
}
