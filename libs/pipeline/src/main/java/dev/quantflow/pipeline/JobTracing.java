package dev.quantflow.pipeline;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.jboss.logging.MDC;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;

import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobContext;

/**
 * OpenTelemetry tracing of a job across its Kafka hops, in one place for the whole worker kit.
 *
 * <p>Publishing ({@code EventPublisher}) writes the current trace context into the record's headers (W3C
 * {@code traceparent}); consuming ({@code StageWorker}) reads it back and starts the stage's span as its child, so
 * every stage's work, each try and every loop back to calibration lands in the trace that intake started when the
 * job was submitted: one trace per job. Spans carry {@link #JOB_ID}, {@link #STAGE}, {@link #ATTEMPT} and
 * {@link #METHOD}; the trace id is in the logging context ({@link #TRACE_ID}, next to {@link JobMdc}'s keys) while a
 * span is current.
 *
 * <p>Without an SDK ({@link #use} never called: tools, tests, the CLI) every call is a no-op. A Quarkus service
 * hands its {@code quarkus-opentelemetry} SDK over at startup ({@code PipelineProducers}); whether spans are exported is
 * that SDK's configuration (off by default, see the README's "Tracing").
 */
public final class JobTracing {

    public static final AttributeKey<String> JOB_ID = AttributeKey.stringKey("quantflow.job.id");
    public static final AttributeKey<String> STAGE = AttributeKey.stringKey("quantflow.stage");
    public static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("quantflow.attempt");
    /** The try of this stage at one event (1 = first), distinct from the job's {@link #ATTEMPT} (loop number). */
    public static final AttributeKey<Long> TRY = AttributeKey.longKey("quantflow.try");
    public static final AttributeKey<String> METHOD = AttributeKey.stringKey("quantflow.method");
    public static final AttributeKey<String> EVENT_ID = AttributeKey.stringKey("quantflow.event.id");
    public static final AttributeKey<String> REASON_CODE = AttributeKey.stringKey("quantflow.reason.code");
    /** The MDC key of the current trace id (the same key Quarkus' own logging integration uses). */
    public static final String TRACE_ID = "traceId";
    public static final String SPAN_ID = "spanId";
    /** The Kafka record header that carries the trace context (W3C Trace Context). */
    public static final String TRACEPARENT = "traceparent";

    private static volatile OpenTelemetry otel = OpenTelemetry.noop();
    private static volatile Tracer tracer = otel.getTracer("dev.quantflow.pipeline");

    private JobTracing() {
    }

    /** Installs the SDK spans go to (once, at startup). */
    public static void use(OpenTelemetry openTelemetry) {
        otel = openTelemetry;
        tracer = openTelemetry.getTracer("dev.quantflow.pipeline");
    }

    /** Writes the current trace context into {@code headers}; nothing when no span is current. */
    public static void inject(Headers headers) {
        otel.getPropagators().getTextMapPropagator().inject(Context.current(), headers, SETTER);
    }

    /** The trace context carried by {@code headers}, or the root context when they carry none. */
    public static Context extract(Headers headers) {
        return otel.getPropagators().getTextMapPropagator().extract(Context.root(), headers, GETTER);
    }

    /** The trace id in a record's {@code traceparent} header (W3C format), or "" when it has none. */
    public static String traceIdOf(Headers headers) {
        Header h = headers == null ? null : headers.lastHeader(TRACEPARENT);
        if (h == null || h.value() == null) {
            return "";
        }
        String[] parts = new String(h.value(), StandardCharsets.UTF_8).split("-");
        return parts.length >= 2 && parts[1].length() == 32 && !parts[1].equals("0".repeat(32)) ? parts[1] : "";
    }

    /** The current span's trace id, or "" when none is current. */
    public static String currentTraceId() {
        SpanContext c = Span.current().getSpanContext();
        return c.isValid() ? c.getTraceId() : "";
    }

    /**
     * Starts the span of one stage's work on one consumed record, as a child of the context the record carries, and
     * makes it current on this thread (close it on the same thread). {@link #describe} adds what the decoded event
     * says.
     */
    public static Traced consumed(ConsumerRecord<?, ?> record, String group, String stage) {
        Span span = tracer.spanBuilder(stage + " process")
            .setParent(extract(record.headers()))
            .setSpanKind(SpanKind.CONSUMER)
            .setAttribute("messaging.system", "kafka")
            .setAttribute("messaging.destination.name", record.topic())
            .setAttribute("messaging.consumer.group.name", group)
            .setAttribute("messaging.operation.type", "process")
            .setAttribute("messaging.kafka.offset", record.offset())
            .startSpan();
        if (record.key() != null) {
            span.setAttribute(JOB_ID, record.key().toString());
        }
        span.setAttribute(STAGE, stage);
        return new Traced(span);
    }

    /** Adds the job id, attempt, event id and method of a decoded event to the current span. */
    public static void describe(EventHeader header, SpecificRecord event) {
        Span span = Span.current();
        span.setAttribute(EVENT_ID, header.getEventId());
        span.setAttribute(ATTEMPT, (long) header.getAttempt());
        if (header.getJobId() != null && !header.getJobId().isBlank()) {
            span.setAttribute(JOB_ID, header.getJobId());
        }
        String method = methodOf(event);
        if (!method.isEmpty()) {
            span.setAttribute(METHOD, method);
        }
    }

