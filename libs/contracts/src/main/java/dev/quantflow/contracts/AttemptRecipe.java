package dev.quantflow.contracts;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The recipe of one attempt as {@code metrics.json} and {@code report.json} show it (a view of the Avro
 * {@code Recipe}). INT8 and cast attempts fill the first group, causal-LM attempts the second; both have
 * {@code excludedNodes} and {@code note}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record AttemptRecipe(
    String calibrator,
    String weightType,
    String activationType,
    Boolean perChannelWeights,
    Boolean int8Only,
    List<String> excludedNodes,
    Map<String, String> exclusionReasons,
    String note,
    // causal LMs
    Integer bits,
    Integer blockSize,
    Boolean symmetric,
    Boolean actOrder,
    Double dampPercent,
    List<String> highPrecisionNodes,
    String graphFormat) {

    public static AttemptRecipe int8(String calibrator, String weightType, String activationType, boolean perChannelWeights,
                                     boolean int8Only, List<String> excludedNodes, Map<String, String> exclusionReasons,
                                     String note) {
        return new AttemptRecipe(calibrator, weightType, activationType, perChannelWeights, int8Only, excludedNodes,
            exclusionReasons, note, null, null, null, null, null, null, null);
    }

    public static AttemptRecipe llm(int bits, int blockSize, boolean symmetric, boolean actOrder, double dampPercent,
                                    List<String> highPrecisionNodes, List<String> excludedNodes, String graphFormat,
                                    String note) {
        return new AttemptRecipe(null, null, null, null, null, excludedNodes, null, note, bits, blockSize, symmetric,
            actOrder, dampPercent, highPrecisionNodes, graphFormat);
    }
}
