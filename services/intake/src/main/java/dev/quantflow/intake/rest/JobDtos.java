package dev.quantflow.intake.rest;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import dev.quantflow.intake.service.JobView;

/** JSON shapes of the jobs API. */
public final class JobDtos {

    private JobDtos() {
    }

    public record Accepted(String jobId, String state, Map<String, String> links) {
    }

    public record ArtifactRefDto(String bucket, String key, String sha256) {
    }

    /** Submit by reference: inputs already in the artifact store. */
    public record ReferenceRequest(String name, ArtifactRefDto model, ArtifactRefDto calibration, ArtifactRefDto validation,
                                   String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                                   Integer timeBudgetSeconds, Double maxSizeRatio, String metric, Double metricThreshold,
                                   ArtifactRefDto tokenizer, ArtifactRefDto training, Integer bits, Integer blockSize,
                                   Boolean allowRetraining, Double maxLatencyMs, Integer trainingSteps,
                                   Double learningRate, List<String> profileOn, String targetHardwareClass) {
    }

    public record Result(Boolean meetsTarget, Double fp32Accuracy, Double quantizedAccuracy, Long fp32SizeBytes,
                         Long quantizedSizeBytes, Double fp32LatencyMs, Double quantizedLatencyMs, String reasonCode,
                         String reason, String failedStage, boolean bestEffort) {
    }

    public record Job(String jobId, String name, String method, String state, String stage, int attempt, String message,
                      Instant createdAt, Instant updatedAt, List<JobView.HistoryEntry> history, Result result,
                      String traceId) {
    }

    public record StatusEvent(String jobId, String jobState, Instant at, String stage, String state, int attempt,
                              double progress, String message) {
    }

    public record Artifact(String name, String key, String sha256, long size, String url) {
    }

    public record Artifacts(String jobId, List<Artifact> artifacts) {
    }

    static Job job(JobView.Snapshot s) {
        Result result = null;
        if (s.ready() != null) {
            var r = s.ready();
            result = new Result(r.getMeetsTarget(), r.getFp32Accuracy(), r.getQuantizedAccuracy(), r.getFp32SizeBytes(),
                r.getQuantizedSizeBytes(), r.getFp32LatencyMs(), r.getQuantizedLatencyMs(), null, null, null, false);
        } else if (s.failure() != null) {
            var f = s.failure();
            result = new Result(false, null, null, null, null, null, null, f.getReasonCode(), f.getReason(), f.getStage(),
                f.getBestEffort());
        }
        return new Job(s.jobId(), s.name(), s.method(), s.state(), s.stage(), s.attempt(), s.message(), s.createdAt(),
            s.updatedAt(), s.history(), result, s.traceId());
    }
}
