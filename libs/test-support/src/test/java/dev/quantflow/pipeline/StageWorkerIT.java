package dev.quantflow.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.DeadLetter;
import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.kafka.GuardSettings;
import dev.quantflow.pipeline.kafka.KafkaSettings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.kafka.StageHandler;
import dev.quantflow.pipeline.kafka.StageWorker;
import dev.quantflow.pipeline.kafka.StoreProcessedEvents;
import dev.quantflow.pipeline.kafka.StoreWorkLedger;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.testsupport.TestInfra;

/**
 * The stage-worker kit against a real broker and a real S3 server: serde, dedupe, failure events, slow jobs.
 * Lives here, not in libs/pipeline, because the test kit depends on the pipeline library.
 */
class StageWorkerIT {

    static TestInfra infra;
    static ArtifactStore store;
    static EventPublisher publisher;

    @BeforeAll
    static void start() throws Exception {
        infra = TestInfra.start();
        store = infra.store();
        publisher = new EventPublisher(infra.bootstrap(), "test");
    }

    @AfterAll
    static void stop() throws Exception {
        publisher.close();
        store.close();
        infra.close();
    }

    /** Passes calibration requests on to the static quantizer topic; can be told to fail or be slow. */
    static class ForwardingHandler implements StageHandler<CalibrationRequested> {
        final AtomicInteger calls = new AtomicInteger();
        volatile RuntimeException failWith;
        volatile String failJob;
        volatile long sleepMs;
        /** Writes an object per job to the store as part of its work (what every real stage does). */
        volatile boolean writesToStore;

        @Override
        public Binding<CalibrationRequested> binding() {
            return new Binding<>(Topics.CALIBRATION_REQUESTED, Stages.CALIBRATION, "test-calibration");
        }

        @Override
        public void handle(CalibrationRequested event, StageContext ctx) throws Exception {
            calls.incrementAndGet();
            if (sleepMs > 0) {
                Thread.sleep(sleepMs);
            }
            if (failWith != null && ctx.jobId().equals(failJob)) {
                throw failWith;
            }
            if (writesToStore) {
                store.put("jobs/" + ctx.jobId() + "/attempt-1/calibration/out.bin", new byte[] {1, 2, 3},
                    "application/octet-stream");
            }
            ctx.publish(Topics.QUANTIZE_STATIC, QuantizeRequested.newBuilder()
                .setHeader(ctx.header("quantize", ctx.attempt()))
                .setContext(event.getContext())
                .build());
        }
    }

    static CalibrationRequested request(String jobId) {
        ArtifactRef model = ArtifactStore.ref("quantflow", "jobs/" + jobId + "/input/model.onnx", "00", 1, "application/octet-stream");
        return CalibrationRequested.newBuilder()
            .setHeader(EventHeader.newBuilder().setEventId(UUID.randomUUID().toString()).setJobId(jobId).setAttempt(1)
                .setOccurredAt(Instant.now()).setProducer("test").setProducerVersion("1").build())
            .setContext(JobContext.newBuilder()
                .setInputs(JobInputs.newBuilder().setModel(model).build())
                .setPlan(JobPlan.newBuilder().setMethod("static").setRecipe(Recipe.newBuilder().build()).build())
                .build())
            .build();
    }

