package dev.quantflow.contracts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Per-layer SQNR of one node against fp32 (the validator's layer diagnostics; the meaning of each figure is in
 * {@code dev.quantflow.runtime.diagnostics.LayerReport}). Absent figures were not measured; {@code skipReason}
 * says why.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record LayerMetrics(String node, String opType, String tensor, Boolean quantized, Double sqnrDb, Double inputSqnrDb,
                           Double addedErrorDb, Double layerSqnrDb, String skipReason) {
}
