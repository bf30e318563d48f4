package dev.quantflow.pipeline.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

import dev.quantflow.events.DeadLetter;
import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobStatus;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.EventHeaders;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.Failures;
import dev.quantflow.pipeline.Heartbeats;
import dev.quantflow.pipeline.JobMdc;
import dev.quantflow.pipeline.JobTracing;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.UndecodableEventException;

/**
 * Consumes one topic for one stage, one record at a time, with at-least-once delivery made effectively-once by
 * processed-event markers and deterministic output ids.
 *
 * <p>Long work: the handler runs on a separate thread while this thread keeps polling with every assigned
 * partition paused. Polling keeps the consumer inside {@code max.poll.interval.ms} and heartbeating however long a
 * quantization takes, so a slow job never triggers a rebalance; the offset is committed only after the handler
 * finished and its outputs were published. If the process dies mid-job, the uncommitted record is redelivered to
 * another process of the group. Partitions assigned by a rebalance while a job runs are paused inside the rebalance
 * callback, before any of their records can be returned; should a poll still return records while paused, the
 * consumer is rewound to them so none is skipped.
 *
 * <p>Pools: the group uses the cooperative-sticky assignor, so when a process joins or dies only the partitions
 * that must move are revoked and the jobs running on the other processes keep their partitions.
 *
 * <p>Failures: {@link PermanentStageException}, errors that fail the same way on every try (see {@link Failures})
 * and undecodable records fail the job at once with a reason code; other exceptions are retried with exponential
 * back-off, then fail the job with {@code STAGE_ERROR}. Reasons carry no class names or stack frames. Either way
 * the record is committed: nothing blocks the partition and nothing is silently dropped.
 *
 * <p>Guards ({@link WorkLedger}, {@link GuardSettings}): an event of a job that has already failed (its marker
 * {@code jobs/<job>/failed} exists) is dropped unprocessed. Each delivery is counted before work starts; once an
 * event was delivered {@code maxDeliveries} times without being finished (its workers died on it: killed for memory,
 * crashed), the next delivery publishes it to {@link Topics#DEAD_LETTERS} and fails the job with STAGE_CRASHED, and
 * the partition moves on. While the handler works, the poll thread publishes a heartbeat status every
 * {@code heartbeatInterval} (and notes the process's peak memory in the delivery record), and one
 * {@link Heartbeats#DONE} at the end, for intake's supervisor.
 *
 * <p>Observability: while a record is handled, its job id and the stage are in the logging context ({@link JobMdc})
 * of the poll thread and of the work thread; {@link StageMetrics} gets jobs in/out/failed, durations, deliveries,
 * retries, dead letters, the peak memory and the consumer lag (end offsets minus position, after each record and
 * every {@link #LAG_INTERVAL}). Tracing ({@link JobTracing}): each record's work is a span, a child of the trace
 * context in the record's headers, with one child span per try; the work thread runs inside it.
 *
 * <p>Shutdown: {@link #stop(Duration)} lets the in-flight job finish and commits it; a job still running when the
 * grace period ends is interrupted and handed back uncommitted, and the consumer leaves the group so another
 * process takes the record at once instead of after the session timeout.
 *
 * <p>See {@code libs/pipeline/README.md} for the mechanism, its limits and why Kafka share groups are not used.
 */
