package dev.quantflow.validator.service;

import java.util.List;

import dev.quantflow.contracts.AttemptMetrics;
import dev.quantflow.contracts.ModelMetrics;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.AttemptRecord;

/**
 * Chooses what a job that ran out of budget hands back: the attempt with the highest quality (lowest perplexity for
 * causal LMs, top-1 accuracy, the mean IoU of maps or the agreement per position for jobs judged on those, or top-1
 * agreement with fp32 without labels), then the smaller model, then the earlier attempt.
 */
final class BestEffort {

    @FunctionalInterface
    interface MetricsLoader {
        AttemptMetrics load(ArtifactRef metrics) throws Exception;
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
            AttemptMetrics m = loader.load(a.getMetrics());
            ModelMetrics q = m.quantized();
            Double agreement = m.comparison() == null ? null : m.comparison().top1Agreement();
            Double maps = m.outputs() == null ? null
                : m.outputs().meanIou() != null ? m.outputs().meanIou() : m.outputs().positionAgreement();
            double quality = q != null && q.perplexity() != null ? -q.perplexity()
                : q != null && q.accuracy() != null ? q.accuracy()
                : maps != null && !maps.isNaN() ? maps
                : agreement != null ? agreement : Double.NEGATIVE_INFINITY;
            long size = q != null && q.sizeBytes() != null ? q.sizeBytes() : Long.MAX_VALUE;
            if (quality > bestQuality || (quality == bestQuality && size < bestSize)) {
                best = a;
                bestQuality = quality;
                bestSize = size;
            }
        }
        return best;
    }
}
