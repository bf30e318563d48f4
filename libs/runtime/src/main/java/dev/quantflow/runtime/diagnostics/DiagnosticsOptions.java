package dev.quantflow.runtime.diagnostics;

import java.util.function.Consumer;

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
        return copy(c -> c.maxSamples = n);
    }

    public DiagnosticsOptions withBatchSize(int n) {
        return copy(c -> c.batchSize = n);
    }

    public DiagnosticsOptions withIntraOpThreads(int n) {
        return copy(c -> c.intraOpThreads = n);
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private DiagnosticsOptions copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private int maxSamples;
        private int batchSize;
        private int intraOpThreads;

        private Copy(DiagnosticsOptions from) {
            maxSamples = from.maxSamples;
            batchSize = from.batchSize;
            intraOpThreads = from.intraOpThreads;
        }

        private DiagnosticsOptions build() {
            return new DiagnosticsOptions(maxSamples, batchSize, intraOpThreads);
        }
    }
}
