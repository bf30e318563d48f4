package dev.quantflow.intake.supervisor;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The job supervisor ({@code quantflow.supervisor.*}). */
@ConfigMapping(prefix = "quantflow.supervisor")
public interface SupervisorConfig {

    /**
     * Whether this intake process supervises jobs. Every intake may (their failure events have the same ids, and a
     * job already marked failed is skipped); switch it off on all but one to avoid the rare double event.
     */
    @WithDefault("true")
    boolean enabled();

    /** How often the supervisor looks for jobs past their deadline or with a silent stage. */
    @WithDefault("10s")
    Duration interval();

    /**
     * How long a stage that is working on a job may stay silent (no status, no heartbeat) before the job fails with
     * STAGE_LOST. Must be longer than the stages' {@code quantflow.worker.heartbeat-interval} (30 s by default),
     * and longer than the pool's {@code quantflow.worker.session-timeout} (45 s) if a killed worker's job should get
     * the chance to be picked up by another process first.
     */
    @WithDefault("5m")
    Duration stageLease();
}
