package dev.quantflow.intake.config;

import java.time.Duration;

import io.quarkus.runtime.configuration.MemorySize;
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

    /** How long presigned download links stay valid (anyone holding a link can fetch the file until then). */
    @WithDefault("15m")
    Duration downloadLinkExpiry();

    /**
     * The largest submit (all its files together); a larger one is refused with 413 UPLOAD_TOO_LARGE before its body
     * is read. Parts are streamed to temporary files, then checked whole in the heap, so a submit over a third of the
     * heap is refused too.
     */
    @WithDefault("1G")
    MemorySize maxUploadSize();

    /**
     * What one job's model may need in a stage worker: a model whose declared weights, plus its largest tensor of
     * declared fixed shape, exceed it is refused (422 MODEL_TOO_LARGE) instead of running a worker out of memory.
     */
    @WithDefault("8G")
    MemorySize workerMemoryBudget();
}
