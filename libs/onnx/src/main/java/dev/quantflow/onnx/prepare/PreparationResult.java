package dev.quantflow.onnx.prepare;

import java.util.Objects;

import dev.quantflow.onnx.OnnxModel;

/** The prepared model and what was done to it. */
public record PreparationResult(OnnxModel model, PreparationReport report) {
    public PreparationResult {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(report, "report");
    }
}
