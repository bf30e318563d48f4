package dev.quantflow.pipeline.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.MDC;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.JobTracing;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;

/**
 * The worker kit's tracing over Kafka's mock consumer and producer with a real OpenTelemetry SDK: the trace context
 * in a record's headers becomes the parent of the stage's span, each try is a child span, the work thread runs
 * inside it (trace id in the MDC), and every record the stage publishes carries the same trace on.
 */
class StageWorkerTracingTest {

    static final String GROUP = "test-calibration";
    /** A W3C traceparent as intake's submit would send it (sampled). */
    static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String PARENT = "00f067aa0ba902b7";

    final InMemorySpanExporter exported = InMemorySpanExporter.create();
    final StageWorkerGuardsTest.PacedMockConsumer consumer = new StageWorkerGuardsTest.PacedMockConsumer();
    final MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    final List<String> seenOnWorkThread = new CopyOnWriteArrayList<>();
    final AtomicBoolean failedOnce = new AtomicBoolean();
    StageWorker<CalibrationRequested> worker;

    /** job-bad fails for good; job-flaky fails once with a transient error, then works. Each reports a status. */
    final StageHandler<CalibrationRequested> handler = new StageHandler<>() {
        @Override
        public Binding<CalibrationRequested> binding() {
            return new Binding<>(Topics.CALIBRATION_REQUESTED, Stages.CALIBRATION, GROUP);
        }

        @Override
        public void handle(CalibrationRequested event, StageContext ctx) throws Exception {
            seenOnWorkThread.add(MDC.get(JobTracing.TRACE_ID) + "/" + Span.current().getSpanContext().getTraceId());
            if ("job-bad".equals(ctx.jobId())) {
                throw new PermanentStageException(ReasonCodes.INVALID_MODEL, "not a model");
            }
            if ("job-flaky".equals(ctx.jobId()) && failedOnce.compareAndSet(false, true)) {
                throw new java.io.IOException("store timed out");
            }
            ctx.status(JobStates.RUNNING, 0.5, "half way");
        }
    };

    @AfterEach
    void stop() {
        if (worker != null) {
            worker.stop(Duration.ofSeconds(5));
        }
        JobTracing.use(OpenTelemetry.noop());
    }

