package dev.quantflow.contracts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Outputs of the quantized model against fp32 (jobs judged by {@code cosine}, {@code mse}, {@code iou} or per-position
 * {@code agreement}); JSON key {@code outputs}.
 *
 * @param pooling            {@code none}, or {@code mean_l2} for sentence-embedding outputs
 * @param mapThreshold       iou: both maps binarized as {@code value > mapThreshold}
 * @param meanIou            iou: mean over samples of the IoU of the binarized maps (both empty = 1)
 * @param minIou             iou: the smallest per-sample IoU
 * @param positionAgreement  per-position agreement: share of positions (pixels, time steps) whose argmax over the
 *                           class axis is the same in both models
 * @param positionsPerSample per-position agreement: positions per sample
 * @param fp32Min            smallest finite fp32 output value (iou, agreement)
 * @param fp32Max            largest finite fp32 output value (iou, agreement)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record OutputSimilarity(String metric, String pooling, Integer samples, Double meanCosine, Double minCosine,
                               Double mse, Double maxAbsDiff, Double mapThreshold, Double meanIou, Double minIou,
                               Double positionAgreement, Long positionsPerSample, Double fp32Min, Double fp32Max) {
}
