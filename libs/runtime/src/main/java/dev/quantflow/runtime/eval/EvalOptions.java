package dev.quantflow.runtime.eval;

import java.util.List;
import java.util.function.Consumer;

/**
 * How a model is evaluated.
 *
 * @param intraOpThreads ONNX Runtime threads inside one operator (default 1, so numbers compare across machines with
 *                       different core counts)
 * @param batchSize samples per run in the accuracy pass (default 64)
 * @param latency one timing plan per batch size (default: batch 1 with 10 warm-up and 50 measured runs, batch 64
 *                with 3 warm-up and 10 measured runs)
 * @param outputName output whose per-sample argmax is the prediction; null = the model's first output
 */
public record EvalOptions(int intraOpThreads, int batchSize, List<LatencyPlan> latency, String outputName) {

    /**
     * Timing of one batch size: {@code warmupRuns} untimed runs, then {@code measuredRuns} timed runs on the first
     * {@code batchSize} samples (fewer if the file has fewer).
     */
    public record LatencyPlan(int batchSize, int warmupRuns, int measuredRuns) {
        public LatencyPlan {
            if (batchSize < 1 || warmupRuns < 0 || measuredRuns < 1) {
                throw new IllegalArgumentException("latency plan needs batchSize >= 1, warmupRuns >= 0, measuredRuns >= 1");
            }
        }
    }

    public EvalOptions {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, was " + intraOpThreads);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize);
        }
        latency = List.copyOf(latency);
    }

    public static EvalOptions defaults() {
        return new EvalOptions(1, 64, List.of(new LatencyPlan(1, 10, 50), new LatencyPlan(64, 3, 10)), null);
    }

    public EvalOptions withIntraOpThreads(int n) {
        return copy(c -> c.intraOpThreads = n);
    }

    public EvalOptions withBatchSize(int n) {
        return copy(c -> c.batchSize = n);
    }

    public EvalOptions withLatency(List<LatencyPlan> plans) {
        return copy(c -> c.latency = plans);
    }

    public EvalOptions withOutputName(String name) {
        return copy(c -> c.outputName = name);
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private EvalOptions copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private int intraOpThreads;
        private int batchSize;
        private List<LatencyPlan> latency;
        private String outputName;

        private Copy(EvalOptions from) {
            intraOpThreads = from.intraOpThreads;
            batchSize = from.batchSize;
            latency = from.latency;
            outputName = from.outputName;
        }

        private EvalOptions build() {
            return new EvalOptions(intraOpThreads, batchSize, latency, outputName);
        }
    }
}
