package dev.quantflow.intake.messaging;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.quantflow.events.QuantizationRequested;
import dev.quantflow.contracts.JobOptions;
import dev.quantflow.intake.auth.TenantTokens;
import dev.quantflow.intake.auth.Tenants;
import dev.quantflow.intake.service.JobSubmitter;
import dev.quantflow.intake.service.RejectedInputException;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.kafka.StageHandler;

/**
 * The Kafka way in: a {@code QuantizationRequested} on {@code quantflow.requests} (inputs already in the store,
 * job id = the header's job id = the record key) is validated and started exactly like a REST submit. A refused
 * request becomes a {@code JobFailed} with the same reason code the REST API would answer. The job id names the
 * tenant ({@code <tenant>.job-<uuid>}); the tenant must be a configured one and its inputs under its own prefix, as
 * on the REST path. Who may write which tenant's requests is up to the broker's ACLs (see the README's
 * "Authentication and tenants").
 */
@ApplicationScoped
public class RequestStage implements StageHandler<QuantizationRequested> {

    @Inject
    JobSubmitter submitter;
    @Inject
    TenantTokens tokens;

    @Override
    public Binding<QuantizationRequested> binding() {
        return Bindings.INTAKE;
    }

    @Override
    public void handle(QuantizationRequested request, StageContext ctx) {
        JobOptions options = JobOptions.builder()
            .name(request.getInputs().getName())
            .method(request.getMethod())
            .maxRelativeDrop(request.getMaxRelativeDrop())
            .maxAttempts(request.getMaxAttempts())
            .excludedNodes(request.getExcludedNodes())
            .timeBudgetSeconds(request.getTimeBudgetSeconds())
            .maxSizeRatio(request.getMaxSizeRatio())
            .metric(request.getMetric())
            .metricThreshold(request.getMetricThreshold())
            .bits(request.getBits())
            .blockSize(request.getBlockSize())
            .allowRetraining(request.getAllowRetraining())
            .maxLatencyMs(request.getMaxLatencyMs())
            .trainingSteps(request.getTrainingSteps())
            .learningRate(request.getLearningRate())
            .profileOn(request.getProfileHardwareClasses())
            .targetHardwareClass(request.getTargetHardwareClass())
            .build();
        String tenant = Tenants.ofJob(request.getHeader().getJobId()).orElse(null);
        if (tenant == null || !tokens.isTenant(tenant)) {
            throw new PermanentStageException(ReasonCodes.FORBIDDEN_REFERENCE, "job id '" + request.getHeader().getJobId()
                + "' names no configured tenant (ids are <tenant>.job-<uuid>, the tenant one of quantflow.auth.tokens.*)");
        }
        try {
            submitter.submitReferences(request.getHeader(), request.getInputs(), options);
        } catch (RejectedInputException e) {
            if (e.status() >= 500) {
                throw new IllegalStateException(e.getMessage(), e); // transient: the worker retries
            }
            throw new PermanentStageException(e.code(), e.getMessage(), e);
        }
    }
}
