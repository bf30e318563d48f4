package dev.quantflow.pipeline.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.MDC;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.JobMdc;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.quarkus.MicrometerStageMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * What the stage worker tells logs and dashboards, over Kafka's mock consumer and producer: the job id and stage in
 * the logging context of the handler's thread, and the stage metrics.
 */
class StageWorkerObservabilityTest {

    static final String GROUP = "test-calibration";
    static final TopicPartition TP = StageWorkerGuardsTest.TP;

    final StageWorkerGuardsTest.MemoryLedger ledger = new StageWorkerGuardsTest.MemoryLedger();
    final StageWorkerGuardsTest.PacedMockConsumer consumer = new StageWorkerGuardsTest.PacedMockConsumer();
    final MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    final MeterRegistry registry = new SimpleMeterRegistry();
    final List<String> mdcSeen = new CopyOnWriteArrayList<>();
    final AtomicBoolean failedOnce = new AtomicBoolean();
    StageWorker<CalibrationRequested> worker;

    /** job-bad fails for good; job-flaky fails once with a transient error, then works; others work. */
    final StageHandler<CalibrationRequested> handler = new StageHandler<>() {
        @Override
        public Binding<CalibrationRequested> binding() {
            return new Binding<>(Topics.CALIBRATION_REQUESTED, Stages.CALIBRATION, GROUP);
        }

        @Override
        public void handle(CalibrationRequested event, StageContext ctx) throws Exception {
            mdcSeen.add(MDC.get(JobMdc.JOB_ID) + "/" + MDC.get(JobMdc.STAGE));
            if ("job-bad".equals(ctx.jobId())) {
                throw new PermanentStageException(ReasonCodes.INVALID_MODEL, "not a model");
            }
            if ("job-flaky".equals(ctx.jobId()) && failedOnce.compareAndSet(false, true)) {
                throw new java.io.IOException("store timed out");
            }
        }
    };

    @AfterEach
    void stop() {
        if (worker != null) {
            worker.stop(Duration.ofSeconds(5));
        }
    }

    void start(ConsumerRecord<String, byte[]>... records) {
        worker = new StageWorker<>(handler, new KafkaSettings("mock:9092", Duration.ofMinutes(1), 2, Duration.ofMillis(50)),
            new EventPublisher(producer), new StageWorkerGuardsTest.MemoryProcessed(), ledger, GuardSettings.DEFAULTS,
            new MicrometerStageMetrics(registry, Stages.CALIBRATION, GROUP), "test-worker", "1", consumer);
        worker.start();
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(TP));
            consumer.updateBeginningOffsets(Map.of(TP, 0L));
            consumer.updateEndOffsets(Map.of(TP, 10L)); // 10 records on the partition, of which these come first
            for (ConsumerRecord<String, byte[]> r : records) {
                consumer.addRecord(r);
            }
        });
    }

    static ConsumerRecord<String, byte[]> record(long offset, String jobId) {
        return new ConsumerRecord<>(TP.topic(), TP.partition(), offset, jobId, AvroCodec.encode(StageWorkerGuardsTest.request(jobId)));
    }

    double count(String name, String... tags) {
        var c = registry.find(name).tags(tags).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void theHandlerRunsWithItsJobIdAndStageInTheLoggingContext() throws Exception {
        start(record(0, "job-a"), record(1, "job-b"));
        StageWorkerGuardsTest.await("both handled", () -> worker.processedCount() == 2);
        assertThat(mdcSeen).containsExactly("job-a/calibration", "job-b/calibration");
        assertThat(MDC.get(JobMdc.JOB_ID)).isNull(); // the test thread's context is its own
    }

    @Test
    void countsJobsInOutAndFailedByReasonRetriesDeliveriesDeadLettersAndTheLag() throws Exception {
        byte[] garbage = "not avro".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        start(record(0, "job-ok"), record(1, "job-bad"), record(2, "job-flaky"),
            new ConsumerRecord<>(TP.topic(), TP.partition(), 3, "job-garbage", garbage));
        StageWorkerGuardsTest.await("all handled", () -> worker.processedCount() == 3
            && count("quantflow.stage.dead.letters", "reason", ReasonCodes.BAD_EVENT) == 1);
        StageWorkerGuardsTest.await("lag measured after the last record",
            () -> registry.find("quantflow.stage.consumer.lag").gauge().value() == 6);

        String[] stage = {"stage", Stages.CALIBRATION};
        assertThat(count("quantflow.stage.jobs", "stage", Stages.CALIBRATION, "outcome", "in")).isEqualTo(3);
        assertThat(count("quantflow.stage.jobs", "outcome", "out")).isEqualTo(2);
        assertThat(count("quantflow.stage.jobs", "outcome", "failed", "reason", ReasonCodes.INVALID_MODEL)).isEqualTo(1);
        assertThat(count("quantflow.stage.jobs", "outcome", "failed", "reason", ReasonCodes.BAD_EVENT)).isEqualTo(1);
        assertThat(count("quantflow.stage.retries", stage)).isEqualTo(1);
        assertThat(count("quantflow.stage.deliveries", "delivery", "first")).isEqualTo(3);
        assertThat(count("quantflow.stage.deliveries", "delivery", "redelivery")).isZero();
        assertThat(registry.find("quantflow.stage.duration").tags("outcome", "out").timer().count()).isEqualTo(2);
        assertThat(registry.find("quantflow.stage.duration").tags("outcome", "failed").timer().count()).isEqualTo(1);
        assertThat(registry.find("quantflow.job.attempts").summary().count()).isEqualTo(3);
        assertThat(registry.find("quantflow.job.attempts").summary().max()).isEqualTo(1);
        if (PeakRss.bytes() > 0) {
            assertThat(registry.find("quantflow.stage.peak.rss").gauge().value()).isPositive();
        }
    }

    @Test
    void aRedeliveryAfterADeadWorkerIsCountedAsOne() throws Exception {
        CalibrationRequested a = StageWorkerGuardsTest.request("job-a");
        ledger.saveDelivery("job-a", GROUP, a.getHeader().getEventId(), Delivery.NONE.next()); // one worker died on it
        start(new ConsumerRecord<>(TP.topic(), TP.partition(), 0, "job-a", AvroCodec.encode(a)));
        StageWorkerGuardsTest.await("handled", () -> worker.processedCount() == 1);
        assertThat(count("quantflow.stage.deliveries", "delivery", "redelivery")).isEqualTo(1);
        assertThat(count("quantflow.stage.deliveries", "delivery", "first")).isZero();
    }
}
