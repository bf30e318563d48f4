package dev.quantflow.quant.cast;

import java.util.List;

import dev.quantflow.onnx.OnnxModel;

/**
 * The converted model, one decision per node of the fp32 graph (in graph order), and warnings about values the
 * format could not hold (clamped overflows, nonzero constants flushed to zero).
 */
public record CastResult(OnnxModel model, List<CastNodeDecision> decisions, List<String> warnings) {

    public CastResult {
        decisions = List.copyOf(decisions);
        warnings = List.copyOf(warnings);
    }

    public CastResult(OnnxModel model, List<CastNodeDecision> decisions) {
        this(model, decisions, List.of());
    }

    public List<CastNodeDecision> lowPrecisionNodes() {
        return decisions.stream().filter(CastNodeDecision::lowPrecision).toList();
    }

    public List<CastNodeDecision> keptFp32Nodes() {
        return decisions.stream().filter(d -> !d.lowPrecision()).toList();
    }
}
