package dev.quantflow.pipeline.quarkus;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready and live while every stage worker's poll loop runs and none has a stuck work thread (work that ignored its
 * cancellation past {@code max-job-duration}: a native call); DOWN meanwhile, so an orchestrator restarts the process.
 */
@Readiness
@Liveness
@ApplicationScoped
public class WorkersHealthCheck implements HealthCheck {

    @Inject
    StageRunner runner;

    @Override
    public HealthCheckResponse call() {
        var b = HealthCheckResponse.named("stage-workers").up();
        for (var w : runner.workers()) {
            b.withData(w.group() + ".processed", w.processedCount());
            b.withData(w.group() + ".assignments", w.assignmentCount());
            b.withData(w.group() + ".partitionsLost", w.partitionsLostCount());
            b.withData(w.group() + ".commitFailures", w.commitFailureCount());
            b.withData(w.group() + ".stuckThreads", w.stuckThreads());
            if (!w.healthy()) {
                b.down().withData(w.group() + ".error", w.lastError());
            }
        }
        return b.build();
    }
}
