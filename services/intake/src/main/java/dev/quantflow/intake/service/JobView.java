package dev.quantflow.intake.service;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import dev.quantflow.events.JobFailed;
import dev.quantflow.events.ModelReady;
import dev.quantflow.pipeline.JobStates;

/** Intake's view of one job, derived from the events on Kafka. Guarded by the projection's lock. */
public final class JobView {

    /** One status event as the API shows it. */
    public record HistoryEntry(Instant at, String stage, String state, int attempt, double progress, String message) {
    }

    final String jobId;
    String name = "";
    String method = "";
    String state = JobStates.ACCEPTED;
    String stage = "";
    String message = "";
    int attempt = 1;
    Instant createdAt;
    Instant updatedAt;
    final List<HistoryEntry> history = new ArrayList<>();
    final Set<String> seenEvents = new HashSet<>();
    ModelReady ready;
    JobFailed failure;
    /** The job's OpenTelemetry trace id (from its records' traceparent header), "" until known. */
    String traceId = "";

    JobView(String jobId, Instant createdAt) {
        this.jobId = jobId;
        this.createdAt = createdAt;
        this.updatedAt = createdAt;
    }

    public boolean terminal() {
        return JobStates.terminal(state);
    }

    /** An immutable copy for the API. */
    public Snapshot snapshot() {
        return new Snapshot(jobId, name, method, state, stage, attempt, message, createdAt, updatedAt,
            List.copyOf(history), ready, failure, traceId);
    }

    public record Snapshot(String jobId, String name, String method, String state, String stage, int attempt,
                           String message, Instant createdAt, Instant updatedAt, List<HistoryEntry> history,
                           ModelReady ready, JobFailed failure, String traceId) {
        public boolean terminal() {
            return JobStates.terminal(state);
        }
    }
}
