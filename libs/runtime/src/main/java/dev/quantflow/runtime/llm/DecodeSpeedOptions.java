package dev.quantflow.runtime.llm;

/**
 * How {@link DecodeSpeed} measures.
 *
 * @param generatedTokens tokens generated in the timed decode
 * @param warmupTokens tokens generated in an untimed decode before it (session warm-up, allocator growth)
 * @param prefillRuns timed runs of one full window, after one untimed run
 * @param context the model's context length; null = its static sequence dimension (required when it is symbolic)
 * @param intraOpThreads ONNX Runtime threads inside one operator (1 = single-core, comparable across machines)
 */
public record DecodeSpeedOptions(int generatedTokens, int warmupTokens, int prefillRuns, Integer context,
                                 int intraOpThreads) {

    public DecodeSpeedOptions {
        if (generatedTokens < 1) {
            throw new IllegalArgumentException("generatedTokens must be >= 1, was " + generatedTokens);
        }
        if (warmupTokens < 0) {
            throw new IllegalArgumentException("warmupTokens must be >= 0, was " + warmupTokens);
        }
        if (prefillRuns < 1) {
            throw new IllegalArgumentException("prefillRuns must be >= 1, was " + prefillRuns);
        }
        if (context != null && context < 1) {
            throw new IllegalArgumentException("context must be >= 1, was " + context);
        }
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, was " + intraOpThreads);
        }
    }

    /** 32 generated tokens after 4 warm-up tokens, 5 prefill runs, the model's context, one thread. */
    public static DecodeSpeedOptions defaults() {
        return new DecodeSpeedOptions(32, 4, 5, null, 1);
    }

    public DecodeSpeedOptions withGeneratedTokens(int n) {
        return new DecodeSpeedOptions(n, warmupTokens, prefillRuns, context, intraOpThreads);
    }

    public DecodeSpeedOptions withWarmupTokens(int n) {
        return new DecodeSpeedOptions(generatedTokens, n, prefillRuns, context, intraOpThreads);
    }

    public DecodeSpeedOptions withPrefillRuns(int n) {
        return new DecodeSpeedOptions(generatedTokens, warmupTokens, n, context, intraOpThreads);
    }

    public DecodeSpeedOptions withContext(Integer n) {
        return new DecodeSpeedOptions(generatedTokens, warmupTokens, prefillRuns, n, intraOpThreads);
    }

    public DecodeSpeedOptions withIntraOpThreads(int n) {
        return new DecodeSpeedOptions(generatedTokens, warmupTokens, prefillRuns, context, n);
    }
}
