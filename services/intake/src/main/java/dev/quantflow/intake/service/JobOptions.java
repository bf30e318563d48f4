package dev.quantflow.intake.service;

import java.util.List;

/**
 * What a user may state about a job besides its inputs; null means "use the default".
 *
 * @param bits            weight bits: the LLM path (4 default, also 8/3/2 where the format allows) and QAT (8 default, or 4)
 * @param blockSize       LLM path: rows per quantization block of one output column (32, 64, 128 …; default 128)
 * @param allowRetraining the user allows QAT on the training data sent with the job
 * @param maxLatencyMs    batch-1 p50 latency target of the quantized model; missing it is a miss for the debug loop
 * @param trainingSteps   QAT: optimizer steps of the first attempt
 * @param learningRate    QAT: peak learning rate of the first attempt
 * @param profileOn       hardware classes to profile the result on after export (e.g. x86-avx2)
 */
public record JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                         Integer timeBudgetSeconds, Double maxSizeRatio, String metric, Double metricThreshold,
                         Integer bits, Integer blockSize, boolean allowRetraining, Double maxLatencyMs,
                         Integer trainingSteps, Double learningRate, List<String> profileOn) {

    public JobOptions {
        excludedNodes = excludedNodes == null ? List.of() : List.copyOf(excludedNodes);
        profileOn = profileOn == null ? List.of() : List.copyOf(profileOn);
    }

    public JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                      Integer timeBudgetSeconds, Double maxSizeRatio, String metric, Double metricThreshold, Integer bits,
                      Integer blockSize, boolean allowRetraining, Double maxLatencyMs, Integer trainingSteps,
                      Double learningRate) {
        this(name, method, maxRelativeDrop, maxAttempts, excludedNodes, timeBudgetSeconds, maxSizeRatio, metric,
            metricThreshold, bits, blockSize, allowRetraining, maxLatencyMs, trainingSteps, learningRate, List.of());
    }

    public JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes) {
        this(name, method, maxRelativeDrop, maxAttempts, excludedNodes, null, null, null, null);
    }

    public JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                      Integer timeBudgetSeconds, Double maxSizeRatio) {
        this(name, method, maxRelativeDrop, maxAttempts, excludedNodes, timeBudgetSeconds, maxSizeRatio, null, null);
    }

    public JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                      Integer timeBudgetSeconds, Double maxSizeRatio, String metric, Double metricThreshold) {
        this(name, method, maxRelativeDrop, maxAttempts, excludedNodes, timeBudgetSeconds, maxSizeRatio, metric,
            metricThreshold, null, null, false, null, null, null);
    }

    public JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                      Integer timeBudgetSeconds, Double maxSizeRatio, String metric, Double metricThreshold, Integer bits,
                      Integer blockSize, boolean allowRetraining, Double maxLatencyMs) {
        this(name, method, maxRelativeDrop, maxAttempts, excludedNodes, timeBudgetSeconds, maxSizeRatio, metric,
            metricThreshold, bits, blockSize, allowRetraining, maxLatencyMs, null, null);
    }
}
