package dev.quantflow.pipeline.store;

/**
 * Deterministic object keys: one place per (job, attempt, stage, name). A redelivered event writes the same key,
 * so duplicates overwrite instead of piling up.
 */
public final class ArtifactKeys {

    private ArtifactKeys() {
    }

    public static String input(String jobId, String name) {
        return "jobs/" + jobId + "/input/" + name;
    }

    /** What intake derived from the inputs before the job starts (the prepared model): {@code jobs/<job>/prepared/<name>}. */
    public static String prepared(String jobId, String name) {
        return "jobs/" + jobId + "/prepared/" + name;
    }

    public static String stage(String jobId, int attempt, String stage, String name) {
        return "jobs/" + jobId + "/attempt-" + attempt + "/" + stage + "/" + name;
    }

    public static String output(String jobId, String name) {
        return "jobs/" + jobId + "/output/" + name;
    }

    /** Marker written after a consumer group finished an event (idempotency across restarts and processes). */
    public static String processedMarker(String jobId, String group, String eventId) {
        return "jobs/" + jobId + "/processed/" + group + "/" + eventId;
    }

    /**
     * Written once a job has failed (by the stage worker that failed it, or by intake's supervisor); every stage
     * worker reads it before working on an event of the job and drops the work when it exists.
     */
    public static String failedMarker(String jobId) {
        return "jobs/" + jobId + "/failed";
    }

    /** Delivery count (and last error, peak memory) of one event in one consumer group: the poison-record guard. */
    public static String deliveries(String jobId, String group, String eventId) {
        return "jobs/" + jobId + "/deliveries/" + group + "/" + eventId;
    }

    /** One stage run's duration and peak memory (see {@code StageRun}): {@code jobs/<job>/stages/<group>/<eventId>.json}. */
    public static String stageRun(String jobId, String group, String eventId) {
        return stageRuns(jobId) + group + "/" + eventId + ".json";
    }

    public static String stageRuns(String jobId) {
        return "jobs/" + jobId + "/stages/";
    }

    public static String jobPrefix(String jobId) {
        return "jobs/" + jobId + "/";
    }
}
