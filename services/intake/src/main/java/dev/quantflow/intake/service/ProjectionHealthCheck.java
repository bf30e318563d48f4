package dev.quantflow.intake.service;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready while the job-state projection reads Kafka. */
@Readiness
@ApplicationScoped
public class ProjectionHealthCheck implements HealthCheck {

    @Inject
    JobProjection projection;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("job-projection").status(projection.healthy()).build();
    }
}
