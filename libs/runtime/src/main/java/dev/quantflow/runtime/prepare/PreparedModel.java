package dev.quantflow.runtime.prepare;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.prepare.PreparationReport;

/** A prepared model that passed its numerical check, with what preparation changed and how closely it matches. */
public record PreparedModel(OnnxModel model, PreparationReport report, PreparationCheck check) {
}
