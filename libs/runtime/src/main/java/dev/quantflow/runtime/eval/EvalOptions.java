package dev.quantflow.runtime.eval;

import java.util.List;

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
        return new EvalOptions(n, batchSize, latency, outputName);
    }

    public EvalOptions withBatchSize(int n) {
        return new EvalOptions(intraOpThreads, n, latency, outputName);
    }

    public EvalOptions withLatency(List<LatencyPlan> plans) {
        return new EvalOptions(intraOpThreads, batchSize, plans, outputName);
    }

    public EvalOptions withOutputName(String name) {
        return new EvalOptions(intraOpThreads, batchSize, latency, name);
    }
}