    void start(Sampler sampler, ConsumerRecord<String, byte[]> record) {
        JobTracing.use(OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().setSampler(sampler)
                .addSpanProcessor(SimpleSpanProcessor.create(exported)).build())
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build());
        worker = new StageWorker<>(handler, new KafkaSettings("mock:9092", Duration.ofMinutes(1), 2, Duration.ofMillis(50)),
            new EventPublisher(producer), new StageWorkerGuardsTest.MemoryProcessed(), new StageWorkerGuardsTest.MemoryLedger(),
            GuardSettings.DEFAULTS, "test-worker", "1", consumer);
        worker.start();
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(StageWorkerGuardsTest.TP));
            consumer.updateBeginningOffsets(Map.of(StageWorkerGuardsTest.TP, 0L));
            consumer.addRecord(record);
        });
    }

    static ConsumerRecord<String, byte[]> traced(String jobId, String flags) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(JobTracing.TRACEPARENT, ("00-" + TRACE + "-" + PARENT + "-" + flags).getBytes(StandardCharsets.UTF_8));
        byte[] value = AvroCodec.encode(StageWorkerGuardsTest.request(jobId));
        return new ConsumerRecord<>(StageWorkerGuardsTest.TP.topic(), 0, 0, 0L, TimestampType.CREATE_TIME, -1, value.length,
            jobId, value, headers, java.util.Optional.empty());
    }

    SpanData span(String name) {
        return exported.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void eachTryIsASpanInTheTraceTheRecordCarriedAndTheOutputsCarryItOn() throws Exception {
        start(Sampler.parentBased(Sampler.alwaysOn()), traced("job-flaky", "01"));
        StageWorkerGuardsTest.await("handled", () -> worker.processedCount() == 1);
        StageWorkerGuardsTest.await("spans ended", () -> exported.getFinishedSpanItems().size() == 3);

        SpanData process = span("calibration process");
        assertThat(process.getTraceId()).isEqualTo(TRACE);
        assertThat(process.getParentSpanId()).isEqualTo(PARENT);
        assertThat(process.getKind()).isEqualTo(SpanKind.CONSUMER);
        assertThat(process.getAttributes().get(JobTracing.JOB_ID)).isEqualTo("job-flaky");
        assertThat(process.getAttributes().get(JobTracing.STAGE)).isEqualTo(Stages.CALIBRATION);
        assertThat(process.getAttributes().get(JobTracing.ATTEMPT)).isEqualTo(1L);
        assertThat(process.getAttributes().get(JobTracing.METHOD)).isEqualTo("static");

        SpanData first = span("calibration attempt 1 try 1");
        SpanData second = span("calibration attempt 1 try 2");
        for (SpanData t : List.of(first, second)) {
            assertThat(t.getTraceId()).isEqualTo(TRACE);
            assertThat(t.getParentSpanId()).isEqualTo(process.getSpanId());
            assertThat(t.getAttributes().get(JobTracing.METHOD)).isEqualTo("static");
        }
        assertThat(first.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(first.getStatus().getDescription()).contains("store timed out");
        assertThat(second.getStatus().getStatusCode()).isNotEqualTo(StatusCode.ERROR);
        assertThat(seenOnWorkThread).containsExactly(TRACE + "/" + TRACE, TRACE + "/" + TRACE);

        // the status the handler published (on the work thread) and the done heartbeat (poll thread) carry the trace
        List<ProducerRecord<String, byte[]>> out = producer.history();
        assertThat(out).isNotEmpty();
        for (ProducerRecord<String, byte[]> r : out) {
            assertThat(JobTracing.traceIdOf(r.headers())).as(r.topic()).isEqualTo(TRACE);
        }
        String fromHandler = new String(out.getFirst().headers().lastHeader(JobTracing.TRACEPARENT).value(), StandardCharsets.UTF_8);
        assertThat(fromHandler).isEqualTo("00-" + TRACE + "-" + second.getSpanId() + "-01");
    }

    @Test
    void aFailedJobMarksItsStageSpanWithTheReasonCode() throws Exception {
        start(Sampler.parentBased(Sampler.alwaysOn()), traced("job-bad", "01"));
        StageWorkerGuardsTest.await("handled", () -> worker.processedCount() == 1);
        StageWorkerGuardsTest.await("spans ended", () -> exported.getFinishedSpanItems().size() == 2);
        SpanData process = span("calibration process");
        assertThat(process.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(process.getAttributes().get(JobTracing.REASON_CODE)).isEqualTo(ReasonCodes.INVALID_MODEL);
        assertThat(producer.history().stream().filter(r -> r.topic().equals(Topics.JOBS_FAILED.name())))
            .singleElement().satisfies(r -> assertThat(JobTracing.traceIdOf(r.headers())).isEqualTo(TRACE));
    }

    /** The default configuration (parent-based ratio 0): nothing is exported, yet the trace id still goes along. */
    @Test
    void withSamplingOffNothingIsExportedButTheTraceIdStillTravels() throws Exception {
        start(Sampler.parentBased(Sampler.traceIdRatioBased(0)), traced("job-a", "00"));
        StageWorkerGuardsTest.await("handled", () -> worker.processedCount() == 1);
        assertThat(exported.getFinishedSpanItems()).isEmpty();
        assertThat(seenOnWorkThread).containsExactly(TRACE + "/" + TRACE);
        assertThat(producer.history()).isNotEmpty()
            .allSatisfy(r -> assertThat(JobTracing.traceIdOf(r.headers())).isEqualTo(TRACE));
    }

    @Test
    void withoutAnSdkNothingIsAddedToTheRecords() throws Exception {
        JobTracing.use(OpenTelemetry.noop());
        ProducerRecord<String, byte[]> r = new ProducerRecord<>("t", "k", new byte[0]);
        JobTracing.inject(r.headers());
        assertThat(r.headers().toArray()).isEmpty();
        assertThat(JobTracing.currentTraceId()).isEmpty();
    }
}
