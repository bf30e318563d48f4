package dev.quantflow.client;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

import dev.quantflow.contracts.JobOptions;

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
    final JobOptions options;

    private Submission(Builder b) {
        if (b.model == null) {
            throw new IllegalArgumentException("a submission needs a model");
        }
        this.model = b.model;
        this.calibration = b.calibration;
        this.validation = b.validation;
        this.tokenizer = b.tokenizer;
        this.training = b.training;
        this.options = b.options();
    }

    /** The options of the job (name, method, budget, …); unset ones are null (the server's default). */
    public JobOptions options() {
        return options;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The inputs that are set, in the order model, calibration, validation, tokenizer, training. */
    List<Input> inputs() {
        return java.util.stream.Stream.of(model, calibration, validation, tokenizer, training)
            .filter(Objects::nonNull).toList();
    }

    /** The inputs; the options' setters ({@code method}, {@code maxRelativeDrop}, {@code bits}, …) are {@link JobOptions.Setters}. */
    public static final class Builder extends JobOptions.Setters<Builder> {
        private Input model;
        private Input calibration;
        private Input validation;
        private Input tokenizer;
        private Input training;

        private Builder() {
        }

        /** The fp32 ONNX model (required). */
        public Builder model(Path file) { return model(Input.file(file)); }
        public Builder model(Input input) { this.model = input; return this; }
        /** Calibration data (.npz, or text with a tokenizer); static needs it. */
        public Builder calibration(Path file) { return calibration(file == null ? null : Input.file(file)); }
        public Builder calibration(Input input) { this.calibration = input; return this; }
        /** Validation data (.npz with inputs and optional labels, or text with a tokenizer). */
        public Builder validation(Path file) { return validation(Input.file(file)); }
        public Builder validation(Input input) { this.validation = input; return this; }
        public Builder tokenizer(Path file) { return tokenizer(file == null ? null : Input.file(file)); }
        public Builder tokenizer(Input input) { this.tokenizer = input; return this; }
        /** Training data for QAT (with {@link #allowRetraining(boolean)}). */
        public Builder training(Path file) { return training(file == null ? null : Input.file(file)); }
        public Builder training(Input input) { this.training = input; return this; }

        public Submission build() {
            return new Submission(this);
        }
    }
}
