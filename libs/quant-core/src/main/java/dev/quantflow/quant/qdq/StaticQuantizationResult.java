package dev.quantflow.quant.qdq;

import java.util.List;

import dev.quantflow.onnx.OnnxModel;

/** The quantized model and one decision per node of the fp32 graph, in graph order. */
public record StaticQuantizationResult(OnnxModel model, List<NodeDecision> decisions) {

    public StaticQuantizationResult {
        decisions = List.copyOf(decisions);
    }

    public List<NodeDecision> quantizedNodes() {
        return decisions.stream().filter(NodeDecision::quantized).toList();
    }

    public List<NodeDecision> keptFloatNodes() {
        return decisions.stream().filter(d -> !d.quantized()).toList();
    }
}
