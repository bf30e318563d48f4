package dev.quantflow.pipeline.quarkus;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.quantflow.pipeline.kafka.StageMetrics;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

/**
 * The stage metrics as Micrometer meters; with the Prometheus registry they are scraped from {@code /q/metrics} as
 * below, each also tagged {@code group} (the consumer group, i.e. the pool: the quantizers share stage
 * {@code quantize}, the exporter runs groups {@code exporter} and {@code exporter-profiles}):
 *
 * <ul>
 *   <li>{@code quantflow_stage_jobs_total{stage,outcome=in|out|failed,reason}}: events started, finished, failed
 *       (reason: the failure's reason code, {@code none} for in and out)</li>
 *   <li>{@code quantflow_stage_duration_seconds{stage,outcome=out|failed}}: time from start to finish of an
 *       event, retries included; a histogram ({@code _bucket}) for p50/p95</li>
 *   <li>{@code quantflow_stage_deliveries_total{stage,delivery=first|redelivery}}: deliveries counted by the
 *       poison-record guard; a redelivery means an earlier worker died on the event</li>
 *   <li>{@code quantflow_stage_retries_total{stage}}: in-process retries after a transient failure</li>
 *   <li>{@code quantflow_stage_dead_letters_total{stage,reason}}: records sent to {@link dev.quantflow.pipeline.Topics#DEAD_LETTERS}</li>
 *   <li>{@code quantflow_job_attempts{stage}}: the job attempt (1 + loops back to calibration) of each event the
 *       stage works on; in group {@code exporter} it is the attempts a finished job took</li>
 *   <li>{@code quantflow_stage_peak_rss_bytes{stage}}: the process's peak resident memory after its last job</li>
 *   <li>{@code quantflow_stage_consumer_lag_records{stage}}: records waiting on the stage's assigned partitions</li>
 * </ul>
 */
public final class MicrometerStageMetrics implements StageMetrics {

    private static final String NO_REASON = "none";

    private final MeterRegistry registry;
    private final Tags common;
    private final Counter in;
    private final Counter out;
    private final Timer okDuration;
    private final Timer failedDuration;
    private final Counter firstDeliveries;
    private final Counter redeliveries;
    private final Counter retries;
    private final Counter stuck;
    private final DistributionSummary attempts;
    private final AtomicLong peakRss = new AtomicLong(-1);
    private final AtomicLong lag = new AtomicLong();
    private final ConcurrentMap<String, Counter> failed = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> deadLetters = new ConcurrentHashMap<>();

    /**
     * @param stage the stage's name in events ({@code calibration}, {@code quantize}, …)
     * @param group its consumer group, which names the pool ({@code quantizer-static}, {@code exporter-profiles})
     */
    public MicrometerStageMetrics(MeterRegistry registry, String stage, String group) {
        this.registry = registry;
        this.common = Tags.of("stage", stage, "group", group);
        this.in = jobs("in", NO_REASON);
        this.out = jobs("out", NO_REASON);
        this.okDuration = duration("out");
        this.failedDuration = duration("failed");
        this.firstDeliveries = deliveries("first");
        this.redeliveries = deliveries("redelivery");
        this.retries = Counter.builder("quantflow.stage.retries").description("Handler tries retried after a transient failure")
            .tags(common).register(registry);
        this.stuck = Counter.builder("quantflow.stage.stuck")
            .description("Work that ignored its cancellation (a native call past max-job-duration) and was abandoned")
            .tags(common).register(registry);
        this.attempts = DistributionSummary.builder("quantflow.job.attempts")
            .description("Job attempt of each event the stage works on (in group exporter: attempts per finished job)")
            .tags(common).serviceLevelObjectives(1, 2, 3, 4, 5, 6, 8, 10, 15, 20).register(registry);
        Gauge.builder("quantflow.stage.peak.rss", peakRss, AtomicLong::get).baseUnit(BaseUnits.BYTES)
            .description("Peak resident memory of the worker process during its last job (VmHWM, reset when a job starts)")
            .tags(common).register(registry);
        Gauge.builder("quantflow.stage.consumer.lag", lag, AtomicLong::get).baseUnit("records")
            .description("Records waiting behind the worker's position on its assigned partitions")
            .tags(common).register(registry);
    }

    private Counter jobs(String outcome, String reason) {
        return Counter.builder("quantflow.stage.jobs").description("Events a stage started (in), finished (out), failed")
            .tags(common).tags("outcome", outcome, "reason", reason).register(registry);
    }

    private Timer duration(String outcome) {
        return Timer.builder("quantflow.stage.duration").description("Time a stage took on one event, retries included")
            .tags(common).tags("outcome", outcome).publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(10)).maximumExpectedValue(Duration.ofHours(4)).register(registry);
    }

    private Counter deliveries(String kind) {
        return Counter.builder("quantflow.stage.deliveries").description("Deliveries of events counted by the poison-record guard")
            .tags(common).tags("delivery", kind).register(registry);
    }

    @Override
    public void jobIn(int jobAttempt) {
        in.increment();
        attempts.record(jobAttempt);
    }

    @Override
    public void jobOut(Duration took) {
        out.increment();
        okDuration.record(took.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void jobFailed(String reasonCode, Duration took) {
        failed.computeIfAbsent(reasonCode, r -> jobs("failed", r)).increment();
        if (took != null) {
            failedDuration.record(took.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void delivery(boolean redelivery) {
        (redelivery ? redeliveries : firstDeliveries).increment();
    }

    @Override
    public void retry() {
        retries.increment();
    }

    @Override
    public void stuck() {
        stuck.increment();
    }

    @Override
    public void deadLetter(String reasonCode) {
        deadLetters.computeIfAbsent(reasonCode, r -> Counter.builder("quantflow.stage.dead.letters")
            .description("Records sent to the dead-letter topic").tags(common).tags("reason", r).register(registry))
            .increment();
    }

    @Override
    public void peakRss(long bytes) {
        if (bytes >= 0) {
            peakRss.accumulateAndGet(bytes, Math::max);
        }
    }

    @Override
    public void lag(long records) {
        lag.set(Math.max(0, records));
    }
}
