package dev.quantflow.profiler.service;

/**
 * How a model is profiled.
 *
 * @param batchSize           batch of the latency percentiles (usually 1)
 * @param throughputBatchSize batch of the throughput runs; {@code null} = 64 for models whose inputs are all
 *                            floating point (vision), 8 when an input takes integers (token ids: text)
 * @param sequenceLength      fills every dynamic dimension other than the first (batch) one
 * @param vocabSize           integer inputs get token ids uniform in {@code [0, vocabSize)}; {@code null} = [0, 100)
 * @param intraOpThreads      ONNX Runtime intra-op threads (1 = single-core figures, comparable across hosts)
 * @param warmupRuns          untimed runs before each timed series (first-run allocations, caches, lazy kernels)
 * @param measuredRuns        timed runs per series
 * @param measureMemory       whether to measure peak memory in a fresh child JVM (takes a few seconds)
 * @param seed                seed of the synthetic inputs
 */
public record ProfileOptions(int batchSize, Integer throughputBatchSize, int sequenceLength, Integer vocabSize,
                             int intraOpThreads, int warmupRuns, int measuredRuns, boolean measureMemory, long seed) {

    public static final int VISION_THROUGHPUT_BATCH = 64;
    public static final int TEXT_THROUGHPUT_BATCH = 8;

    public ProfileOptions {
        if (batchSize < 1 || (throughputBatchSize != null && throughputBatchSize < 1) || sequenceLength < 1
            || (vocabSize != null && vocabSize < 1) || intraOpThreads < 1 || warmupRuns < 0 || measuredRuns < 1) {
            throw new IllegalArgumentException("invalid profile options: batchSize=" + batchSize + ", throughputBatchSize="
                + throughputBatchSize + ", sequenceLength=" + sequenceLength + ", vocabSize=" + vocabSize + ", intraOpThreads="
                + intraOpThreads + ", warmupRuns=" + warmupRuns + ", measuredRuns=" + measuredRuns);
        }
    }

    /** Batch 1, default throughput batch, sequence length 128, 1 thread, 5 warm-up and 50 timed runs, memory on. */
    public static ProfileOptions defaults() {
        return new ProfileOptions(1, null, 128, null, 1, 5, 50, true, 42L);
    }

    public ProfileOptions withThroughputBatchSize(Integer n) {
        return new ProfileOptions(batchSize, n, sequenceLength, vocabSize, intraOpThreads, warmupRuns, measuredRuns, measureMemory, seed);
    }

    public ProfileOptions withSequenceLength(int n) {
        return new ProfileOptions(batchSize, throughputBatchSize, n, vocabSize, intraOpThreads, warmupRuns, measuredRuns, measureMemory, seed);
    }

    public ProfileOptions withVocabSize(Integer n) {
        return new ProfileOptions(batchSize, throughputBatchSize, sequenceLength, n, intraOpThreads, warmupRuns, measuredRuns, measureMemory, seed);
    }

    public ProfileOptions withIntraOpThreads(int n) {
        return new ProfileOptions(batchSize, throughputBatchSize, sequenceLength, vocabSize, n, warmupRuns, measuredRuns, measureMemory, seed);
    }

    public ProfileOptions withRuns(int warmup, int measured) {
        return new ProfileOptions(batchSize, throughputBatchSize, sequenceLength, vocabSize, intraOpThreads, warmup, measured, measureMemory, seed);
    }

    public ProfileOptions withBatchSize(int n) {
        return new ProfileOptions(n, throughputBatchSize, sequenceLength, vocabSize, intraOpThreads, warmupRuns, measuredRuns, measureMemory, seed);
    }

    public ProfileOptions withMeasureMemory(boolean on) {
        return new ProfileOptions(batchSize, throughputBatchSize, sequenceLength, vocabSize, intraOpThreads, warmupRuns, measuredRuns, on, seed);
    }
}
