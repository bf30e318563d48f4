package dev.quantflow.contracts;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The job's target and where the attempt stands against it.
 *
 * @param metric              what was judged: {@code top1-accuracy}, {@code top1-agreement}, {@code mean-cosine},
 *                            {@code mse}, {@code mean-iou}, {@code position-agreement}, {@code perplexity-increase},
 *                            {@code runtime}, …
 * @param maxRelativeDrop     the allowed relative top-1 drop (classifiers, encoders)
 * @param maxRelativeIncrease the allowed relative perplexity increase (causal LMs)
 * @param value               the attempt's value of {@code metric}; absent when not measured
 * @param threshold           the value it had to reach; absent when not measured
 * @param metricReason        why this metric: the job named it, or what {@code auto} read from the output's shape
 *                            and values
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Target(String metric, Double maxRelativeDrop, Double maxRelativeIncrease, Double maxSizeRatio,
                     Double maxLatencyMs, Double value, Double threshold, String metricReason) {
}