public final class StageWorker<V extends SpecificRecord> implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(StageWorker.class);
    /** How often the consumer lag is measured (one list-offsets request to the broker). */
    static final Duration LAG_INTERVAL = Duration.ofSeconds(5);

    private final StageHandler<V> handler;
    private final KafkaSettings settings;
    private final EventPublisher publisher;
    private final ProcessedEvents processed;
    private final WorkLedger ledger;
    private final GuardSettings guards;
    private final StageMetrics metrics;
    private final String producer;
    private final String version;
    private final Consumer<String, byte[]> consumer;
    /** The work thread's executor; replaced by a fresh one when its thread got stuck (touched by the poll thread). */
    private volatile ExecutorService work;
    private final AtomicLong workThreads = new AtomicLong();
    /** Work abandoned after it ignored cancellation (a native call); the health is DOWN while any is still running. */
    private final List<Task> stuck = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicLong stuckCount = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong processedCount = new AtomicLong();
    private final AtomicLong assignmentCount = new AtomicLong();
    private final AtomicLong partitionsLostCount = new AtomicLong();
    private final AtomicLong commitFailureCount = new AtomicLong();
    private final AtomicLong handedBackCount = new AtomicLong();
    private volatile Future<Void> inFlight;
    /** True while a job (or a retry back-off) holds every partition paused; touched by the poll thread only. */
    private boolean holding;
    private final Thread pollThread;
    private volatile boolean healthy = true;
    private volatile String lastError = "";
    /** Heartbeats of the event being worked on; touched by the poll thread only. */
    private Beat beat;
    /** When the consumer lag was last measured; touched by the poll thread only. */
    private long lagMeasuredAt;
    private boolean lagMeasured;

    /** Without guards: no failed-job check, no delivery counting, default heartbeats (tests, tools). */
    public StageWorker(StageHandler<V> handler, KafkaSettings settings, EventPublisher publisher, ProcessedEvents processed,
                       String producer, String version) {
        this(handler, settings, publisher, processed, WorkLedger.NONE, GuardSettings.DEFAULTS, producer, version);
    }

    public StageWorker(StageHandler<V> handler, KafkaSettings settings, EventPublisher publisher, ProcessedEvents processed,
                       WorkLedger ledger, GuardSettings guards, String producer, String version) {
        this(handler, settings, publisher, processed, ledger, guards, StageMetrics.NONE, producer, version);
    }

    public StageWorker(StageHandler<V> handler, KafkaSettings settings, EventPublisher publisher, ProcessedEvents processed,
                       WorkLedger ledger, GuardSettings guards, StageMetrics metrics, String producer, String version) {
        this(handler, settings, publisher, processed, ledger, guards, metrics, producer, version,
            newConsumer(handler, settings));
    }

    /** Over a given consumer (tests: Kafka's {@code MockConsumer}). */
    StageWorker(StageHandler<V> handler, KafkaSettings settings, EventPublisher publisher, ProcessedEvents processed,
                WorkLedger ledger, GuardSettings guards, String producer, String version, Consumer<String, byte[]> consumer) {
        this(handler, settings, publisher, processed, ledger, guards, StageMetrics.NONE, producer, version, consumer);
    }

    StageWorker(StageHandler<V> handler, KafkaSettings settings, EventPublisher publisher, ProcessedEvents processed,
                WorkLedger ledger, GuardSettings guards, StageMetrics metrics, String producer, String version,
                Consumer<String, byte[]> consumer) {
        this.handler = handler;
        this.settings = settings;
        this.publisher = publisher;
        this.processed = processed;
        this.ledger = ledger;
        this.guards = guards;
        this.metrics = metrics;
        this.producer = producer;
        this.version = version;
        this.consumer = consumer;
        this.work = newWorkExecutor();
        this.pollThread = new Thread(this::loop, handler.stage() + "-poll");
    }

    /**
     * One daemon work thread: a stuck one (abandoned in a native call) must not keep the JVM from exiting when the
     * launcher or the kubelet stops the process.
     */
    private ExecutorService newWorkExecutor() {
        long n = workThreads.incrementAndGet();
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, handler.stage() + "-work" + (n == 1 ? "" : "-" + n));
            t.setDaemon(true);
            return t;
        });
    }

    private static KafkaConsumer<String, byte[]> newConsumer(StageHandler<?> handler, KafkaSettings settings) {
        Properties p = new Properties();
        p.putAll(settings.clientProperties());
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, handler.group());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, handler.group() + "-" + ProcessHandle.current().pid());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) settings.maxPollInterval().toMillis());
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) settings.sessionTimeout().toMillis());
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) Math.min(3000, settings.sessionTimeout().toMillis() / 3));
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return new KafkaConsumer<>(p);
    }

    public void start() {
        consumer.subscribe(List.of(handler.topic().name()), new Rebalance());
        pollThread.start();
    }

    /**
     * False once the poll loop died, and while work abandoned after it ignored its cancellation is still running
     * (a native call past {@code max-job-duration}): the readiness and liveness checks report the worker DOWN, so an
     * orchestrator restarts it; a fresh work thread takes the next events meanwhile.
     */
    public boolean healthy() {
        return healthy && pollThread.isAlive() && stuckNow().isEmpty();
    }

    public String lastError() {
        List<Task> s = stuckNow();
        if (!s.isEmpty()) {
            Task t = s.getFirst();
            return handler.stage() + " work thread stuck since " + t.abandonedAt + " on job " + t.jobId + " (" + t.why
                + "); it ignored cancellation (a native call that cannot be interrupted) and was abandoned; a fresh work"
                + " thread takes the next events; restart the process to free what it holds"
                + (s.size() > 1 ? " (" + s.size() + " stuck threads)" : "");
        }
        return lastError;
    }

    /** Abandoned work threads still running. */
    public int stuckThreads() {
        return stuckNow().size();
    }

    /** Times work ignored its cancellation and its thread was abandoned (since start). */
    public long stuckCount() {
        return stuckCount.get();
    }

    private List<Task> stuckNow() {
        stuck.removeIf(Task::finished);
        return List.copyOf(stuck);
    }

    public long processedCount() {
        return processedCount.get();
    }

    public String group() {
        return handler.group();
    }

    /** Rebalances that gave this process at least one partition (the first assignment included). */
    public long assignmentCount() {
        return assignmentCount.get();
    }

    /**
     * Times this process was dropped from its group (poll interval or session timeout exceeded) and lost its
     * partitions without revoking them. Stays zero while jobs of any length run, which is what pausing is for.
     */
    public long partitionsLostCount() {
        return partitionsLostCount.get();
    }

    /** Offset commits the group refused (the partition had moved to another process). */
    public long commitFailureCount() {
        return commitFailureCount.get();
    }

    /** Jobs interrupted by {@link #stop(Duration)} and left uncommitted for another process. */
    public long handedBackCount() {
        return handedBackCount.get();
    }

    /** Counts and logs partition movements; pauses partitions assigned while a job holds the consumer. */
    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return; // the cooperative protocol reports every rebalance, also those that move nothing here
            }
            assignmentCount.incrementAndGet();
            if (holding) {
                consumer.pause(partitions);
            }
            LOG.infof("%s: assigned %s%s; now holding %d partitions", handler.stage(), partitions,
                holding ? " (paused: a job is running)" : "", consumer.assignment().size());
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                LOG.infof("%s: revoked %s", handler.stage(), partitions);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            partitionsLostCount.incrementAndGet();
            LOG.warnf("%s: lost %s: this process was dropped from group %s", handler.stage(), partitions, handler.group());
        }
    }

    private void loop() {
        try {
            while (running.get()) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(250));
                measureLag(false);
                for (ConsumerRecord<String, byte[]> record : records) {
                    if (!running.get()) {
                        return;
                    }
                    processRecord(record);
                    measureLag(true);
                }
            }
        } catch (WakeupException e) {
            if (running.get()) {
                healthy = false;
                lastError = "consumer woken unexpectedly";
            }
        } catch (RuntimeException e) {
            healthy = false;
            lastError = Failures.reasonOf(e);
            LOG.errorf(e, "%s worker stopped", handler.stage());
        } finally {
            consumer.close(Duration.ofSeconds(5));
            LOG.infof("%s: stopped and left group %s; %d events handled by this process", handler.stage(), handler.group(),
                processedCount.get());
        }
    }

    private void processRecord(ConsumerRecord<String, byte[]> record) {
        JobMdc.set(record.key(), handler.stage());
        try (var traced = JobTracing.consumed(record, handler.group(), handler.stage())) {
            handleRecord(record);
        } finally {
            JobMdc.clear();
        }
    }

    private void handleRecord(ConsumerRecord<String, byte[]> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        V event;
        try {
            event = AvroCodec.decode(record.value(), handler.topic().valueType());
        } catch (UndecodableEventException e) {
            LOG.warnf("%s: undecodable record at %s@%d (key %s): %s", handler.stage(), tp, record.offset(), record.key(), e.getMessage());
            failUndecodable(record, e);
            commit(tp, record.offset());
            return;
        }
        EventHeader header = AvroCodec.header(event);
        JobMdc.set(header.getJobId(), handler.stage());
        JobTracing.describe(header, event);
        try {
            if (offPoll(() -> processed.seen(header.getJobId(), handler.group(), header.getEventId()))) {
                LOG.infof("%s: event %s of job %s already processed, skipping redelivery", handler.stage(),
                    header.getEventId(), header.getJobId());
                commit(tp, record.offset());
                return;
            }
        } catch (Exception e) {
            LOG.warnf("%s: cannot check processed marker (%s); processing anyway", handler.stage(), e.getMessage());
        }
        if (handler.binding().failsJob()) {
            Optional<String> failed = offPollOr(() -> jobFailure(header.getJobId()), Optional.empty());
            if (failed.isPresent()) {
                LOG.infof("%s: job %s has already failed (%s); dropping event %s", handler.stage(), header.getJobId(),
                    failed.get(), header.getEventId());
                commit(tp, record.offset());
                return;
            }
        }
        Delivery delivery = offPollOr(() -> startDelivery(header), null);
        if (delivery != null) {
            metrics.delivery(delivery.count() > 1);
        }
        if (delivery != null && delivery.count() > guards.maxDeliveries()) {
            deadLetterCrashed(record, header, delivery);
            commit(tp, record.offset());
            return;
        }

        LOG.infof("%s: handling event %s of job %s from %s@%d", handler.stage(), header.getEventId(), header.getJobId(), tp,
            record.offset());
        metrics.jobIn(header.getAttempt());
        PeakRss.runStarted();
        try {
            runStage(record, tp, event, header, delivery);
        } finally {
            PeakRss.runEnded();
        }
    }

    private void runStage(ConsumerRecord<String, byte[]> record, TopicPartition tp, V event, EventHeader header,
                          Delivery delivery) {
        long started = System.nanoTime();
        String startedAt = java.time.Instant.now().toString();
        java.util.function.Supplier<StageRun> runSoFar = () -> new StageRun(handler.stage(), handler.group(), producer,
            header.getAttempt(), header.getEventId(), startedAt, (System.nanoTime() - started) / 1e9, PeakRss.bytes(),
            StageRun.RUNNING);
        Throwable failure = null;
        long outageSince = -1;
        int outageTries = 0;
        beat = new Beat(header, delivery);
        for (int attempt = 1; attempt <= settings.maxAttempts(); attempt++) {
            StageContext context = new StageContext(header, publisher, producer, version, handler.stage());
            context.track(runSoFar, () -> saveRun(header, runSoFar.get()));
            beat.context = context;
            JobTracing.Traced tried = JobTracing.attempt(handler.stage(), header, event, attempt);
            failure = runPaused(context, () -> JobMdc.call(header.getJobId(), handler.stage(), () -> {
                long t0 = System.nanoTime();
                handler.handle(event, context);
                long left = settings.minJobDuration().toNanos() - (System.nanoTime() - t0);
                if (left > 0) {
                    TimeUnit.NANOSECONDS.sleep(left);
                }
                return null;
            }));
            tried.end(failure); // runPaused returns what failed; what it throws stops the worker
            if (failure == null || failure instanceof JobFailedMeanwhile || Failures.classify(failure).permanent()
                || !running.get()) {
                break;
            }
            if (Failures.isUnavailable(failure)) {
                long now = System.nanoTime();
                if (outageSince < 0) {
                    outageSince = now;
                }
                Duration waited = Duration.ofNanos(now - outageSince);
                if (waited.compareTo(guards.outageWindow()) < 0) {
                    Duration pause = Duration.ofMillis(Math.min(5000, 250L << Math.min(5, outageTries++)));
                    LOG.warnf("%s: job %s: a service it needs is unreachable (%s); trying again in %d ms (outage for %d s"
                        + " so far, waited out up to %s without spending the job's tries)", handler.stage(),
                        header.getJobId(), Failures.reasonOf(failure), pause.toMillis(), waited.toSeconds(),
                        guards.outageWindow());
                    metrics.retry();
                    sleepPolling(pause);
                    if (!running.get()) {
                        break; // shutting down: handed back below
                    }
                    attempt--;
                    continue;
                }
                failure = new PermanentStageException(ReasonCodes.STAGE_ERROR, handler.stage() + ": a service it needs"
                    + " stayed unreachable for " + guards.outageWindow() + " (quantflow.worker.outage-window): "
                    + Failures.reasonOf(failure));
                break;
            }
            outageSince = -1;
            outageTries = 0;
            LOG.warnf(failure, "%s: job %s attempt %d/%d failed, retrying", handler.stage(), header.getJobId(), attempt,
                settings.maxAttempts());
            beat.noteError(Failures.reasonOf(failure));
            metrics.retry();
            sleepPolling(settings.retryBackoff().multipliedBy(1L << (attempt - 1)));
        }
        if (failure instanceof JobFailedMeanwhile f) {
            // The supervisor (or another stage) failed the job while this stage worked on it: nothing more to say.
            LOG.infof("%s: job %s failed while this stage worked on it (%s); its work was abandoned", handler.stage(),
                header.getJobId(), f.getMessage());
            beat = null;
            saveRun(header, runSoFar.get().withOutcome(StageRun.ABANDONED));
            markProcessedAndCommit(tp, record.offset(), header);
            return;
        }
        if (failure != null && !running.get() && !Failures.classify(failure).permanent()) {
            // Shutting down mid-job or mid-retry: leave the record uncommitted so another process takes it.
            handedBackCount.incrementAndGet();
            LOG.infof("%s: handing event %s of job %s back uncommitted (shutting down)", handler.stage(),
                header.getEventId(), header.getJobId());
            beat.handBack();
            beat = null;
            return;
        }
        beat.done();
        beat = null;
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        metrics.peakRss(PeakRss.bytes());
        saveRun(header, runSoFar.get().withOutcome(failure == null ? StageRun.OK : StageRun.FAILED));
        if (failure == null && guards.crashesAfterHandling(header.getJobId(), delivery)) {
            LOG.errorf("%s: fault injection (quantflow.faults.crash-after-handle-job): halting after the outputs of event"
                + " %s of job %s were published, before its processed marker and offset commit", handler.stage(),
                header.getEventId(), header.getJobId());
            Runtime.getRuntime().halt(137);
        }
        if (failure == null) {
            metrics.jobOut(took);
        } else {
            Failures.Classified c = Failures.classify(failure);
            String code = c.reasonCode();
            metrics.jobFailed(code, took);
            String reason = c.permanent() ? c.reason()
                : handler.stage() + " failed after " + settings.maxAttempts() + " tries: " + c.reason();
            LOG.infof("%s: job %s failed: %s %s", handler.stage(), header.getJobId(), code, reason);
            JobTracing.failCurrent(code, reason);
            publishFailure(header, code, reason);
        }
        long count = markProcessedAndCommit(tp, record.offset(), header);
        LOG.infof("%s: done with event %s of job %s in %d ms (%s); %d events handled by this process", handler.stage(),
            header.getEventId(), header.getJobId(), (System.nanoTime() - started) / 1_000_000,
            failure == null ? "ok" : "failed", count);
    }

    private void saveRun(EventHeader header, StageRun run) {
        try {
            ledger.saveStageRun(header.getJobId(), run);
        } catch (Exception e) {
            LOG.warnf("%s: cannot note the stage run of event %s: %s", handler.stage(), header.getEventId(), e.getMessage());
        }
    }

    private long markProcessedAndCommit(TopicPartition tp, long offset, EventHeader header) {
        try {
            processed.mark(header.getJobId(), handler.group(), header.getEventId());
        } catch (Exception e) {
            LOG.warnf("%s: cannot write processed marker: %s", handler.stage(), e.getMessage());
        }
        long count = processedCount.incrementAndGet();
        commit(tp, offset);
        return count;
    }

    @FunctionalInterface
    private interface Work {
        Void call() throws Exception;
    }

    /** The job failed (its failed marker appeared) while this stage worked on it; its work was abandoned. */
    private static final class JobFailedMeanwhile extends RuntimeException {
        JobFailedMeanwhile(String failure) {
            super(failure, null, false, false);
        }
    }

    /** One piece of work on the work thread; knows whether its thread is still in it after a cancel. */
    private static final class Task implements java.util.concurrent.Callable<Void> {
        private final Work work;
        final String jobId;
        volatile boolean started;
        volatile boolean ended;
        volatile Thread thread;
        volatile java.time.Instant abandonedAt;
        volatile String why;

        Task(Work work, String jobId) {
            this.work = work;
            this.jobId = jobId;
        }

        @Override
        public Void call() throws Exception {
            thread = Thread.currentThread();
            started = true;
            try {
                return work.call();
            } finally {
                ended = true;
            }
        }

        /** Its thread left the work (or never entered it: cancelled before it started). */
        boolean finished() {
            return ended || !started;
        }
    }

    /**
     * Runs the work on the work thread while this thread keeps polling with all partitions paused. Past
     * {@code max-job-duration}, or when the job's failed marker appears meanwhile (checked every heartbeat interval),
     * the work is cancelled and abandoned ({@link #abandon}).
     */
    private Throwable runPaused(StageContext context, Work w) {
        hold();
        Task task = new Task(JobTracing.wrap(w::call)::call, context.jobId()); // the try's span goes along to the work thread
        Future<Void> f = work.submit(task);
        inFlight = f;
        long deadline = System.nanoTime() + settings.maxJobDuration().toNanos();
        long nextFailedCheck = System.nanoTime() + guards.heartbeatInterval().toNanos();
        try {
            while (true) {
                try {
                    f.get(200, TimeUnit.MILLISECONDS);
                    return null;
                } catch (java.util.concurrent.TimeoutException e) {
                    long now = System.nanoTime();
                    if (now > deadline) {
                        String why = "ran past max-job-duration " + settings.maxJobDuration();
                        boolean stuckNow = abandon(f, task, context, why);
                        return new PermanentStageException(ReasonCodes.STAGE_ERROR,
                            handler.stage() + " took longer than " + settings.maxJobDuration() + " (max-job-duration)"
                            + (stuckNow ? "; its work did not stop when cancelled (a native call that cannot be"
                                + " interrupted), the worker abandoned it and reports DOWN until it returns" : ""));
                    }
                    if (now >= nextFailedCheck && handler.binding().failsJob()) {
                        nextFailedCheck = now + guards.heartbeatInterval().toNanos();
                        Optional<String> failed = jobFailure(context.jobId());
                        if (failed.isPresent()) {
                            abandon(f, task, context, "its job failed meanwhile: " + failed.get());
                            return new JobFailedMeanwhile(failed.get());
                        }
                    }
                    // Keeps the group membership alive; paused partitions return nothing.
                    pollHolding(Duration.ZERO);
                    if (beat != null) {
                        beat.maybeSend();
                    }
                } catch (java.util.concurrent.ExecutionException e) {
                    return e.getCause();
                } catch (CancellationException e) {
                    return e; // stop() ran out of grace: the record is handed back
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return e;
                }
            }
        } finally {
            inFlight = null;
            release();
        }
    }

    /**
     * Cancels the work (interrupting its thread), tells its context to publish nothing more, and waits up to
     * {@code stuckGrace} (polling, so the group membership holds) for the thread to leave it. A thread still inside
     * (a native ONNX Runtime call ignores interrupts) is abandoned: the executor is replaced by a fresh one for the
     * next events and the worker reports DOWN while the abandoned thread runs. Returns whether it was abandoned.
     */
    private boolean abandon(Future<Void> f, Task task, StageContext context, String why) {
        context.revoke(why);
        f.cancel(true);
        long end = System.nanoTime() + guards.stuckGrace().toNanos();
        while (!task.finished() && System.nanoTime() < end) {
            pollHolding(Duration.ofMillis(50));
        }
        if (task.finished()) {
            return false;
        }
        task.why = why;
        task.abandonedAt = java.time.Instant.now();
        stuck.add(task);
        stuckCount.incrementAndGet();
        metrics.stuck();
        ExecutorService old = work;
        work = newWorkExecutor();
        old.shutdownNow();
        Thread t = task.thread;
        StringBuilder where = new StringBuilder();
        if (t != null) {
            for (StackTraceElement e : t.getStackTrace()) {
                where.append("\n\tat ").append(e);
                if (where.length() > 2000) {
                    break;
                }
            }
        }
        LOG.errorf("%s: the work on job %s %s and did not stop within %s of being cancelled; abandoning thread %s"
                + " (health DOWN until it returns; a fresh work thread takes the next events). It is at:%s",
            handler.stage(), task.jobId, why, guards.stuckGrace(), t == null ? "?" : t.getName(), where);
        return true;
    }

    /**
     * Runs a store call (the processed, failed and delivery checks before work) on the work thread while this thread
     * keeps polling with every partition paused, so a slow or hanging store cannot keep the consumer from polling
     * past {@code max.poll.interval.ms} and get the process dropped from its group. Only used while no job runs.
     */
    private <T> T offPoll(java.util.concurrent.Callable<T> call) throws Exception {
        hold();
        try {
            Future<T> f = work.submit(call);
            while (true) {
                try {
                    return f.get(100, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    pollHolding(Duration.ZERO);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof Exception cause) {
                        throw cause;
                    }
                    throw e;
                }
            }
        } finally {
            release();
        }
    }

    private <T> T offPollOr(java.util.concurrent.Callable<T> call, T fallback) {
        try {
            return offPoll(call);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fallback;
        } catch (Exception e) {
            return fallback;
        }
    }

    private void sleepPolling(Duration d) {
        hold();
        try {
            long end = System.nanoTime() + d.toNanos();
            while (System.nanoTime() < end && running.get()) {
                pollHolding(Duration.ofMillis(100));
            }
        } finally {
            release();
        }
    }

    private void hold() {
        holding = true;
        consumer.pause(consumer.assignment());
    }

    private void release() {
        holding = false;
        consumer.resume(consumer.assignment());
    }

    /**
     * Polls while every partition is paused. Partitions a rebalance assigns are paused by {@link Rebalance} before
     * fetching; if records come back anyway, the consumer is rewound to them so they are read again after the job.
     */
    private void pollHolding(Duration timeout) {
        ConsumerRecords<String, byte[]> stray = consumer.poll(timeout);
        for (TopicPartition tp : stray.partitions()) {
            long first = stray.records(tp).getFirst().offset();
            LOG.debugf("%s: rewinding %s to %d (records returned while paused)", handler.stage(), tp, first);
            consumer.seek(tp, first);
        }
        consumer.pause(consumer.assignment());
        measureLag(false);
    }

    /**
     * Consumer lag: end offset minus position, summed over the assigned partitions, after each record and else
     * every {@link #LAG_INTERVAL}. While a job runs the position is past its record, so the lag counts the records
     * waiting behind it.
     */
    private void measureLag(boolean now) {
        long t = System.nanoTime();
        if (!now && lagMeasured && t - lagMeasuredAt < LAG_INTERVAL.toNanos()) {
            return;
        }
        lagMeasured = true;
        lagMeasuredAt = t;
        try {
            var assigned = consumer.assignment();
            long lag = 0;
            if (!assigned.isEmpty()) {
                Map<TopicPartition, Long> ends = consumer.endOffsets(assigned, Duration.ofSeconds(2));
                for (TopicPartition tp : assigned) {
                    Long end = ends.get(tp);
                    if (end != null) {
                        lag += Math.max(0, end - consumer.position(tp, Duration.ofSeconds(2)));
                    }
                }
            }
            metrics.lag(lag);
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.debugf("%s: cannot measure the consumer lag: %s", handler.stage(), e.getMessage());
        }
    }

    private void commit(TopicPartition tp, long offset) {
        try {
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(offset + 1)));
        } catch (RuntimeException e) {
            // Partition moved to another process: it will see the record again and the marker makes that harmless.
            commitFailureCount.incrementAndGet();
            LOG.warnf("%s: commit of %s@%d failed: %s", handler.stage(), tp, offset, e.getMessage());
        }
    }

    private void failUndecodable(ConsumerRecord<String, byte[]> record, UndecodableEventException e) {
        String jobId = record.key();
        if (jobId == null || jobId.isBlank()) {
            LOG.errorf("%s: undecodable record without a job id key at %s-%d@%d; sending it to %s", handler.stage(),
                record.topic(), record.partition(), record.offset(), Topics.DEAD_LETTERS.name());
            publishDeadLetter(record, EventHeaders.fresh("", 1, producer, version), ReasonCodes.BAD_EVENT,
                "the record on " + record.topic() + " could not be read: " + e.getMessage(), 1, -1);
            metrics.deadLetter(ReasonCodes.BAD_EVENT);
            return;
        }
        EventHeader header = EventHeaders.fresh(jobId, 1, producer, version);
        String reason = "the event on " + record.topic() + " could not be read: " + e.getMessage();
        publishDeadLetter(record, header, ReasonCodes.BAD_EVENT, reason, 1, -1);
        metrics.deadLetter(ReasonCodes.BAD_EVENT);
        metrics.jobFailed(ReasonCodes.BAD_EVENT, null);
        publishFailure(header, ReasonCodes.BAD_EVENT, reason);
    }

    private Optional<String> jobFailure(String jobId) {
        try {
            return ledger.failure(jobId);
        } catch (Exception e) {
            LOG.warnf("%s: cannot read the failed marker of job %s (%s); processing anyway", handler.stage(), jobId,
                e.getMessage());
            return Optional.empty();
        }
    }

    /** Counts this delivery before work starts; null when the ledger cannot be reached (the event is worked on). */
    private Delivery startDelivery(EventHeader header) {
        try {
            Delivery before = ledger.delivery(header.getJobId(), handler.group(), header.getEventId());
            if (before.count() >= guards.maxDeliveries()) {
                return before.next(); // given up on: not written again, the record goes to the dead-letter topic
            }
            Delivery now = before.next().withPeakRss(PeakRss.bytes());
            ledger.saveDelivery(header.getJobId(), handler.group(), header.getEventId(), now);
            return now;
        } catch (Exception e) {
            LOG.warnf("%s: cannot count the delivery of event %s (%s); processing anyway", handler.stage(),
                header.getEventId(), e.getMessage());
            return null;
        }
    }

    /** The event was delivered {@code maxDeliveries} times and never finished: its workers died on it. */
    private void deadLetterCrashed(ConsumerRecord<String, byte[]> record, EventHeader header, Delivery delivery) {
        int crashed = delivery.count() - 1;
        String reason = handler.stage() + " worker killed while working on this job, " + crashed + " times: likely out of"
            + " memory; peak RSS " + PeakRss.describe(delivery.peakRssBytes())
            + (delivery.lastError().isEmpty() ? "" : "; last error: " + delivery.lastError());
        LOG.errorf("%s: giving up on event %s of job %s after %d unfinished deliveries; sending it to %s", handler.stage(),
            header.getEventId(), header.getJobId(), crashed, Topics.DEAD_LETTERS.name());
        publishDeadLetter(record, header, ReasonCodes.STAGE_CRASHED,
            delivery.lastError().isEmpty() ? "worker killed while working on it (no error recorded)" : delivery.lastError(),
            crashed, delivery.peakRssBytes());
        metrics.deadLetter(ReasonCodes.STAGE_CRASHED);
        metrics.jobFailed(ReasonCodes.STAGE_CRASHED, null);
        publishFailure(header, ReasonCodes.STAGE_CRASHED, reason);
        try {
            processed.mark(header.getJobId(), handler.group(), header.getEventId());
        } catch (Exception e) {
            LOG.warnf("%s: cannot write processed marker: %s", handler.stage(), e.getMessage());
        }
    }

    private void publishDeadLetter(ConsumerRecord<String, byte[]> record, EventHeader cause, String code, String lastError,
                                   int deliveries, long peakRss) {
        try {
            publishDeadLetterOrThrow(record, cause, code, lastError, deliveries, peakRss);
        } catch (RuntimeException e) {
            // The job's failure still goes out; the record stays where it was, at a logged offset.
            LOG.errorf("%s: cannot publish %s-%d@%d to %s (%s)", handler.stage(), record.topic(), record.partition(),
                record.offset(), Topics.DEAD_LETTERS.name(), e.getMessage());
        }
    }

    private void publishDeadLetterOrThrow(ConsumerRecord<String, byte[]> record, EventHeader cause, String code,
                                          String lastError, int deliveries, long peakRss) {
        publisher.publish(Topics.DEAD_LETTERS, cause.getJobId(), DeadLetter.newBuilder()
            .setHeader(EventHeaders.derived(cause, cause.getAttempt(), producer, version, "dead-letter-" + handler.group()))
            .setSourceTopic(record.topic())
            .setSourcePartition(record.partition())
            .setSourceOffset(record.offset())
            .setGroup(handler.group())
            .setStage(handler.stage())
            .setDeliveries(deliveries)
            .setReasonCode(code)
            .setLastError(Failures.clean(lastError))
            .setPeakRssBytes(peakRss < 0 ? null : peakRss)
            .setPayload(java.nio.ByteBuffer.wrap(record.value() == null ? new byte[0] : record.value()))
            .build());
    }

    /**
     * Heartbeats and the delivery record of the event being worked on. Heartbeat ids are fresh (not derived), so the
     * heartbeats of a redelivery are not taken for repeats of the earlier delivery's.
     */
    private final class Beat {
        private final EventHeader input;
        private final long started = System.nanoTime();
        private long nextDue;
        private Delivery delivery;
        volatile StageContext context;

        Beat(EventHeader input, Delivery delivery) {
            this.input = input;
            this.delivery = delivery;
            this.nextDue = started + guards.heartbeatInterval().toNanos();
        }

        void maybeSend() {
            long now = System.nanoTime();
            if (now < nextDue || !handler.binding().failsJob()) {
                return;
            }
            nextDue = now + guards.heartbeatInterval().toNanos();
            send(Heartbeats.working(Duration.ofNanos(now - started)));
            save(delivery == null ? null : delivery.withPeakRss(PeakRss.bytes()));
        }

        void noteError(String error) {
            save(delivery == null ? null : delivery.withError(error));
        }

        void handBack() {
            save(delivery == null ? null : delivery.handedBack());
        }

        void done() {
            if (handler.binding().failsJob()) {
                send(Heartbeats.DONE);
            }
        }

        private void send(String message) {
            StageContext c = context;
            try {
                publisher.publish(Topics.JOBS_STATUS, input.getJobId(), JobStatus.newBuilder()
                    .setHeader(EventHeaders.fresh(input.getJobId(), input.getAttempt(), producer, version))
                    .setStage(handler.stage())
                    .setState(JobStates.RUNNING)
                    .setProgress(c == null ? 0.0 : c.lastProgress())
                    .setMessage(message)
                    .build());
            } catch (RuntimeException e) {
                LOG.warnf("%s: cannot publish a heartbeat of job %s: %s", handler.stage(), input.getJobId(), e.getMessage());
            }
        }

        private void save(Delivery next) {
            if (next == null) {
                return;
            }
            try {
                ledger.saveDelivery(input.getJobId(), handler.group(), input.getEventId(), next);
                delivery = next;
            } catch (Exception e) {
                LOG.warnf("%s: cannot update the delivery record of event %s: %s", handler.stage(), input.getEventId(),
                    e.getMessage());
            }
        }
    }

    private void publishFailure(EventHeader cause, String code, String reason) {
        if (!handler.binding().failsJob()) {
            LOG.errorf("%s: event of job %s failed (%s: %s); side work, the job's state is left as it is",
                handler.stage(), cause.getJobId(), code, reason);
            return;
        }
        try {
            ledger.markFailed(cause.getJobId(), code, Failures.clean(reason));
        } catch (Exception e) {
            LOG.warnf("%s: cannot write the failed marker of job %s: %s", handler.stage(), cause.getJobId(), e.getMessage());
        }
        try {
            publisher.publish(Topics.JOBS_FAILED, cause.getJobId(), JobFailed.newBuilder()
                .setHeader(EventHeaders.derived(cause, cause.getAttempt(), producer, version, "failed"))
                .setStage(handler.stage())
                .setReasonCode(code)
                .setReason(Failures.clean(reason))
                .build());
            publisher.publish(Topics.JOBS_STATUS, cause.getJobId(), JobStatus.newBuilder()
                .setHeader(EventHeaders.derived(cause, cause.getAttempt(), producer, version, "failed-status"))
                .setStage(handler.stage())
                .setState(JobStates.FAILED)
                .setProgress(1.0)
                .setMessage(code + ": " + Failures.clean(reason))
                .build());
        } catch (RuntimeException e) {
            LOG.errorf(e, "%s: cannot publish failure of job %s", handler.stage(), cause.getJobId());
            throw e;
        }
    }

    /**
     * Graceful stop: lets an in-flight job finish (up to {@code grace}), commits it and leaves the group. A job
     * still running after {@code grace} is interrupted and its record left uncommitted; leaving the group hands its
     * partition to another process at once. Returns when the consumer is closed (or after a few more seconds).
     */
    public void stop(Duration grace) {
        running.set(false);
        join(grace);
        Future<Void> f = inFlight;
        if (pollThread.isAlive() && f != null) {
            LOG.warnf("%s: in-flight job not finished within %s; interrupting it and handing it back", handler.stage(), grace);
            f.cancel(true);
            join(Duration.ofSeconds(5));
        }
        if (pollThread.isAlive()) {
            consumer.wakeup();
            join(Duration.ofSeconds(5));
        }
        work.shutdownNow();
    }

    private void join(Duration d) {
        try {
            pollThread.join(Math.max(1, d.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(30));
    }
}
