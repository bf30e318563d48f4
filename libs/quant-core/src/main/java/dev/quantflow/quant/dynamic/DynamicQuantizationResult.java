package dev.quantflow.quant.dynamic;

import java.util.List;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.qdq.NodeDecision;

/** The dynamically quantized model and one decision per node of the fp32 graph, in graph order. */
public record DynamicQuantizationResult(OnnxModel model, List<NodeDecision> decisions) {

    public DynamicQuantizationResult {
        decisions = List.copyOf(decisions);
    }

    public List<NodeDecision> quantizedNodes() {
        return decisions.stream().filter(NodeDecision::quantized).toList();
    }

    public List<NodeDecision> keptFloatNodes() {
        return decisions.stream().filter(d -> !d.quantized()).toList();
    }
}
