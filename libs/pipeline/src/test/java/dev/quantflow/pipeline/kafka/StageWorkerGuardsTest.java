package dev.quantflow.pipeline.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.DeadLetter;
import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.Heartbeats;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.store.ArtifactStore;

/**
 * The stage worker's guards over Kafka's mock consumer and producer (the real worker code, no broker): dropping work
 * of failed jobs, the delivery counter with its dead-letter topic, heartbeats. The real-broker behaviour is in
 * {@code StageWorkerIT} (libs/test-support).
 */
class StageWorkerGuardsTest {

    static final String GROUP = "test-calibration";
    static final TopicPartition TP = new TopicPartition(Topics.CALIBRATION_REQUESTED.name(), 0);

    /** Like a broker-backed consumer, waits a little when it has nothing, instead of spinning. */
    static final class PacedMockConsumer extends MockConsumer<String, byte[]> {
        PacedMockConsumer() {
            super("earliest");
        }

        @Override
        public synchronized ConsumerRecords<String, byte[]> poll(Duration timeout) {
            ConsumerRecords<String, byte[]> r = super.poll(timeout);
            if (r.isEmpty()) {
                try {
                    wait(Math.min(20, Math.max(1, timeout.toMillis())));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return r;
        }
    }

    static final class MemoryLedger implements WorkLedger {
        final Map<String, String> failed = new ConcurrentHashMap<>();
        final Map<String, Delivery> deliveries = new ConcurrentHashMap<>();
        final List<StageRun> runs = new CopyOnWriteArrayList<>();
        /** For each run noted: whether the stage's output was already published then. */
        final List<Boolean> outputOutWhenNoted = new CopyOnWriteArrayList<>();
        java.util.function.Predicate<String> outputPublished = j -> false;

        @Override
        public void saveStageRun(String jobId, StageRun run) {
            outputOutWhenNoted.add(outputPublished.test(jobId));
            runs.add(run);
        }

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
            return deliveries.getOrDefault(jobId + "/" + group + "/" + eventId, Delivery.NONE);
        }

        @Override
        public void saveDelivery(String jobId, String group, String eventId, Delivery delivery) {
            deliveries.put(jobId + "/" + group + "/" + eventId, delivery);
        }
    }

    static final class MemoryProcessed implements ProcessedEvents {
        final Set<String> done = ConcurrentHashMap.newKeySet();
        /** As a worker that dies right after publishing: no marker is ever written. */
        volatile boolean dieBeforeMarking;

        @Override
        public boolean seen(String jobId, String group, String eventId) {
            return done.contains(jobId + "/" + group + "/" + eventId);
        }

        @Override
        public void mark(String jobId, String group, String eventId) {
            if (dieBeforeMarking) {
                return;
            }
            done.add(jobId + "/" + group + "/" + eventId);
        }
    }

    /** Forwards to the static quantizer topic; records which jobs it saw and what the ledger held meanwhile. */
    final class Forwarding implements StageHandler<CalibrationRequested> {
        final List<String> jobs = new CopyOnWriteArrayList<>();
        volatile EventHeader lastInput;
        final List<Integer> countsSeenWhileWorking = new CopyOnWriteArrayList<>();
        volatile long sleepMs;
        /** A job whose call blocks uninterruptibly (as a native ONNX Runtime call) until {@link #release}. */
        volatile String stuckJob;
        /** Tries that fail as if the object store were down (connection refused) before one succeeds. */
        final java.util.concurrent.atomic.AtomicInteger storeDownTries = new java.util.concurrent.atomic.AtomicInteger();
        volatile boolean release;
        final List<String> interrupted = new CopyOnWriteArrayList<>();
        final List<String> lateRefusals = new CopyOnWriteArrayList<>();

        @Override
        public Binding<CalibrationRequested> binding() {
            return new Binding<>(Topics.CALIBRATION_REQUESTED, Stages.CALIBRATION, GROUP);
        }

        private void blockUninterruptibly(StageContext ctx) {
            boolean wasInterrupted = false;
            while (!release) {
                java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
                wasInterrupted |= Thread.interrupted(); // ignored, like a native call does
            }
            if (wasInterrupted) {
                interrupted.add(ctx.jobId());
            }
        }

