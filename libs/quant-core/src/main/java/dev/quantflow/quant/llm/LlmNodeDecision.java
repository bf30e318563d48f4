package dev.quantflow.quant.llm;

import dev.quantflow.quant.qdq.NodeDecision;

/**
 * What {@link LlmWeightQuantizer} did with one MatMul that has a constant weight.
 *
 * @param relativeError   {@link ReconstructionError#relative}: with the layer's Hessian when statistics were given
 *                        for its input, else the relative Frobenius error; NaN when kept fp32
 * @param keptFp32Reason  null when quantized
 */
public record LlmNodeDecision(String node, String weight, int k, int n, int bits, String method,
                              double relativeError, String keptFp32Reason) {

    public boolean quantized() {
        return keptFp32Reason == null;
    }

    /** The platform's common per-node decision. */
    public NodeDecision toNodeDecision() {
        return new NodeDecision(node, "MatMul", quantized(), quantized()
            ? method + " " + bits + "-bit weights, relative reconstruction error " + String.format("%.3g", relativeError)
            : keptFp32Reason);
    }
}
