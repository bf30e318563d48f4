package dev.quantflow.validator.service;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.AttemptRecord;

/**
 * Chooses what a job that ran out of budget hands back: the attempt with the highest quality (lowest perplexity for
 * causal LMs, top-1 accuracy, or agreement with fp32 without labels), then the smaller model, then the earlier attempt.
 */
final class BestEffort {

    @FunctionalInterface
    interface MetricsLoader {
        JsonNode load(ArtifactRef metrics) throws Exception;
    }

    private BestEffort() {
    }

    static AttemptRecord choose(List<AttemptRecord> history, MetricsLoader loader) throws Exception {
        AttemptRecord best = null;
        double bestQuality = Double.NEGATIVE_INFINITY;
        long bestSize = Long.MAX_VALUE;
        for (AttemptRecord a : history) {
            if (a.getQuantizedModel() == null || a.getMetrics() == null) {
                continue;
            }
            JsonNode m = loader.load(a.getMetrics());
            JsonNode q = m.path("quantized");
            double quality = q.path("perplexity").isNumber() ? -q.path("perplexity").asDouble()
                : q.path("accuracy").isNumber() ? q.path("accuracy").asDouble()
                : m.path("comparison").path("top1Agreement").asDouble(Double.NEGATIVE_INFINITY);
            long size = q.path("sizeBytes").asLong(Long.MAX_VALUE);
            if (quality > bestQuality || (quality == bestQuality && size < bestSize)) {
                best = a;
                bestQuality = quality;
                bestSize = size;
            }
        }
        return best;
    }
}
