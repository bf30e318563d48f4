package dev.quantflow.contracts;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a user may state about a job besides its inputs; null means "use the default". The one definition of the job
 * options: intake reads them into this record, the Java client and the CLI build their submissions on
 * {@link Setters}, and {@link #formFields()} is the multipart form both send.
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

    /**
     * The options that are set, as intake's multipart form fields (README, "REST API"): numbers in Java's text form,
     * lists comma-joined, {@code allowRetraining} only when true; blank texts are left out.
     */
    public Map<String, String> formFields() {
        Map<String, String> f = new LinkedHashMap<>();
        put(f, "name", name);
        put(f, "method", method);
        put(f, "maxRelativeDrop", maxRelativeDrop);
        put(f, "maxAttempts", maxAttempts);
        put(f, "excludedNodes", excludedNodes.isEmpty() ? null : String.join(",", excludedNodes));
        put(f, "timeBudgetSeconds", timeBudgetSeconds);
        put(f, "maxSizeRatio", maxSizeRatio);
        put(f, "metric", metric);
        put(f, "metricThreshold", metricThreshold);
        put(f, "bits", bits);
        put(f, "blockSize", blockSize);
        put(f, "allowRetraining", allowRetraining ? "true" : null);
        put(f, "maxLatencyMs", maxLatencyMs);
        put(f, "trainingSteps", trainingSteps);
        put(f, "learningRate", learningRate);
        put(f, "profileOn", profileOn.isEmpty() ? null : String.join(",", profileOn));
        put(f, "targetHardwareClass", targetHardwareClass);
        return f;
    }

    private static void put(Map<String, String> fields, String name, Object value) {
        if (value != null && !String.valueOf(value).isBlank()) {
            fields.put(name, String.valueOf(value));
        }
    }

    /** The builder of the options alone. */
    public static final class Builder extends Setters<Builder> {
        private Builder() {
        }

        public JobOptions build() {
            return options();
        }
    }

    /**
     * Named setters for the options, shared by every builder that carries them ({@link Builder}, the Java client's
     * {@code Submission.Builder}); {@code B} is the concrete builder, so chained calls keep its own methods.
     */
    public abstract static class Setters<B extends Setters<B>> {
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

        protected Setters() {
        }

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        /** A name for the job (default: the model file's). */
        public B name(String value) { name = value; return self(); }
        /** static, dynamic, fp16, bf16, gptq, awq, rtn, qat or auto. */
        public B method(String value) { method = value; return self(); }
        /** Largest relative accuracy drop accepted, e.g. 0.02. */
        public B maxRelativeDrop(Double value) { maxRelativeDrop = value; return self(); }
        public B maxAttempts(Integer value) { maxAttempts = value; return self(); }
        public B excludedNodes(List<String> value) { excludedNodes = value; return self(); }
        public B timeBudgetSeconds(Integer value) { timeBudgetSeconds = value; return self(); }
        public B maxSizeRatio(Double value) { maxSizeRatio = value; return self(); }
        /** auto, top1, agreement, cosine, mse, iou or perplexity. */
        public B metric(String value) { metric = value; return self(); }
        public B metricThreshold(Double value) { metricThreshold = value; return self(); }
        public B bits(Integer value) { bits = value; return self(); }
        public B blockSize(Integer value) { blockSize = value; return self(); }
        public B allowRetraining(boolean value) { allowRetraining = value; return self(); }
        public B maxLatencyMs(Double value) { maxLatencyMs = value; return self(); }
        public B trainingSteps(Integer value) { trainingSteps = value; return self(); }
        public B learningRate(Double value) { learningRate = value; return self(); }
        /** Hardware classes to profile the result on, e.g. x86-avx2. */
        public B profileOn(List<String> value) { profileOn = value; return self(); }
        /** The hardware class the INT8 recipe is made for, e.g. x86-avx512-vnni (default: the quantizer's own CPU). */
        public B targetHardwareClass(String value) { targetHardwareClass = value; return self(); }

        /** The options set so far. */
        public final JobOptions options() {
            return new JobOptions(name, method, maxRelativeDrop, maxAttempts, excludedNodes, timeBudgetSeconds,
                maxSizeRatio, metric, metricThreshold, bits, blockSize, allowRetraining, maxLatencyMs, trainingSteps,
                learningRate, profileOn, targetHardwareClass);
        }
    }
}
