package dev.quantflow.pipeline.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobStatus;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.EventHeaders;
import dev.quantflow.pipeline.JobStates;
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
 * another process of the group.
 *
 * <p>Failures: {@link PermanentStageException} and undecodable records fail the job at once with a reason code;
 * other exceptions are retried with exponential back-off, then fail the job with {@code STAGE_ERROR}. Either way
 * the record is committed: nothing blocks the partition and nothing is silently dropped.
 */
public final class StageWorker<V extends SpecificRecord> implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(StageWorker.class);

    private final StageHandler<V> handler;
    private final KafkaSettings settings;
    private final EventPublisher publisher;
    private final ProcessedEvents processed;
    private final String producer;
    private final String version;
    private final KafkaConsumer<String, byte[]> consumer;
    private final ExecutorService work;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong processedCount = new AtomicLong();
    private final Thread pollThread;
    private volatile boolean healthy = true;
    private volatile String lastError = "";

    public StageWorker(StageHandler<V> handler, KafkaSettings settings, EventPublisher publisher, ProcessedEvents processed,
                       String producer, String version) {
        this.handler = handler;
        this.settings = settings;
        this.publisher = publisher;
        this.processed = processed;
        this.producer = producer;
        this.version = version;
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, handler.group());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, handler.group() + "-" + ProcessHandle.current().pid());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        this.consumer = new KafkaConsumer<>(p);
        this.work = Executors.newSingleThreadExecutor(r -> new Thread(r, handler.stage() + "-work"));
        this.pollThread = new Thread(this::loop, handler.stage() + "-poll");
    }

    public void start() {
        consumer.subscribe(List.of(handler.topic().name()));
        pollThread.start();
    }

    public boolean healthy() {
        return healthy && pollThread.isAlive();
    }

    public String lastError() {
        return lastError;
    }

    public long processedCount() {
        return processedCount.get();
    }

    public String group() {
        return handler.group();
    }

    private void loop() {
        try {
            while (running.get()) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(250));
                for (ConsumerRecord<String, byte[]> record : records) {
                    if (!running.get()) {
                        return;
                    }
                    processRecord(record);
                }
            }
        } catch (WakeupException e) {
            if (running.get()) {
                healthy = false;
                lastError = "consumer woken unexpectedly";
            }
        } catch (RuntimeException e) {
            healthy = false;
            lastError = e.toString();
            LOG.errorf(e, "%s worker stopped", handler.stage());
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private void processRecord(ConsumerRecord<String, byte[]> record) {
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
        try {
            if (processed.seen(header.getJobId(), handler.group(), header.getEventId())) {
                LOG.infof("%s: event %s of job %s already processed, skipping redelivery", handler.stage(),
                    header.getEventId(), header.getJobId());
                commit(tp, record.offset());
                return;
            }
        } catch (Exception e) {
            LOG.warnf("%s: cannot check processed marker (%s); processing anyway", handler.stage(), e.getMessage());
        }

        Throwable failure = null;
        for (int attempt = 1; attempt <= settings.maxAttempts(); attempt++) {
            failure = runPaused(() -> {
                handler.handle(event, new StageContext(header, publisher, producer, version, handler.stage()));
                return null;
            });
            if (failure == null || failure instanceof PermanentStageException || !running.get()) {
                break;
            }
            LOG.warnf(failure, "%s: job %s attempt %d/%d failed, retrying", handler.stage(), header.getJobId(), attempt,
                settings.maxAttempts());
            sleepPolling(settings.retryBackoff().multipliedBy(1L << (attempt - 1)));
        }
        if (failure != null && !running.get() && !(failure instanceof PermanentStageException)) {
            // Shutting down mid-retry: leave the record uncommitted so another process takes it.
            return;
        }
        if (failure != null) {
            String code = failure instanceof PermanentStageException p ? p.reasonCode() : ReasonCodes.STAGE_ERROR;
            String reason = failure instanceof PermanentStageException ? failure.getMessage()
                : handler.stage() + " failed after " + settings.maxAttempts() + " tries: " + failure;
            LOG.infof("%s: job %s failed: %s %s", handler.stage(), header.getJobId(), code, reason);
            publishFailure(header, code, reason);
        }
        try {
            processed.mark(header.getJobId(), handler.group(), header.getEventId());
        } catch (Exception e) {
            LOG.warnf("%s: cannot write processed marker: %s", handler.stage(), e.getMessage());
        }
        processedCount.incrementAndGet();
        commit(tp, record.offset());
    }

    @FunctionalInterface
    private interface Work {
        Void call() throws Exception;
    }

    /** Runs the work on the work thread while this thread keeps polling with all partitions paused. */
    private Throwable runPaused(Work w) {
        var assigned = consumer.assignment();
        consumer.pause(assigned);
        Future<Void> f = work.submit(w::call);
        long deadline = System.nanoTime() + settings.maxJobDuration().toNanos();
        try {
            while (true) {
                try {
                    f.get(200, TimeUnit.MILLISECONDS);
                    return null;
                } catch (java.util.concurrent.TimeoutException e) {
                    if (System.nanoTime() > deadline) {
                        f.cancel(true);
                        return new PermanentStageException(ReasonCodes.STAGE_ERROR,
                            handler.stage() + " took longer than " + settings.maxJobDuration());
                    }
                    // Keeps the group membership alive; paused partitions return nothing. Partitions assigned by a
                    // rebalance meanwhile are paused too.
                    consumer.poll(Duration.ZERO);
                    consumer.pause(consumer.assignment());
                } catch (java.util.concurrent.ExecutionException e) {
                    return e.getCause();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return e;
                }
            }
        } finally {
            consumer.resume(consumer.assignment());
        }
    }

    private void sleepPolling(Duration d) {
        consumer.pause(consumer.assignment());
        long end = System.nanoTime() + d.toNanos();
        while (System.nanoTime() < end && running.get()) {
            consumer.poll(Duration.ofMillis(100));
        }
        consumer.resume(consumer.assignment());
    }

    private void commit(TopicPartition tp, long offset) {
        try {
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(offset + 1)));
        } catch (RuntimeException e) {
            // Partition moved to another process: it will see the record again and the marker makes that harmless.
            LOG.warnf("%s: commit of %s@%d failed: %s", handler.stage(), tp, offset, e.getMessage());
        }
    }

    private void failUndecodable(ConsumerRecord<String, byte[]> record, UndecodableEventException e) {
        String jobId = record.key();
        if (jobId == null || jobId.isBlank()) {
            LOG.errorf("%s: dropping undecodable record without a job id key at %s-%d@%d", handler.stage(), record.topic(),
                record.partition(), record.offset());
            return;
        }
        EventHeader header = EventHeaders.fresh(jobId, 1, producer, version);
        publishFailure(header, ReasonCodes.BAD_EVENT, "the event on " + record.topic() + " could not be read: " + e.getMessage());
    }

    private void publishFailure(EventHeader cause, String code, String reason) {
        try {
            publisher.publish(Topics.JOBS_FAILED, cause.getJobId(), JobFailed.newBuilder()
                .setHeader(EventHeaders.derived(cause, cause.getAttempt(), producer, version, "failed"))
                .setStage(handler.stage())
                .setReasonCode(code)
                .setReason(reason)
                .build());
            publisher.publish(Topics.JOBS_STATUS, cause.getJobId(), JobStatus.newBuilder()
                .setHeader(EventHeaders.derived(cause, cause.getAttempt(), producer, version, "failed-status"))
                .setStage(handler.stage())
                .setState(JobStates.FAILED)
                .setProgress(1.0)
                .setMessage(code + ": " + reason)
                .build());
        } catch (RuntimeException e) {
            LOG.errorf(e, "%s: cannot publish failure of job %s", handler.stage(), cause.getJobId());
            throw e;
        }
    }

    /** Graceful stop: lets an in-flight job finish (up to {@code grace}), commits it, leaves the group. */
    public void stop(Duration grace) {
        running.set(false);
        try {
            pollThread.join(grace.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (pollThread.isAlive()) {
            consumer.wakeup();
        }
        work.shutdownNow();
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(30));
    }
}