    /** Marks the current span failed with a reason code (the job failed at this stage). */
    public static void failCurrent(String code, String reason) {
        Span span = Span.current();
        span.setAttribute(REASON_CODE, code);
        span.setStatus(StatusCode.ERROR, reason == null ? code : reason);
    }

    /**
     * Starts one try of a stage's work on an event (a child of the current span) and makes it current on this
     * thread; {@link #wrap} carries it to the thread that does the work.
     */
    public static Traced attempt(String stage, EventHeader header, SpecificRecord event, int tryNumber) {
        Span span = tracer.spanBuilder(stage + " attempt " + header.getAttempt() + " try " + tryNumber).startSpan();
        describe(span, stage, header.getJobId(), event, header.getAttempt());
        span.setAttribute(TRY, (long) tryNumber);
        return new Traced(span);
    }

    /** Starts a span of work that begins a job (intake's submit), a child of the current span when there is one. */
    public static Traced started(String name, String stage, String jobId) {
        Span span = tracer.spanBuilder(name).startSpan();
        describe(span, stage, jobId, null, 1);
        return new Traced(span);
    }

    /** Runs {@code work} with the caller's current trace context (for work handed to another thread). */
    public static <T> Callable<T> wrap(Callable<T> work) {
        Context context = Context.current();
        return () -> {
            try (Traced t = new Traced(context)) {
                return work.call();
            }
        };
    }

    private static void describe(Span span, String stage, String jobId, SpecificRecord event, int attempt) {
        if (jobId != null && !jobId.isBlank()) {
            span.setAttribute(JOB_ID, jobId);
        }
        span.setAttribute(STAGE, stage);
        span.setAttribute(ATTEMPT, (long) attempt);
        String method = methodOf(event);
        if (!method.isEmpty()) {
            span.setAttribute(METHOD, method);
        }
    }

    /** The method of the job's plan when the event carries a {@code context} (every hand-off event does). */
    static String methodOf(SpecificRecord event) {
        if (event == null) {
            return "";
        }
        Schema.Field f = event.getSchema().getField("context");
        if (f != null && event.get(f.pos()) instanceof JobContext c && c.getPlan() != null && c.getPlan().getMethod() != null) {
            return c.getPlan().getMethod().toString();
        }
        Schema.Field m = event.getSchema().getField("method");
        if (m != null && event.get(m.pos()) != null) {
            return event.get(m.pos()).toString();
        }
        return "";
    }

    /** A started span, current on the thread that started it, with the trace id in the MDC; closing ends it. */
    public static final class Traced implements AutoCloseable {
        private final Span span;
        private final Scope scope;
        private final String previousTrace;
        private final String previousSpan;

        private final boolean ends;

        Traced(Span span) {
            this(span, span.storeInContext(Context.current()), true);
        }

        /** Makes an existing context current (on another thread); closing does not end its span. */
        Traced(Context context) {
            this(Span.fromContext(context), context, false);
        }

        private Traced(Span span, Context context, boolean ends) {
            this.span = span;
            this.ends = ends;
            this.previousTrace = mdc(TRACE_ID);
            this.previousSpan = mdc(SPAN_ID);
            this.scope = context.makeCurrent();
            SpanContext c = span.getSpanContext();
            if (c.isValid()) {
                MDC.put(TRACE_ID, c.getTraceId());
                MDC.put(SPAN_ID, c.getSpanId());
            }
        }

        public String traceId() {
            SpanContext c = span.getSpanContext();
            return c.isValid() ? c.getTraceId() : "";
        }

        public Span span() {
            return span;
        }

        /** Marks the span failed with the reason (no stack trace: reasons are what users see). */
        public void failed(Throwable failure) {
            if (failure != null) {
                span.setStatus(StatusCode.ERROR, Failures.reasonOf(failure));
            }
        }


        /** {@link #failed} (when {@code failure} is not null), then {@link #close}. */
        public void end(Throwable failure) {
            failed(failure);
            close();
        }

        @Override
        public void close() {
            try {
                scope.close();
            } finally {
                if (ends) {
                    span.end();
                }
                restore(TRACE_ID, previousTrace);
                restore(SPAN_ID, previousSpan);
            }
        }

        private static String mdc(String key) {
            Object v = MDC.get(key);
            return v == null ? null : v.toString();
        }

        private static void restore(String key, String value) {
            if (value == null) {
                MDC.remove(key);
            } else {
                MDC.put(key, value);
            }
        }
    }

    private static final TextMapSetter<Headers> SETTER = (headers, key, value) -> {
        if (headers != null) {
            headers.remove(key);
            headers.add(key, value.getBytes(StandardCharsets.UTF_8));
        }
    };

    private static final TextMapGetter<Headers> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
            List<String> keys = new ArrayList<>();
            if (headers != null) {
                headers.forEach(h -> keys.add(h.key()));
            }
            return keys;
        }

        @Override
        public String get(Headers headers, String key) {
            Header h = headers == null ? null : headers.lastHeader(key);
            return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
        }
    };
}
