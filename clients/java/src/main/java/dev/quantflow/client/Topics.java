package dev.quantflow.client;

/**
 * The topics a client talks to (the registry of every topic is {@code dev.quantflow.pipeline.Topics} in libs/pipeline;
 * {@code WireCompatibilityTest} checks these names against it). Keys are the job id.
 */
public final class Topics {

    /** {@code QuantizationRequested}: a job request with its inputs already in the store. */
    public static final String REQUESTS = "quantflow.requests";
    /** {@code ModelReady}: one per successful job. */
    public static final String MODELS_READY = "quantflow.models.ready";
    /** {@code JobFailed}: one per failed job (refused requests too). */
    public static final String JOBS_FAILED = "quantflow.jobs.failed";
    /** {@code JobStatus}: progress, compacted. */
    public static final String JOBS_STATUS = "quantflow.jobs.status";

    private Topics() {
    }
}
