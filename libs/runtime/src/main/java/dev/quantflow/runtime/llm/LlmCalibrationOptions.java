package dev.quantflow.runtime.llm;

/**
 * How {@link LlmCalibration} runs.
 *
 * @param batchSize windows per ONNX Runtime run
 * @param maxSampleRows rows (tokens) each tensor's reservoir sample keeps for AWQ's scale search
 * @param seed seed of every tensor's reservoir; one seed for all, so all tensors sample the same tokens
 * @param maxWindows windows used, from the start of the data; 0 = all
 * @param intraOpThreads ONNX Runtime threads inside one operator
 */
public record LlmCalibrationOptions(int batchSize, int maxSampleRows, long seed, int maxWindows, int intraOpThreads) {

    public static final int DEFAULT_BATCH_SIZE = 4;
    public static final int DEFAULT_MAX_SAMPLE_ROWS = 512;
    public static final long DEFAULT_SEED = 0x5EED_0001L;

    public LlmCalibrationOptions {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize);
        }
        if (maxSampleRows < 0) {
            throw new IllegalArgumentException("maxSampleRows must be >= 0, was " + maxSampleRows);
        }
        if (maxWindows < 0) {
            throw new IllegalArgumentException("maxWindows must be >= 0 (0 = all), was " + maxWindows);
        }
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, was " + intraOpThreads);
        }
    }

    /** Batches of 4 windows, 512 sampled rows, the fixed default seed, all windows, one thread. */
    public static LlmCalibrationOptions defaults() {
        return new LlmCalibrationOptions(DEFAULT_BATCH_SIZE, DEFAULT_MAX_SAMPLE_ROWS, DEFAULT_SEED, 0, 1);
    }

    public LlmCalibrationOptions withBatchSize(int n) {
        return new LlmCalibrationOptions(n, maxSampleRows, seed, maxWindows, intraOpThreads);
    }

    public LlmCalibrationOptions withMaxSampleRows(int n) {
        return new LlmCalibrationOptions(batchSize, n, seed, maxWindows, intraOpThreads);
    }

    public LlmCalibrationOptions withSeed(long s) {
        return new LlmCalibrationOptions(batchSize, maxSampleRows, s, maxWindows, intraOpThreads);
    }

    public LlmCalibrationOptions withMaxWindows(int n) {
        return new LlmCalibrationOptions(batchSize, maxSampleRows, seed, n, intraOpThreads);
    }

    public LlmCalibrationOptions withIntraOpThreads(int n) {
        return new LlmCalibrationOptions(batchSize, maxSampleRows, seed, maxWindows, n);
    }
}
