package dev.quantflow.runtime.llm;

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
        return new PerplexityOptions(n, maxWindows, batchSize, intraOpThreads);
    }

    public PerplexityOptions withMaxWindows(int n) {
        return new PerplexityOptions(context, n, batchSize, intraOpThreads);
    }

    public PerplexityOptions withBatchSize(int n) {
        return new PerplexityOptions(context, maxWindows, n, intraOpThreads);
    }

    public PerplexityOptions withIntraOpThreads(int n) {
        return new PerplexityOptions(context, maxWindows, batchSize, n);
    }
}
