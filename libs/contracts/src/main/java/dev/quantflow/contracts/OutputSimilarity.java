package dev.quantflow.contracts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Outputs of the quantized model against fp32 (jobs judged by {@code cosine} or {@code mse}); JSON key
 * {@code outputs}.
 *
 * @param pooling {@code none}, or {@code mean_l2} for sentence-embedding outputs
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record OutputSimilarity(String metric, String pooling, Integer samples, Double meanCosine, Double minCosine,
                               Double mse, Double maxAbsDiff) {
}
