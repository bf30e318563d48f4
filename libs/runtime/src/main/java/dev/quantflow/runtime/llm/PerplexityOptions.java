package dev.quantflow.runtime.llm;

import java.util.function.Consumer;

/**
 * How {@link Perplexity} cuts and runs the held-out tokens.
 *
 * @param context tokens per window; null = the model's static sequence dimension (required when it is symbolic)
 * @param maxWindows windows evaluated, from the start of the stream; 0 = all
 * @param batchSize windows per ONNX Runtime run
 * @param intraOpThreads ONNX Runtime threads inside one operator
 */
public record PerplexityOptions(Integer context, int maxWindows, int batchSize, int intraOpThreads) {

    public PerplexityOptions {
        if (context != null && context < 1) {
            throw new IllegalArgumentException("context must be >= 1, was " + context);
        }
        if (maxWindows < 0) {
            throw new IllegalArgumentException("maxWindows must be >= 0 (0 = all), was " + maxWindows);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize);
        }
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, was " + intraOpThreads);
        }
    }

    /** The model's own context, all windows, batches of 4, one thread. */
    public static PerplexityOptions defaults() {
        return new PerplexityOptions(null, 0, 4, 1);
    }

    public PerplexityOptions withContext(Integer n) {
        return copy(c -> c.context = n);
    }

    public PerplexityOptions withMaxWindows(int n) {
        return copy(c -> c.maxWindows = n);
    }

    public PerplexityOptions withBatchSize(int n) {
        return copy(c -> c.batchSize = n);
    }

    public PerplexityOptions withIntraOpThreads(int n) {
        return copy(c -> c.intraOpThreads = n);
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private PerplexityOptions copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private Integer context;
        private int maxWindows;
        private int batchSize;
        private int intraOpThreads;

        private Copy(PerplexityOptions from) {
            context = from.context;
            maxWindows = from.maxWindows;
            batchSize = from.batchSize;
            intraOpThreads = from.intraOpThreads;
        }

        private PerplexityOptions build() {
            return new PerplexityOptions(context, maxWindows, batchSize, intraOpThreads);
        }
    }
}
