package dev.quantflow.contracts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What a quantizer did with one node, as {@code summary.json} and {@code report.json} list it under
 * {@code quantizedNodes} / {@code keptFloatNodes}. Static, dynamic and cast pools fill {@code node, opType,
 * quantized, reason}; the LLM pools (one entry per MatMul weight) fill {@code node, opType, weight, k, n, bits,
 * method, relativeError, reason} and leave {@code quantized} out.
 *
 * @param relativeError LLM: {@code tr(ΔWᵀ H ΔW) / tr(Wᵀ H W)} of the weight; absent when not measured
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record NodeDecision(String node, String opType, Boolean quantized, String reason, String weight, Integer k,
                           Integer n, Integer bits, String method, Double relativeError) {

    /** A node of the static, dynamic or cast pools. */
    public static NodeDecision of(String node, String opType, boolean quantized, String reason) {
        return new NodeDecision(node, opType, quantized, reason, null, null, null, null, null, null);
    }

    /** A MatMul weight of the LLM pools; a NaN error (not measured) is left out. */
    public static NodeDecision matMul(String node, String weight, int k, int n, int bits, String method,
                                      double relativeError, String reason) {
        return new NodeDecision(node, "MatMul", null, reason, weight, k, n, bits, method,
            Double.isNaN(relativeError) ? null : relativeError);
    }
}
