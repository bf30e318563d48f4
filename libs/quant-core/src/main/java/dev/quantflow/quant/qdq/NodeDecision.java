package dev.quantflow.quant.qdq;

/**
 * What the quantizer did with one node of the fp32 graph.
 *
 * @param quantized true when the node now runs on quantized inputs (or, for a Relu, was absorbed into the output
 *                  quantization of its producer)
 * @param reason    why, in words meant for the user
 */
public record NodeDecision(String node, String opType, boolean quantized, String reason) {
}
