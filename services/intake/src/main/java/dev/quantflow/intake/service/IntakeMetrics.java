package dev.quantflow.intake.service;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Submissions, REST and Kafka alike, as {@code quantflow_intake_jobs_total{outcome=submitted|refused,reason}} on
 * {@code /q/metrics}: reason is the refusal's reason code ({@code none} for accepted jobs).
 */
@ApplicationScoped
public class IntakeMetrics {

    /** Counts nothing: what a {@link JobSubmitter} made without CDI (plain unit tests) reports to. */
    static final IntakeMetrics NONE = new IntakeMetrics();

    @Inject
    MeterRegistry registry;

    private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();

    public void submitted() {
        if (registry != null) {
            counter("submitted", "none").increment();
        }
    }

    public void refused(String reasonCode) {
        if (registry != null) {
            counter("refused", reasonCode).increment();
        }
    }

    private Counter counter(String outcome, String reason) {
        return counters.computeIfAbsent(outcome + "/" + reason, k -> Counter.builder("quantflow.intake.jobs")
            .description("Jobs intake accepted (submitted) or refused, by reason code")
            .tags("outcome", outcome, "reason", reason).register(registry));
    }
}
