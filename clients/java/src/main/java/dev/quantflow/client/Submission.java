package dev.quantflow.client;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What to quantize and how: the inputs (local files, or objects already in the artifact store) and the options of
 * intake's REST API (README, "REST API"). Unset options take the server's defaults.
 *
 * <p>Local files go over REST only (multipart upload). A Kafka submission publishes a {@code QuantizationRequested},
 * whose inputs must already be in the store: give them with {@link Input#stored(String, String)}.
 */
public final class Submission {

    /** A local file to upload, or an object already in the artifact store (bucket empty = intake's bucket). */
    public record Input(Path file, String bucket, String key, String sha256) {

        public static Input file(Path file) {
            return new Input(Objects.requireNonNull(file, "file"), null, null, null);
        }

        public static Input stored(String bucket, String key) {
            return stored(bucket, key, null);
        }

        /** {@code sha256} (hex) is optional; when given, intake checks the object against it. */
        public static Input stored(String bucket, String key, String sha256) {
            if (key == null || key.isBlank()) {
                throw new IllegalArgumentException("a stored input needs an object key");
            }
            return new Input(null, bucket == null ? "" : bucket, key, sha256);
        }

        public boolean isFile() {
            return file != null;
        }
    }

    final Input model;
    final Input calibration;
    final Input validation;
    final Input tokenizer;
    final Input training;
    final String name;
    final String method;
    final Double maxRelativeDrop;
    final Integer maxAttempts;
    final List<String> excludedNodes;
    final Integer timeBudgetSeconds;
    final Double maxSizeRatio;
    final String metric;
    final Double metricThreshold;
    final Integer bits;
    final Integer blockSize;
    final boolean allowRetraining;
    final Double maxLatencyMs;
    final Integer trainingSteps;
    final Double learningRate;
    final List<String> profileOn;
    final String targetHardwareClass;

    private Submission(Builder b) {
        if (b.model == null) {
            throw new IllegalArgumentException("a submission needs a model");
        }
        this.model = b.model;
        this.calibration = b.calibration;
        this.validation = b.validation;
        this.tokenizer = b.tokenizer;
        this.training = b.training;
        this.name = b.name;
        this.method = b.method;
        this.maxRelativeDrop = b.maxRelativeDrop;
        this.maxAttempts = b.maxAttempts;
        this.excludedNodes = b.excludedNodes == null ? List.of() : List.copyOf(b.excludedNodes);
        this.timeBudgetSeconds = b.timeBudgetSeconds;
        this.maxSizeRatio = b.maxSizeRatio;
        this.metric = b.metric;
        this.metricThreshold = b.metricThreshold;
        this.bits = b.bits;
        this.blockSize = b.blockSize;
        this.allowRetraining = b.allowRetraining;
        this.maxLatencyMs = b.maxLatencyMs;
        this.trainingSteps = b.trainingSteps;
        this.learningRate = b.learningRate;
        this.profileOn = b.profileOn == null ? List.of() : List.copyOf(b.profileOn);
        this.targetHardwareClass = b.targetHardwareClass;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The inputs that are set, in the order model, calibration, validation, tokenizer, training. */
    List<Input> inputs() {
        return java.util.stream.Stream.of(model, calibration, validation, tokenizer, training)
            .filter(Objects::nonNull).toList();
    }

    public static final class Builder {
        private Input model;
        private Input calibration;
        private Input validation;
        private Input tokenizer;
        private Input training;
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

        /** The fp32 ONNX model (required). */
        public Builder model(Path file) { return model(Input.file(file)); }
        public Builder model(Input input) { this.model = input; return this; }
        /** Calibration data (.npz, or text with a tokenizer); static needs it. */
        public Builder calibration(Path file) { return calibration(Input.file(file)); }
        public Builder calibration(Input input) { this.calibration = input; return this; }
        /** Validation data (.npz with inputs and optional labels, or text with a tokenizer). */
        public Builder validation(Path file) { return validation(Input.file(file)); }
        public Builder validation(Input input) { this.validation = input; return this; }
        public Builder tokenizer(Path file) { return tokenizer(Input.file(file)); }
        public Builder tokenizer(Input input) { this.tokenizer = input; return this; }
        /** Training data for QAT (with {@link #allowRetraining(boolean)}). */
        public Builder training(Path file) { return training(Input.file(file)); }
        public Builder training(Input input) { this.training = input; return this; }
        public Builder name(String name) { this.name = name; return this; }
        /** static, dynamic, fp16, bf16, gptq, awq, rtn, qat or auto. */
        public Builder method(String method) { this.method = method; return this; }
        /** Largest relative accuracy drop accepted, e.g. 0.02. */
        public Builder maxRelativeDrop(Double v) { this.maxRelativeDrop = v; return this; }
        public Builder maxAttempts(Integer v) { this.maxAttempts = v; return this; }
        public Builder excludedNodes(List<String> v) { this.excludedNodes = v; return this; }
        public Builder timeBudgetSeconds(Integer v) { this.timeBudgetSeconds = v; return this; }
        public Builder maxSizeRatio(Double v) { this.maxSizeRatio = v; return this; }
        /** auto, top1, agreement, cosine, mse or perplexity. */
        public Builder metric(String v) { this.metric = v; return this; }
        public Builder metricThreshold(Double v) { this.metricThreshold = v; return this; }
        public Builder bits(Integer v) { this.bits = v; return this; }
        public Builder blockSize(Integer v) { this.blockSize = v; return this; }
        public Builder allowRetraining(boolean v) { this.allowRetraining = v; return this; }
        public Builder maxLatencyMs(Double v) { this.maxLatencyMs = v; return this; }
        public Builder trainingSteps(Integer v) { this.trainingSteps = v; return this; }
        public Builder learningRate(Double v) { this.learningRate = v; return this; }
        /** Hardware classes to profile the result on, e.g. x86-avx2. */
        public Builder profileOn(List<String> v) { this.profileOn = v; return this; }
        /** The hardware class the INT8 recipe is made for, e.g. x86-avx512-vnni (default: the quantizer's own CPU). */
        public Builder targetHardwareClass(String v) { this.targetHardwareClass = v; return this; }

        public Submission build() {
            return new Submission(this);
        }
    }
}
