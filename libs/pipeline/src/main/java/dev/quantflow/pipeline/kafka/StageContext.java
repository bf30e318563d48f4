package dev.quantflow.pipeline.kafka;

import org.apache.avro.specific.SpecificRecord;

import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobStatus;
import dev.quantflow.pipeline.EventHeaders;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.Topics.Topic;

/** What a handler needs while it works on one event: its header, publishing and status reporting. */
public final class StageContext {

    private final EventHeader input;
    private final EventPublisher publisher;
    private final String producer;
    private final String version;
    private final String stage;
    private int statusSeq;
    private volatile double lastProgress;
    /** Set when the worker gave up on this work (timed out, or its job failed meanwhile): nothing more is published. */
    private volatile String revoked;
    /** The run so far (duration, peak memory), supplied by the worker; null outside a worker (tests, tools). */
    private volatile java.util.function.Supplier<StageRun> run;
    /** Called once, before the first non-status publish: the worker notes the run before the next stage starts. */
    private volatile Runnable beforeHandOff;
    private boolean handedOff;

    public StageContext(EventHeader input, EventPublisher publisher, String producer, String version, String stage) {
        this.input = input;
        this.publisher = publisher;
        this.producer = producer;
        this.version = version;
        this.stage = stage;
    }

    public EventHeader input() {
        return input;
    }

    public String jobId() {
        return input.getJobId();
    }

    public int attempt() {
        return input.getAttempt();
    }

    /** Header for an event this stage emits; deterministic per (input event, purpose, attempt). */
    public EventHeader header(String purpose, int attempt) {
        return EventHeaders.derived(input, attempt, producer, version, purpose);
    }

    public <V extends SpecificRecord> void publish(Topic<V> topic, V event) {
        checkNotRevoked();
        if (!topic.equals(Topics.JOBS_STATUS)) {
            handOff();
        }
        publisher.publish(topic, jobId(), event);
    }

    /** Reports progress on the compacted job-status topic. */
    public void status(String state, double progress, String message) {
        status(state, attempt(), progress, message);
    }

    public void status(String state, int attempt, double progress, String message) {
        checkNotRevoked();
        lastProgress = progress;
        JobStatus s = JobStatus.newBuilder()
            .setHeader(header("status-" + stage + "-" + (statusSeq++), attempt))
            .setStage(stage)
            .setState(state)
            .setProgress(progress)
            .setMessage(message == null ? "" : message)
            .build();
        publisher.publish(Topics.JOBS_STATUS, jobId(), s);
    }

    /**
     * The worker gave up on this work (it ran past {@code max-job-duration}, or its job failed meanwhile): a handler
     * that goes on anyway (a native call that returned late) publishes nothing more for it.
     */
    void track(java.util.function.Supplier<StageRun> runSoFar, Runnable onHandOff) {
        this.run = runSoFar;
        this.beforeHandOff = onHandOff;
    }

    /** This stage run so far: its duration and the process's peak memory since it started; empty outside a worker. */
    public java.util.Optional<StageRun> runSoFar() {
        var r = run;
        return r == null ? java.util.Optional.empty() : java.util.Optional.of(r.get());
    }

    private synchronized void handOff() {
        Runnable r = beforeHandOff;
        if (handedOff || r == null) {
            return;
        }
        handedOff = true;
        r.run();
    }

    void revoke(String why) {
        revoked = why;
    }

    /** Whether the worker gave up on this work; a handler may check it between steps and stop. */
    public boolean revoked() {
        return revoked != null;
    }

    private void checkNotRevoked() {
        String why = revoked;
        if (why != null) {
            throw new IllegalStateException("the " + stage + " worker gave up on job " + jobId() + " (" + why
                + "); nothing more is published for it");
        }
    }

    /** The progress of the last status this context reported (0 before any); heartbeats repeat it. */
    public double lastProgress() {
        return lastProgress;
    }

    public String producer() {
        return producer;
    }

    public String version() {
        return version;
    }

    public String stage() {
        return stage;
    }
}
