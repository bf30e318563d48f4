package dev.quantflow.intake.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobStatus;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.Heartbeats;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.Delivery;
import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.kafka.WorkLedger;

/** The supervisor on a clock the test moves: deadlines, silent stages, and jobs it must leave alone. */
class SupervisorTest {

    static final Instant T0 = Instant.parse("2026-12-08T10:00:00Z");
    static final Duration LEASE = Duration.ofMinutes(5);

    /** A clock the test sets. */
    static final class TestClock extends Clock {
        Instant now = T0;

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }
    }

    final TestClock clock = new TestClock();
    final JobWatch watch = new JobWatch(Duration.ofHours(1));
    final List<JobWatch.Overdue> failed = new ArrayList<>();
    boolean ready = true;
    final Supervisor supervisor = new Supervisor(watch, v -> failed.add(v), clock, LEASE, () -> ready);

    static EventHeader header(String job, Instant at) {
        return EventHeader.newBuilder().setEventId(UUID.randomUUID().toString()).setJobId(job).setAttempt(1)
            .setOccurredAt(at).setProducer("test").setProducerVersion("1").build();
    }

    JobStatus status(String job, String stage, String state, double progress, String message) {
        return JobStatus.newBuilder().setHeader(header(job, clock.now)).setStage(stage).setState(state)
            .setProgress(progress).setMessage(message).build();
    }

    /** What intake publishes when it accepts a job with a budget of {@code budget}. */
    void accept(String job, Duration budget) {
        watch.on(status(job, Stages.INTAKE, JobStates.ACCEPTED, 1.0,
            "accepted: method static (vision model), budget 2.00% relative top-1 drop, up to 4 attempt(s) until "
                + clock.now.plus(budget)));
    }

    @Test
    void aJobPastItsDeadlineFailsWithDeadlineExceededNamingItsStage() {
        accept("job-1", Duration.ofSeconds(30));
        clock.advance(Duration.ofSeconds(5));
        watch.on(status("job-1", Stages.CALIBRATION, JobStates.RUNNING, 0.0, "collecting activation ranges"));
        clock.advance(Duration.ofSeconds(20));
        watch.on(status("job-1", Stages.CALIBRATION, JobStates.RUNNING, 0.0, Heartbeats.working(Duration.ofSeconds(20))));

        clock.advance(Duration.ofSeconds(4)); // 29 s: within the budget
        assertThat(supervisor.check()).isZero();

        clock.advance(Duration.ofSeconds(2)); // 31 s
        assertThat(supervisor.check()).isEqualTo(1);
        JobWatch.Overdue v = failed.getFirst();
        assertThat(v.jobId()).isEqualTo("job-1");
        assertThat(v.reasonCode()).isEqualTo(ReasonCodes.DEADLINE_EXCEEDED);
        assertThat(v.stage()).isEqualTo(Stages.CALIBRATION);
        assertThat(v.reason()).contains("running for 31s", "in stage calibration, working");

        clock.advance(Duration.ofSeconds(10));
        assertThat(supervisor.check()).as("failed once").isZero();
    }

    @Test
    void withoutAnAcceptedStatusTheDefaultBudgetApplies() {
        watch.on(status("job-2", Stages.QUANTIZE, JobStates.RUNNING, 1.0, "quantized"));
        clock.advance(Duration.ofMinutes(59));
        assertThat(supervisor.check()).isZero();
        clock.advance(Duration.ofMinutes(2));
        assertThat(supervisor.check()).isEqualTo(1);
        assertThat(failed.getFirst().reasonCode()).isEqualTo(ReasonCodes.DEADLINE_EXCEEDED);
        assertThat(failed.getFirst().reason()).contains("after stage quantize, waiting for the next stage's worker");
    }

    @Test
    void aWorkingStageSilentLongerThanTheLeaseFailsWithStageLost() {
        accept("job-3", Duration.ofHours(1));
        watch.on(status("job-3", Stages.VALIDATION, JobStates.RUNNING, 0.1, "evaluating the fp32 model"));
        for (int i = 0; i < 12; i++) { // heartbeats every 30 s keep it alive
            clock.advance(Duration.ofSeconds(30));
            watch.on(status("job-3", Stages.VALIDATION, JobStates.RUNNING, 0.1, Heartbeats.working(Duration.ofSeconds(30L * i))));
            assertThat(supervisor.check()).isZero();
        }
        clock.advance(LEASE); // then silence: exactly the lease is still fine
        assertThat(supervisor.check()).isZero();
        clock.advance(Duration.ofSeconds(1));
        assertThat(supervisor.check()).isEqualTo(1);
        JobWatch.Overdue v = failed.getFirst();
        assertThat(v.reasonCode()).isEqualTo(ReasonCodes.STAGE_LOST);
        assertThat(v.stage()).isEqualTo(Stages.VALIDATION);
        assertThat(v.reason()).contains("stage validation", "5m 01s", "lease 5m 00s");
    }

    @Test
    void aJobWaitingForTheNextStageIsNotLostHoweverLongItQueues() {
        accept("job-4", Duration.ofHours(1));
        watch.on(status("job-4", Stages.CALIBRATION, JobStates.RUNNING, 0.0, "collecting"));
        watch.on(status("job-4", Stages.CALIBRATION, JobStates.RUNNING, 0.5, Heartbeats.working(Duration.ofSeconds(30))));
        watch.on(status("job-4", Stages.CALIBRATION, JobStates.RUNNING, 0.5, Heartbeats.DONE));
        clock.advance(Duration.ofMinutes(30)); // queued behind other jobs of the quantizer pool
        assertThat(supervisor.check()).isZero();
        assertThat(failed).isEmpty();
    }

    @Test
    void terminalJobsAreLeftAlone() {
        accept("job-ready", Duration.ofSeconds(10));
        watch.on(status("job-ready", Stages.EXPORT, JobStates.READY, 1.0, "model ready"));
        accept("job-failed", Duration.ofSeconds(10));
        watch.on(JobFailed.newBuilder().setHeader(header("job-failed", clock.now)).setStage(Stages.QUANTIZE)
            .setReasonCode(ReasonCodes.QUANTIZATION_FAILED).setReason("no").build());
        // a late heartbeat of the finished stage does not bring a job back
        watch.on(status("job-ready", Stages.EXPORT, JobStates.RUNNING, 0.0, Heartbeats.working(Duration.ofSeconds(30))));
        clock.advance(Duration.ofHours(2));
        assertThat(supervisor.check()).isZero();
        assertThat(failed).isEmpty();
    }

    @Test
    void waitsUntilTheProjectionHasCaughtUp() {
        accept("job-5", Duration.ofSeconds(10));
        clock.advance(Duration.ofMinutes(1));
        ready = false;
        assertThat(supervisor.check()).isZero();
        ready = true;
        assertThat(supervisor.check()).isEqualTo(1);
    }

    @Test
    void aFailureThatCannotBePublishedIsTriedAgainNextRound() {
        List<String> calls = new ArrayList<>();
        Supervisor flaky = new Supervisor(watch, v -> {
            calls.add(v.jobId());
            if (calls.size() == 1) {
                throw new IllegalStateException("broker unavailable");
            }
            return true;
        }, clock, LEASE, () -> true);
        accept("job-6", Duration.ofSeconds(10));
        clock.advance(Duration.ofMinutes(1));
        assertThat(flaky.check()).isZero();
        assertThat(flaky.check()).isEqualTo(1);
        assertThat(flaky.check()).isZero();
        assertThat(calls).containsExactly("job-6", "job-6");
    }

    /** A ledger in memory. */
    static final class MemoryLedger implements WorkLedger {
        final Map<String, String> failed = new HashMap<>();

        @Override
        public Optional<String> failure(String jobId) {
            return Optional.ofNullable(failed.get(jobId));
        }

        @Override
        public void markFailed(String jobId, String reasonCode, String reason) {
            failed.put(jobId, reasonCode + ": " + reason);
        }

        @Override
        public Delivery delivery(String jobId, String group, String eventId) {
            return Delivery.NONE;
        }

        @Override
        public void saveDelivery(String jobId, String group, String eventId, Delivery delivery) {
        }
    }

    @Test
    void publishedFailuresMarkTheJobThenPublishJobFailedAndStatusWithStableIds() throws Exception {
        MemoryLedger ledger = new MemoryLedger();
        var producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
        var failures = new PublishedJobFailures(ledger, new EventPublisher(producer), "intake", "1");
        var verdict = new JobWatch.Overdue("job-7", 2, Stages.QUANTIZE, ReasonCodes.STAGE_LOST, "stage quantize went silent");

        assertThat(failures.fail(verdict)).isTrue();
        assertThat(ledger.failure("job-7")).contains("STAGE_LOST: stage quantize went silent");
        var sent = producer.history();
        assertThat(sent).extracting(r -> r.topic()).containsExactly(Topics.JOBS_FAILED.name(), Topics.JOBS_STATUS.name());
        JobFailed f = AvroCodec.decode(sent.get(0).value(), JobFailed.class);
        assertThat(f.getReasonCode()).isEqualTo(ReasonCodes.STAGE_LOST);
        assertThat(f.getStage()).isEqualTo(Stages.QUANTIZE);
        assertThat(f.getHeader().getAttempt()).isEqualTo(2);
        JobStatus s = AvroCodec.decode(sent.get(1).value(), JobStatus.class);
        assertThat(s.getState()).isEqualTo(JobStates.FAILED);

        // another intake failing the same job would use the same ids; this one, seeing the marker, publishes nothing
        var again = new PublishedJobFailures(new MemoryLedger(), new EventPublisher(producer), "intake", "1");
        again.fail(verdict);
        assertThat(AvroCodec.decode(producer.history().get(2).value(), JobFailed.class).getHeader().getEventId())
            .isEqualTo(f.getHeader().getEventId());
        assertThat(failures.fail(verdict)).isFalse();
        assertThat(producer.history()).hasSize(4);
    }
}
