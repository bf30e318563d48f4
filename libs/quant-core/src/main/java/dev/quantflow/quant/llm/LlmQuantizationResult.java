package dev.quantflow.quant.llm;

import java.util.List;

import dev.quantflow.onnx.OnnxModel;

/** The quantized model and one decision per MatMul with a constant weight, in graph order. */
public record LlmQuantizationResult(OnnxModel model, List<LlmNodeDecision> decisions) {

    public LlmQuantizationResult {
        decisions = List.copyOf(decisions);
    }
}
