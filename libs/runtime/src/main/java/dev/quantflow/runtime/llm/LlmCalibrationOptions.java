package dev.quantflow.runtime.llm;

import java.util.function.Consumer;

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
        return copy(c -> c.batchSize = n);
    }

    public LlmCalibrationOptions withMaxSampleRows(int n) {
        return copy(c -> c.maxSampleRows = n);
    }

    public LlmCalibrationOptions withSeed(long s) {
        return copy(c -> c.seed = s);
    }

    public LlmCalibrationOptions withMaxWindows(int n) {
        return copy(c -> c.maxWindows = n);
    }

    public LlmCalibrationOptions withIntraOpThreads(int n) {
        return copy(c -> c.intraOpThreads = n);
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private LlmCalibrationOptions copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private int batchSize;
        private int maxSampleRows;
        private long seed;
        private int maxWindows;
        private int intraOpThreads;

        private Copy(LlmCalibrationOptions from) {
            batchSize = from.batchSize;
            maxSampleRows = from.maxSampleRows;
            seed = from.seed;
            maxWindows = from.maxWindows;
            intraOpThreads = from.intraOpThreads;
        }

        private LlmCalibrationOptions build() {
            return new LlmCalibrationOptions(batchSize, maxSampleRows, seed, maxWindows, intraOpThreads);
        }
    }
}
