package dev.quantflow.intake.supervisor;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobStatus;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.kafka.WorkLedger;

/**
 * Fails a job for the supervisor: the failed marker first (so every stage drops the job's work from now on), then
 * the {@code JobFailed} and the FAILED status. Event ids are name-based on (job, reason code), so two intakes failing
 * the same job publish the same ids and the projection keeps one.
 */
public final class PublishedJobFailures implements JobFailures {

    private final WorkLedger ledger;
    private final EventPublisher publisher;
    private final String producer;
    private final String version;

    public PublishedJobFailures(WorkLedger ledger, EventPublisher publisher, String producer, String version) {
        this.ledger = ledger;
        this.publisher = publisher;
        this.producer = producer;
        this.version = version;
    }

    @Override
    public boolean fail(JobWatch.Overdue v) throws Exception {
        if (ledger.failure(v.jobId()).isPresent()) {
            return false;
        }
        ledger.markFailed(v.jobId(), v.reasonCode(), v.reason());
        publisher.publish(Topics.JOBS_FAILED, v.jobId(), JobFailed.newBuilder()
            .setHeader(header(v, "failed"))
            .setStage(v.stage())
            .setReasonCode(v.reasonCode())
            .setReason(v.reason())
            .build());
        publisher.publish(Topics.JOBS_STATUS, v.jobId(), JobStatus.newBuilder()
            .setHeader(header(v, "failed-status"))
            .setStage(v.stage())
            .setState(JobStates.FAILED)
            .setProgress(1.0)
            .setMessage(v.reasonCode() + ": " + v.reason())
            .build());
        return true;
    }

    private EventHeader header(JobWatch.Overdue v, String purpose) {
        String seed = v.jobId() + "|supervisor|" + v.reasonCode() + "|" + purpose;
        return EventHeader.newBuilder()
            .setEventId(UUID.nameUUIDFromBytes(seed.getBytes(StandardCharsets.UTF_8)).toString())
            .setJobId(v.jobId())
            .setAttempt(v.attempt())
            .setOccurredAt(Instant.now())
            .setProducer(producer)
            .setProducerVersion(version)
            .build();
    }
}
