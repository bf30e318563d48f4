package dev.quantflow.client;

import java.util.Optional;

import dev.quantflow.events.JobFailed;

/**
 * The job ended FAILED: {@link #code()} is its reason code (e.g. {@code TARGET_MISSED}, {@code INVALID_MODEL}),
 * {@link #reason()} the explanation. Awaiting over Kafka also gives the {@link JobFailed} event itself.
 */
public final class JobFailedException extends QuantflowException {

    private final String jobId;
    private final String stage;
    private final boolean bestEffort;
    private final transient JobFailed event;

    JobFailedException(String jobId, String code, String reason, String stage, boolean bestEffort, JobFailed event) {
        super(code, reason, 0);
        this.jobId = jobId;
        this.stage = stage;
        this.bestEffort = bestEffort;
        this.event = event;
    }

    static JobFailedException of(JobFailed event) {
        return new JobFailedException(event.getHeader().getJobId(), event.getReasonCode(), event.getReason(),
            event.getStage(), event.getBestEffort(), event);
    }

    public String jobId() {
        return jobId;
    }

    /** The stage that failed the job (intake, calibration, quantize, validation, export). */
    public String stage() {
        return stage;
    }

    /** The best attempt was exported although it misses the target; its artifacts can still be fetched. */
    public boolean bestEffort() {
        return bestEffort;
    }

    /** The {@code JobFailed} event when the failure was read from {@code quantflow.jobs.failed}. */
    public Optional<JobFailed> event() {
        return Optional.ofNullable(event);
    }
}
