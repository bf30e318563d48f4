package dev.quantflow.pipeline;

import java.time.Duration;

import dev.quantflow.events.JobStatus;

/**
 * Heartbeats: {@code JobStatus} events (state RUNNING) that the stage worker publishes while a stage works on a job,
 * every {@code quantflow.worker.heartbeat-interval}, and once when the stage is done with the event. They tell the
 * supervisor (intake) that the stage is alive; they are not progress, so the job's history leaves them out. Their
 * message starts with {@link #PREFIX}; the one sent at the end is {@link #DONE}.
 */
public final class Heartbeats {

    public static final String PREFIX = "heartbeat: ";
    /** The message of the last heartbeat of a stage's work on one event: the stage is no longer working on it. */
    public static final String DONE = PREFIX + "done";

    private Heartbeats() {
    }

    public static boolean is(JobStatus status) {
        return status.getMessage() != null && status.getMessage().startsWith(PREFIX);
    }

    public static boolean isDone(JobStatus status) {
        return DONE.equals(status.getMessage());
    }

    /** The message of a heartbeat sent {@code working} after the stage started on the event. */
    public static String working(Duration working) {
        return PREFIX + "working for " + working.toSeconds() + " s";
    }
}
