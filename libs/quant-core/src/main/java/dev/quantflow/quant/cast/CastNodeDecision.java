package dev.quantflow.quant.cast;

/**
 * What the cast conversion did with one node of the fp32 graph.
 *
 * @param lowPrecision true when the node now computes in the target type (FP16 / BF16)
 * @param reason       why, in words meant for the user
 */
public record CastNodeDecision(String node, String opType, boolean lowPrecision, String reason) {
}