        @Override
        public void handle(CalibrationRequested event, StageContext ctx) throws Exception {
            jobs.add(ctx.jobId());
            lastInput = ctx.input();
            countsSeenWhileWorking.add(ledger.delivery(ctx.jobId(), GROUP, ctx.input().getEventId()).count());
            ctx.status(JobStates.RUNNING, 0.25, "calibrating");
            if (storeDownTries.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new dev.quantflow.pipeline.store.StoreException("cannot put jobs/" + ctx.jobId() + "/x: Failed to"
                    + " connect to /127.0.0.1:9000", new java.net.ConnectException("Connection refused"), true);
            }
            if (ctx.jobId().equals(stuckJob)) {
                blockUninterruptibly(ctx);
                try {
                    ctx.publish(Topics.QUANTIZE_STATIC, QuantizeRequested.newBuilder()
                        .setHeader(ctx.header("quantize", ctx.attempt())).setContext(event.getContext()).build());
                } catch (IllegalStateException e) {
                    lateRefusals.add(e.getMessage());
                }
                return;
            }
            if (sleepMs > 0) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    interrupted.add(ctx.jobId());
                    throw e;
                }
            }
            ctx.publish(Topics.QUANTIZE_STATIC, QuantizeRequested.newBuilder()
                .setHeader(ctx.header("quantize", ctx.attempt()))
                .setContext(event.getContext())
                .build());
        }
    }

    final MemoryLedger ledger = new MemoryLedger();
    final MemoryProcessed processed = new MemoryProcessed();
    final PacedMockConsumer consumer = new PacedMockConsumer();
    final MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    final Forwarding handler = new Forwarding();
    StageWorker<CalibrationRequested> worker;

    @AfterEach
    void stop() {
        handler.release = true;
        if (worker != null) {
            worker.stop(Duration.ofSeconds(5));
        }
    }

    void start(GuardSettings guards, CalibrationRequested... events) {
        start(guards, Duration.ofMinutes(1), events);
    }

    void start(GuardSettings guards, Duration maxJobDuration, CalibrationRequested... events) {
        worker = new StageWorker<>(handler, new KafkaSettings("mock:9092", maxJobDuration, 2, Duration.ofMillis(50)),
            new EventPublisher(producer), processed, ledger, guards, "test-worker", "1", consumer);
        worker.start();
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(TP));
            consumer.updateBeginningOffsets(Map.of(TP, 0L));
            long offset = 0;
            for (CalibrationRequested e : events) {
                consumer.addRecord(new ConsumerRecord<>(TP.topic(), TP.partition(), offset++, e.getHeader().getJobId(),
                    AvroCodec.encode(e)));
            }
        });
    }

    static CalibrationRequested request(String jobId) {
        ArtifactRef model = ArtifactStore.ref("quantflow", "jobs/" + jobId + "/input/model.onnx", "00", 1, "application/onnx");
        return CalibrationRequested.newBuilder()
            .setHeader(EventHeader.newBuilder().setEventId(UUID.randomUUID().toString()).setJobId(jobId).setAttempt(1)
                .setOccurredAt(Instant.now()).setProducer("test").setProducerVersion("1").build())
            .setContext(JobContext.newBuilder()
                .setInputs(JobInputs.newBuilder().setModel(model).build())
                .setPlan(JobPlan.newBuilder().setMethod("static").setRecipe(Recipe.newBuilder().build()).build())
                .build())
            .build();
    }

    <V extends SpecificRecord> List<V> published(Topics.Topic<V> topic, String jobId) {
        return producer.history().stream()
            .filter(r -> r.topic().equals(topic.name()) && jobId.equals(r.key()))
            .map(ProducerRecord::value)
            .map(b -> AvroCodec.decode(b, topic.valueType()))
            .toList();
    }

    long committed() {
        var c = consumer.committed(Set.of(TP)).get(TP);
        return c == null ? 0 : c.offset();
    }

    static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void countsTheDeliveryBeforeTheHandlerRunsSoAKilledWorkerLeavesItBehind() throws Exception {
        CalibrationRequested a = request("job-a");
        start(GuardSettings.DEFAULTS, a);
        await("job-a forwarded", () -> !published(Topics.QUANTIZE_STATIC, "job-a").isEmpty());
        assertThat(handler.countsSeenWhileWorking).containsExactly(1);
        assertThat(ledger.delivery("job-a", GROUP, a.getHeader().getEventId()).count()).isEqualTo(1);
    }

    @Test
    void afterMaxDeliveriesTheRecordGoesToTheDeadLetterTopicAndTheJobFailsWhileTheNextRecordIsProcessed() throws Exception {
        CalibrationRequested poison = request("job-poison");
        CalibrationRequested next = request("job-next");
        // What three workers that were killed while calibrating leave behind: each counted its delivery (the last
        // one noted 11.3 GB peak memory at its last heartbeat) and died before finishing.
        String eventId = poison.getHeader().getEventId();
        for (int i = 1; i <= 3; i++) {
            ledger.saveDelivery("job-poison", GROUP, eventId, ledger.delivery("job-poison", GROUP, eventId).next()
                .withPeakRss(i == 3 ? 11_300_000_000L : 2_000_000_000L));
        }
        start(new GuardSettings(3, Duration.ofSeconds(30)), poison, next);

        await("job-next forwarded", () -> !published(Topics.QUANTIZE_STATIC, "job-next").isEmpty());
        await("both committed", () -> committed() == 2);

        assertThat(handler.jobs).containsExactly("job-next");
        List<DeadLetter> dead = published(Topics.DEAD_LETTERS, "job-poison");
        assertThat(dead).hasSize(1);
        DeadLetter d = dead.getFirst();
        assertThat(d.getSourceTopic()).isEqualTo(Topics.CALIBRATION_REQUESTED.name());
        assertThat(d.getSourceOffset()).isZero();
        assertThat(d.getGroup()).isEqualTo(GROUP);
        assertThat(d.getDeliveries()).isEqualTo(3);
        assertThat(d.getReasonCode()).isEqualTo(ReasonCodes.STAGE_CRASHED);
        assertThat(d.getPeakRssBytes()).isEqualTo(11_300_000_000L);
        assertThat(AvroCodec.decode(d.getPayload().array(), CalibrationRequested.class)).isEqualTo(poison);

        List<JobFailed> failed = published(Topics.JOBS_FAILED, "job-poison");
        assertThat(failed).hasSize(1);
        assertThat(failed.getFirst().getReasonCode()).isEqualTo(ReasonCodes.STAGE_CRASHED);
        assertThat(failed.getFirst().getStage()).isEqualTo(Stages.CALIBRATION);
        assertThat(failed.getFirst().getReason())
            .isEqualTo("calibration worker killed while working on this job, 3 times: likely out of memory; peak RSS 11.3 GB");
        assertThat(ledger.failure("job-poison")).get().asString().startsWith(ReasonCodes.STAGE_CRASHED);
        assertThat(published(Topics.JOBS_FAILED, "job-next")).isEmpty();
        assertThat(published(Topics.DEAD_LETTERS, "job-next")).isEmpty();
    }

    @Test
    void belowMaxDeliveriesARedeliveredRecordIsWorkedOnAgain() throws Exception {
        CalibrationRequested a = request("job-a");
        String eventId = a.getHeader().getEventId();
        ledger.saveDelivery("job-a", GROUP, eventId, Delivery.NONE.next().next()); // two workers died on it
        start(new GuardSettings(3, Duration.ofSeconds(30)), a);
        await("job-a forwarded", () -> !published(Topics.QUANTIZE_STATIC, "job-a").isEmpty());
        assertThat(handler.countsSeenWhileWorking).containsExactly(3);
        assertThat(published(Topics.DEAD_LETTERS, "job-a")).isEmpty();
    }

    @Test
    void dropsWorkForAJobThatHasAlreadyFailedAndMovesOn() throws Exception {
        ledger.markFailed("job-failed", ReasonCodes.DEADLINE_EXCEEDED, "past its time budget");
        start(GuardSettings.DEFAULTS, request("job-failed"), request("job-ok"));
        await("job-ok forwarded", () -> !published(Topics.QUANTIZE_STATIC, "job-ok").isEmpty());
        await("both committed", () -> committed() == 2);
        assertThat(handler.jobs).containsExactly("job-ok");
        assertThat(producer.history()).noneMatch(r -> "job-failed".equals(r.key()));
    }

    @Test
    void aWorkingStageSendsHeartbeatsAndADoneBeatAndNotesItsPeakMemory() throws Exception {
        handler.sleepMs = 900;
        CalibrationRequested a = request("job-slow");
        start(new GuardSettings(3, Duration.ofMillis(200)), a);
        await("job-slow forwarded", () -> !published(Topics.QUANTIZE_STATIC, "job-slow").isEmpty());
        Predicate<JobStatus> done = Heartbeats::isDone;
        await("done beat", () -> published(Topics.JOBS_STATUS, "job-slow").stream().anyMatch(done));

        List<JobStatus> statuses = published(Topics.JOBS_STATUS, "job-slow");
        List<JobStatus> beats = statuses.stream().filter(Heartbeats::is).filter(done.negate()).toList();
        assertThat(beats).hasSizeGreaterThanOrEqualTo(2);
        assertThat(beats).allSatisfy(b -> {
            assertThat(b.getStage()).isEqualTo(Stages.CALIBRATION);
            assertThat(b.getState()).isEqualTo(JobStates.RUNNING);
            assertThat(b.getProgress()).isEqualTo(0.25); // the handler's last progress, repeated
        });
        assertThat(beats.stream().map(b -> b.getHeader().getEventId()).distinct()).hasSameSizeAs(beats);
        assertThat(statuses.getLast().getMessage()).isEqualTo(Heartbeats.DONE);
        if (PeakRss.bytes() > 0) {
            assertThat(ledger.delivery("job-slow", GROUP, a.getHeader().getEventId()).peakRssBytes()).isPositive();
        }
    }

    @Test
    void workThatIgnoresItsCancellationIsAbandonedTheWorkerIsDownAndTheNextJobRunsOnAFreshThread() throws Exception {
        handler.stuckJob = "job-stuck";
        start(new GuardSettings(3, Duration.ofSeconds(30), Duration.ofMillis(300)), Duration.ofMillis(400),
            request("job-stuck"), request("job-next"));

        await("job-next forwarded", () -> !published(Topics.QUANTIZE_STATIC, "job-next").isEmpty());
        await("both committed", () -> committed() == 2);
        assertThat(published(Topics.JOBS_FAILED, "job-stuck")).singleElement().satisfies(f -> {
            assertThat(f.getReasonCode()).isEqualTo(ReasonCodes.STAGE_ERROR);
            assertThat(f.getStage()).isEqualTo(Stages.CALIBRATION);
            assertThat(f.getReason()).startsWith("calibration took longer than PT0.4S (max-job-duration)")
                .contains("did not stop when cancelled");
        });
        assertThat(ledger.failure("job-stuck")).get().asString().startsWith(ReasonCodes.STAGE_ERROR);
        // The stuck thread still runs: readiness and liveness say DOWN, with the job and why.
        assertThat(worker.healthy()).isFalse();
        assertThat(worker.stuckThreads()).isEqualTo(1);
        assertThat(worker.lastError()).contains("stuck", "job-stuck", "max-job-duration");
        assertThat(handler.jobs).containsExactly("job-stuck", "job-next");

        // The native call returns at last: the worker is healthy again and the late call publishes nothing.
        handler.release = true;
        await("stuck thread gone", () -> worker.healthy());
        await("late publish refused", () -> !handler.lateRefusals.isEmpty());
        assertThat(published(Topics.QUANTIZE_STATIC, "job-stuck")).isEmpty();
        assertThat(worker.stuckCount()).isEqualTo(1);
        assertThat(handler.interrupted).containsExactly("job-stuck");
    }

    @Test
    void workThatStopsWhenCancelledLeavesTheWorkerHealthy() throws Exception {
        handler.sleepMs = 10_000;
        start(new GuardSettings(3, Duration.ofSeconds(30), Duration.ofSeconds(5)), Duration.ofMillis(300),
            request("job-slow"));
        await("job-slow failed", () -> !published(Topics.JOBS_FAILED, "job-slow").isEmpty());
        assertThat(published(Topics.JOBS_FAILED, "job-slow").getFirst().getReason())
            .isEqualTo("calibration took longer than PT0.3S (max-job-duration)");
        assertThat(handler.interrupted).containsExactly("job-slow");
        assertThat(worker.healthy()).isTrue();
        assertThat(worker.stuckCount()).isZero();
    }

    @Test
    void aJobFailedByTheSupervisorWhileItsStageWorksIsAbandonedWithoutASecondFailure() throws Exception {
        handler.sleepMs = 20_000;
        start(new GuardSettings(3, Duration.ofMillis(200), Duration.ofSeconds(5)), request("job-late"));
        await("job-late started", () -> handler.jobs.contains("job-late"));
        long t0 = System.nanoTime();
        ledger.markFailed("job-late", ReasonCodes.DEADLINE_EXCEEDED, "past its time budget of 30 s in calibration");
        await("job-late committed", () -> committed() == 1);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        assertThat(handler.interrupted).containsExactly("job-late");
        assertThat(published(Topics.JOBS_FAILED, "job-late")).isEmpty(); // the supervisor's failure is the one
        assertThat(published(Topics.QUANTIZE_STATIC, "job-late")).isEmpty();
        assertThat(processed.seen("job-late", GROUP, handler.lastInput.getEventId())).isTrue();
        assertThat(worker.healthy()).isTrue();
    }

    @Test
    void eachStageRunIsNotedWithItsPeakMemoryBeforeItsOutputGoesOnAndAgainAtItsEnd() throws Exception {
        ledger.outputPublished = j -> !published(Topics.QUANTIZE_STATIC, j).isEmpty();
        CalibrationRequested a = request("job-rss");
        start(GuardSettings.DEFAULTS, a);
        await("job-rss committed", () -> committed() == 1);
        assertThat(ledger.runs).extracting(StageRun::outcome).containsExactly(StageRun.RUNNING, StageRun.OK);
        assertThat(ledger.outputOutWhenNoted).containsExactly(false, true);
        StageRun end = ledger.runs.getLast();
        assertThat(end.stage()).isEqualTo(Stages.CALIBRATION);
        assertThat(end.group()).isEqualTo(GROUP);
        assertThat(end.service()).isEqualTo("test-worker");
        assertThat(end.eventId()).isEqualTo(a.getHeader().getEventId());
        assertThat(end.attempt()).isEqualTo(1);
        assertThat(end.seconds()).isPositive();
        if (PeakRss.bytes() > 0) {
            assertThat(end.peakRssBytes()).isPositive();
        }
    }

    @Test
    void thePeakIsResetWhenARunStartsSoItIsThePeakDuringTheRun() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(PeakRss.bytes() > 0, "Linux only (VmHWM)");
        byte[][] hog = new byte[2][];
        for (int i = 0; i < hog.length; i++) {
            hog[i] = new byte[48 << 20];
            java.util.Arrays.fill(hog[i], (byte) 1);
        }
        long withHog = PeakRss.bytes();
        hog = null;
        System.gc();
        PeakRss.runStarted();
        try {
            long after = PeakRss.bytes();
            org.junit.jupiter.api.Assumptions.assumeTrue(after < withHog, "/proc/self/clear_refs not writable here");
            assertThat(after).isLessThan(withHog);
        } finally {
            PeakRss.runEnded();
        }
    }

    @Test
    void anEventHandledAgainAfterADeathBeforeItsMarkerRepublishesUnderTheSameIdempotencyKey() throws Exception {
        processed.dieBeforeMarking = true;
        CalibrationRequested a = request("job-twice");
        start(GuardSettings.DEFAULTS, a, a); // the redelivery of an uncommitted record: the same bytes again
        await("both handled", () -> committed() == 2);
        List<ProducerRecord<String, byte[]>> out = producer.history().stream()
            .filter(r -> r.topic().equals(Topics.QUANTIZE_STATIC.name())).toList();
        assertThat(out).hasSize(2);
        List<String> keys = out.stream().map(r -> new String(r.headers().lastHeader(EventPublisher.IDEMPOTENCY_KEY).value(),
            java.nio.charset.StandardCharsets.UTF_8)).toList();
        String eventId = AvroCodec.decode(out.getFirst().value(), QuantizeRequested.class).getHeader().getEventId();
        assertThat(keys).containsExactly("job-twice:" + eventId, "job-twice:" + eventId);
        assertThat(AvroCodec.decode(out.getLast().value(), QuantizeRequested.class).getHeader().getEventId()).isEqualTo(eventId);
        // Every record the worker publishes carries the key of its own event header.
        for (ProducerRecord<String, byte[]> r : producer.history()) {
            if (r.topic().equals(Topics.JOBS_STATUS.name())) {
                assertThat(new String(r.headers().lastHeader(EventPublisher.IDEMPOTENCY_KEY).value(),
                    java.nio.charset.StandardCharsets.UTF_8))
                    .isEqualTo("job-twice:" + AvroCodec.decode(r.value(), JobStatus.class).getHeader().getEventId());
            }
        }
    }

    @Test
    void anOutageOfTheStoreIsWaitedOutWithoutSpendingTheJobsTries() throws Exception {
        handler.storeDownTries.set(3); // the worker's maxAttempts is 2: only waiting the outage out gets it through
        start(new GuardSettings(3, Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(30), null),
            request("job-outage"));
        await("job-outage forwarded", () -> !published(Topics.QUANTIZE_STATIC, "job-outage").isEmpty());
        assertThat(handler.jobs).hasSize(4);
        assertThat(published(Topics.JOBS_FAILED, "job-outage")).isEmpty();
    }

    @Test
    void anOutageLongerThanItsWindowFailsTheJobNamingIt() throws Exception {
        handler.storeDownTries.set(1000);
        start(new GuardSettings(3, Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMillis(600), null),
            request("job-down"));
        await("job-down failed", () -> !published(Topics.JOBS_FAILED, "job-down").isEmpty());
        assertThat(published(Topics.JOBS_FAILED, "job-down").getFirst().getReason())
            .startsWith("calibration: a service it needs stayed unreachable for PT0.6S (quantflow.worker.outage-window):")
            .contains("Connection refused");
        assertThat(handler.jobs.size()).isGreaterThan(2); // more tries than maxAttempts
    }

    @Test
    void anUnreadableRecordGoesToTheDeadLetterTopicUnchanged() throws Exception {
        start(GuardSettings.DEFAULTS);
        byte[] garbage = "{\"not\":\"avro\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        consumer.schedulePollTask(() -> {
            consumer.addRecord(new ConsumerRecord<>(TP.topic(), TP.partition(), 0, "job-garbage", garbage));
            consumer.addRecord(new ConsumerRecord<>(TP.topic(), TP.partition(), 1, "job-ok",
                AvroCodec.encode(request("job-ok"))));
        });
        await("job-ok forwarded", () -> !published(Topics.QUANTIZE_STATIC, "job-ok").isEmpty());
        assertThat(published(Topics.DEAD_LETTERS, "job-garbage")).singleElement().satisfies(d -> {
            assertThat(d.getReasonCode()).isEqualTo(ReasonCodes.BAD_EVENT);
            assertThat(d.getPayload().array()).isEqualTo(garbage);
            assertThat(d.getSourceOffset()).isZero();
        });
        assertThat(published(Topics.JOBS_FAILED, "job-garbage")).singleElement()
            .extracting(JobFailed::getReasonCode).isEqualTo(ReasonCodes.BAD_EVENT);
    }

    @Test
    void theStoredDeliveryRecordReadsBackAsWritten() throws Exception {
        Delivery d = Delivery.NONE.next().next().withError("store unreachable").withPeakRss(11_300_000_000L);
        assertThat(StoreWorkLedger.decode(StoreWorkLedger.encode(d))).isEqualTo(d);
        assertThat(new String(StoreWorkLedger.encode(d), java.nio.charset.StandardCharsets.UTF_8))
            .contains("\"count\":2", "\"peakRssBytes\":11300000000");
    }

    @Test
    void describesPeakMemory() {
        assertThat(PeakRss.describe(11_300_000_000L)).isEqualTo("11.3 GB");
        assertThat(PeakRss.describe(512_000_000L)).isEqualTo("512 MB");
        assertThat(PeakRss.describe(-1)).isEqualTo("unknown");
    }
}