    static <V extends org.apache.avro.specific.SpecificRecord> List<V> readAll(Topics.Topic<V> topic, String jobId, Duration wait) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, infra.bootstrap());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<V> out = new ArrayList<>();
        try (var c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic.name()));
            long end = System.nanoTime() + wait.toNanos();
            while (System.nanoTime() < end) {
                for (var r : c.poll(Duration.ofMillis(200))) {
                    if (jobId.equals(r.key())) {
                        out.add(AvroCodec.decode(r.value(), topic.valueType()));
                    }
                }
            }
        }
        return out;
    }

    StageWorker<CalibrationRequested> worker(ForwardingHandler h, Duration maxJob) {
        var w = new StageWorker<>(h, new KafkaSettings(infra.bootstrap(), maxJob, 2, Duration.ofMillis(100)), publisher,
            new StoreProcessedEvents(store), "test-worker", "1");
        w.start();
        return w;
    }

    @Test
    void forwardsOnceEvenWhenTheSameEventIsDeliveredTwice() throws Exception {
        var h = new ForwardingHandler();
        try (var w = worker(h, Duration.ofMinutes(1))) {
            String job = "job-" + UUID.randomUUID();
            CalibrationRequested req = request(job);
            publisher.publish(Topics.CALIBRATION_REQUESTED, job, req);
            publisher.publish(Topics.CALIBRATION_REQUESTED, job, req); // redelivery: same event id
            List<QuantizeRequested> out = readAll(Topics.QUANTIZE_STATIC, job, Duration.ofSeconds(8));
            assertThat(out).as("calls=%d healthy=%s err=%s", h.calls.get(), w.healthy(), w.lastError()).hasSize(1);
            assertThat(out.get(0).getHeader().getJobId()).isEqualTo(job);
            assertThat(h.calls.get()).isEqualTo(1);
        }
    }

    @Test
    void permanentFailureAndGarbageBecomeJobFailedEvents() throws Exception {
        var h = new ForwardingHandler();
        h.failWith = new PermanentStageException(ReasonCodes.INVALID_MODEL, "not an ONNX model");
        try (var w = worker(h, Duration.ofMinutes(1))) {
            String job = "job-" + UUID.randomUUID();
            h.failJob = job;
            publisher.publish(Topics.CALIBRATION_REQUESTED, job, request(job));
            String garbageJob = "job-" + UUID.randomUUID();
            publisher.send(Topics.CALIBRATION_REQUESTED.name(), garbageJob, "not avro".getBytes());
            // the worker keeps serving after both
            String okJob = "job-" + UUID.randomUUID();
            publisher.publish(Topics.CALIBRATION_REQUESTED, okJob, request(okJob));

            List<JobFailed> failed = readAll(Topics.JOBS_FAILED, job, Duration.ofSeconds(6));
            assertThat(failed).hasSize(1);
            assertThat(failed.get(0).getReasonCode()).isEqualTo(ReasonCodes.INVALID_MODEL);
            assertThat(failed.get(0).getReason()).contains("not an ONNX model");
            List<JobFailed> bad = readAll(Topics.JOBS_FAILED, garbageJob, Duration.ofSeconds(2));
            assertThat(bad).singleElement().extracting(JobFailed::getReasonCode).isEqualTo(ReasonCodes.BAD_EVENT);
            assertThat(readAll(Topics.QUANTIZE_STATIC, okJob, Duration.ofSeconds(2))).hasSize(1);
        }
    }

    @Test
    void retriableFailureIsRetriedThenSucceeds() throws Exception {
        var h = new ForwardingHandler() {
            @Override
            public void handle(CalibrationRequested event, StageContext ctx) throws Exception {
                if (calls.get() == 0) {
                    calls.incrementAndGet();
                    throw new java.io.IOException("store briefly unreachable");
                }
                super.handle(event, ctx);
            }
        };
        try (var w = worker(h, Duration.ofMinutes(1))) {
            String job = "job-" + UUID.randomUUID();
            publisher.publish(Topics.CALIBRATION_REQUESTED, job, request(job));
            assertThat(readAll(Topics.QUANTIZE_STATIC, job, Duration.ofSeconds(6))).hasSize(1);
            assertThat(readAll(Topics.JOBS_FAILED, job, Duration.ofSeconds(1))).isEmpty();
        }
    }

    @Test
    void aRecordItsWorkersDiedOnGoesToTheDeadLetterTopicTheJobFailsAndOtherJobsRun() throws Exception {
        var h = new ForwardingHandler();
        var ledger = new StoreWorkLedger(store);
        String poison = "job-" + UUID.randomUUID();
        CalibrationRequested req = request(poison);
        String eventId = req.getHeader().getEventId();
        for (int i = 0; i < 3; i++) { // three workers counted their delivery and were killed
            ledger.saveDelivery(poison, h.group(), eventId, ledger.delivery(poison, h.group(), eventId).next());
        }
        try (var w = new StageWorker<>(h, new KafkaSettings(infra.bootstrap(), Duration.ofMinutes(1), 2, Duration.ofMillis(100)),
            publisher, new StoreProcessedEvents(store), ledger, new GuardSettings(3, Duration.ofSeconds(1)), "test-worker", "1")) {
            w.start();
            publisher.publish(Topics.CALIBRATION_REQUESTED, poison, req);
            String ok = "job-" + UUID.randomUUID();
            publisher.publish(Topics.CALIBRATION_REQUESTED, ok, request(ok));

            List<DeadLetter> dead = readAll(Topics.DEAD_LETTERS, poison, Duration.ofSeconds(6));
            assertThat(dead).singleElement().satisfies(d -> {
                assertThat(d.getDeliveries()).isEqualTo(3);
                assertThat(d.getReasonCode()).isEqualTo(ReasonCodes.STAGE_CRASHED);
                assertThat(AvroCodec.decode(d.getPayload().array(), CalibrationRequested.class)).isEqualTo(req);
            });
            assertThat(readAll(Topics.JOBS_FAILED, poison, Duration.ofSeconds(1))).singleElement()
                .extracting(JobFailed::getReasonCode).isEqualTo(ReasonCodes.STAGE_CRASHED);
            assertThat(ledger.failure(poison)).isPresent();
            assertThat(readAll(Topics.QUANTIZE_STATIC, ok, Duration.ofSeconds(2))).hasSize(1);

            // the job has failed: a later event of it is dropped, not worked on
            publisher.publish(Topics.CALIBRATION_REQUESTED, poison, request(poison));
            assertThat(readAll(Topics.QUANTIZE_STATIC, poison, Duration.ofSeconds(3))).isEmpty();
            assertThat(h.calls.get()).isEqualTo(1);
        }
    }

    /**
     * An object-store outage while a job works (the S3 server stopped, then started again on the same data): the
     * stage's store writes are refused, the worker waits the outage out without spending the job's two tries, and
     * the job goes on once the store is back. With the tries alone (two, 100 ms apart) it would have failed.
     */
    @Test
    void anObjectStoreOutageMidJobIsWaitedOutAndTheJobGoesOn() throws Exception {
        var h = new ForwardingHandler();
        h.writesToStore = true;
        try (var w = new StageWorker<>(h, new KafkaSettings(infra.bootstrap(), Duration.ofMinutes(1), 2, Duration.ofMillis(100)),
            publisher, new StoreProcessedEvents(store), new StoreWorkLedger(store),
            new GuardSettings(3, Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(60), null), "test-worker", "1")) {
            w.start();
            String warm = "job-" + UUID.randomUUID(); // the worker has its partitions before the outage
            publisher.publish(Topics.CALIBRATION_REQUESTED, warm, request(warm));
            assertThat(readAll(Topics.QUANTIZE_STATIC, warm, Duration.ofSeconds(6))).hasSize(1);

            String job = "job-" + UUID.randomUUID();
            infra.stopS3();
            long t0 = System.nanoTime();
            try {
                publisher.publish(Topics.CALIBRATION_REQUESTED, job, request(job));
                long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (h.calls.get() < 4 && System.nanoTime() < until) { // warm-up call + at least three refused tries
                    Thread.sleep(100);
                }
                assertThat(h.calls.get()).as("tries while the store is down").isGreaterThanOrEqualTo(4);
            } finally {
                infra.startS3();
            }
            System.out.printf("[stage-worker-it] object store down for %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            assertThat(readAll(Topics.QUANTIZE_STATIC, job, Duration.ofSeconds(10))).hasSize(1);
            assertThat(readAll(Topics.JOBS_FAILED, job, Duration.ofSeconds(1))).isEmpty();
            assertThat(store.exists("jobs/" + job + "/attempt-1/calibration/out.bin")).isTrue();
            assertThat(w.healthy()).isTrue();
        }
    }
}
