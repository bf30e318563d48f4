package dev.quantflow.runtime.llm;

import java.util.function.Consumer;

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
        return copy(c -> c.generatedTokens = n);
    }

    public DecodeSpeedOptions withWarmupTokens(int n) {
        return copy(c -> c.warmupTokens = n);
    }

    public DecodeSpeedOptions withPrefillRuns(int n) {
        return copy(c -> c.prefillRuns = n);
    }

    public DecodeSpeedOptions withContext(Integer n) {
        return copy(c -> c.context = n);
    }

    public DecodeSpeedOptions withIntraOpThreads(int n) {
        return copy(c -> c.intraOpThreads = n);
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private DecodeSpeedOptions copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private int generatedTokens;
        private int warmupTokens;
        private int prefillRuns;
        private Integer context;
        private int intraOpThreads;

        private Copy(DecodeSpeedOptions from) {
            generatedTokens = from.generatedTokens;
            warmupTokens = from.warmupTokens;
            prefillRuns = from.prefillRuns;
            context = from.context;
            intraOpThreads = from.intraOpThreads;
        }

        private DecodeSpeedOptions build() {
            return new DecodeSpeedOptions(generatedTokens, warmupTokens, prefillRuns, context, intraOpThreads);
        }
    }
}
