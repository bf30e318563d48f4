package dev.quantflow.intake.config;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Intake settings ({@code quantflow.intake.*}). */
@ConfigMapping(prefix = "quantflow.intake")
public interface IntakeConfig {

    /** Accuracy budget when a request states none: relative top-1 drop (0.02 = 2%, the product spec's target). */
    @WithDefault("0.02")
    double defaultMaxRelativeDrop();

    /** Attempts (first try + debug-loop retries) when a request states none. */
    @WithDefault("4")
    int defaultMaxAttempts();

    /** Time budget when a request states none: no new attempt starts after it, and the supervisor fails a job still running. */
    @WithDefault("1h")
    Duration defaultTimeBudget();

    /** How long presigned download links stay valid. */
    @WithDefault("1h")
    Duration downloadLinkExpiry();
}
