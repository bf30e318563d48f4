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
 * @param targetHardwareClass the hardware class the INT8 recipe is made for (e.g. x86-avx512-vnni); null or empty =
 *                        the quantizer's own CPU
 */
public record JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                         Integer timeBudgetSeconds, Double maxSizeRatio, String metric, Double metricThreshold,
                         Integer bits, Integer blockSize, boolean allowRetraining, Double maxLatencyMs,
                         Integer trainingSteps, Double learningRate, List<String> profileOn, String targetHardwareClass) {

    public JobOptions {
        excludedNodes = excludedNodes == null ? List.of() : List.copyOf(excludedNodes);
        profileOn = profileOn == null ? List.of() : List.copyOf(profileOn);
    }

    /** A builder with every option unset (null, no excluded nodes, no retraining, no profiling). */
    public static Builder builder() {
        return new Builder();
    }

    /** Named setters for the record's components; unset ones stay at "use the default". */
    public static final class Builder {
        private String name;
        private String method;
        private Double maxRelativeDrop;
        private Integer maxAttempts;
        private List<String> excludedNodes;
        private Integer timeBudgetSeconds;
        private Double maxSizeRatio;
        private String metric;
        private Double metricThreshold;
        private Integer bits;
        private Integer blockSize;
        private boolean allowRetraining;
        private Double maxLatencyMs;
        private Integer trainingSteps;
        private Double learningRate;
        private List<String> profileOn;
        private String targetHardwareClass;

        private Builder() {
        }

        public Builder name(String value) { name = value; return this; }
        public Builder method(String value) { method = value; return this; }
        public Builder maxRelativeDrop(Double value) { maxRelativeDrop = value; return this; }
        public Builder maxAttempts(Integer value) { maxAttempts = value; return this; }
        public Builder excludedNodes(List<String> value) { excludedNodes = value; return this; }
        public Builder timeBudgetSeconds(Integer value) { timeBudgetSeconds = value; return this; }
        public Builder maxSizeRatio(Double value) { maxSizeRatio = value; return this; }
        public Builder metric(String value) { metric = value; return this; }
        public Builder metricThreshold(Double value) { metricThreshold = value; return this; }
        public Builder bits(Integer value) { bits = value; return this; }
        public Builder blockSize(Integer value) { blockSize = value; return this; }
        public Builder allowRetraining(boolean value) { allowRetraining = value; return this; }
        public Builder maxLatencyMs(Double value) { maxLatencyMs = value; return this; }
        public Builder trainingSteps(Integer value) { trainingSteps = value; return this; }
        public Builder learningRate(Double value) { learningRate = value; return this; }
        public Builder profileOn(List<String> value) { profileOn = value; return this; }
        public Builder targetHardwareClass(String value) { targetHardwareClass = value; return this; }

        public JobOptions build() {
            return new JobOptions(name, method, maxRelativeDrop, maxAttempts, excludedNodes, timeBudgetSeconds,
                maxSizeRatio, metric, metricThreshold, bits, blockSize, allowRetraining, maxLatencyMs, trainingSteps,
                learningRate, profileOn, targetHardwareClass);
        }
    }
}
