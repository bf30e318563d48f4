package dev.quantflow.intake.service;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.ModelReady;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.JobTracing;
import dev.quantflow.pipeline.Heartbeats;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.UndecodableEventException;
import dev.quantflow.pipeline.quarkus.PipelineConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * Job state for the API, materialized from Kafka: the compacted status topic plus the model-ready and job-failed
 * topics, read from the beginning by every intake process (no consumer group), so any intake instance can answer
 * for any job and a restarted one rebuilds its view. Statuses are deduplicated by event id. Heartbeats (see
 * {@link Heartbeats}) are not part of a job's history; {@link #observe} hands every event, heartbeats included, to
 * the supervisor.
 */
@ApplicationScoped
public class JobProjection {

    private static final Logger LOG = Logger.getLogger(JobProjection.class);

    @Inject
    PipelineConfig config;

    private final Map<String, JobView> jobs = new LinkedHashMap<>();
    private final Map<String, List<Consumer<JobView.Snapshot>>> listeners = new ConcurrentHashMap<>();
    private final List<Consumer<SpecificRecord>> observers = new CopyOnWriteArrayList<>();
    /** End offsets at start-up; null once every partition was read up to them. Touched by the projection thread. */
    private Map<TopicPartition, Long> catchUpTo;
    private volatile boolean caughtUp;
    private volatile boolean running = true;
    private volatile boolean healthy = true;
    private Thread thread;
    private KafkaConsumer<String, byte[]> consumer;

    void onStart(@Observes StartupEvent ev) {
        Properties p = new Properties();
        p.putAll(config.kafka().clientProperties());
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "intake-projection-" + ProcessHandle.current().pid());
        consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        thread = new Thread(this::loop, "job-projection");
        thread.setDaemon(true);
        thread.start();
    }

    void onStop(@Observes ShutdownEvent ev) {
        running = false;
        if (consumer != null) {
            consumer.wakeup();
        }
    }

    public boolean healthy() {
        return healthy && thread != null && thread.isAlive();
    }

    private void loop() {
        try {
            List<TopicPartition> parts = new ArrayList<>();
            for (String topic : List.of(Topics.JOBS_STATUS.name(), Topics.MODELS_READY.name(), Topics.JOBS_FAILED.name())) {
                List<PartitionInfo> infos = List.of();
                while (running && (infos == null || infos.isEmpty())) {
                    try {
                        infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
                    } catch (org.apache.kafka.common.errors.TimeoutException e) {
                        // a busy or still-starting broker: keep waiting instead of giving up on the projection
                        LOG.infof("no metadata for %s yet (%s); retrying", topic, e.getMessage());
                        infos = List.of();
                    }
                    if (infos == null || infos.isEmpty()) {
                        LOG.infof("waiting for topic %s", topic);
                        Thread.sleep(1000);
                    }
                }
                infos.forEach(i -> parts.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            catchUpTo = new java.util.HashMap<>(consumer.endOffsets(parts));
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    apply(r);
                }
                checkCaughtUp();
            }
        } catch (WakeupException e) {
            // shutting down
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            healthy = false;
            LOG.error("job projection stopped", e);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void checkCaughtUp() {
        if (catchUpTo == null) {
            return;
        }
        catchUpTo.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
        if (catchUpTo.isEmpty()) {
            catchUpTo = null;
            caughtUp = true;
            LOG.infof("job projection caught up: %d jobs", all().size());
        }
    }

    /**
     * True once the projection has read everything that was on its topics when intake started: before that, a job's
     * state may be an old one (its end not read yet), so the supervisor waits for this.
     */
    public boolean caughtUp() {
        return caughtUp;
    }

    /** Calls {@code observer} with every event read (statuses, heartbeats included, model-ready, job-failed), in order. */
    public void observe(Consumer<SpecificRecord> observer) {
        observers.add(observer);
    }

    private void notifyObservers(SpecificRecord event) {
        for (Consumer<SpecificRecord> o : observers) {
            try {
                o.accept(event);
            } catch (RuntimeException e) {
                LOG.warnf("job event observer failed: %s", e.getMessage());
            }
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        try {
            if (r.topic().equals(Topics.JOBS_STATUS.name())) {
                JobStatus status = AvroCodec.decode(r.value(), JobStatus.class);
                notifyObservers(status);
                onStatus(status);
            } else if (r.topic().equals(Topics.MODELS_READY.name())) {
                ModelReady ready = AvroCodec.decode(r.value(), ModelReady.class);
                notifyObservers(ready);
                update(ready.getHeader(), v -> v.ready = ready);
            } else {
                JobFailed failed = AvroCodec.decode(r.value(), JobFailed.class);
                notifyObservers(failed);
                update(failed.getHeader(), v -> v.failure = failed);
            }
        } catch (UndecodableEventException e) {
            LOG.warnf("skipping unreadable record on %s (key %s): %s", r.topic(), r.key(), e.getMessage());
        }
        noteTrace(r.key(), JobTracing.traceIdOf(r.headers()));
    }

    /** The job's trace id: the first one its records carry (intake's accepted status is the first). */
    private void noteTrace(String jobId, String traceId) {
        if (jobId == null || traceId.isEmpty()) {
            return;
        }
        synchronized (jobs) {
            JobView v = jobs.get(jobId);
            if (v != null && v.traceId.isEmpty()) {
                v.traceId = traceId;
            }
        }
    }

    /** Records a job intake has just accepted, so it is visible before its first status event comes back. */
    public void register(String jobId, String name, String method, JobStatus accepted) {
        synchronized (jobs) {
            JobView v = jobs.computeIfAbsent(jobId, id -> new JobView(id, accepted.getHeader().getOccurredAt()));
            v.name = name;
            v.method = method;
            v.traceId = JobTracing.currentTraceId(); // the submit's span is current here
        }
        notifyObservers(accepted);
        onStatus(accepted);
    }

    private void onStatus(JobStatus s) {
        if (Heartbeats.is(s)) {
            return; // liveness for the supervisor, not progress
        }
        EventHeader h = s.getHeader();
        JobView.Snapshot snapshot;
        synchronized (jobs) {
            JobView v = jobs.computeIfAbsent(h.getJobId(), id -> new JobView(id, h.getOccurredAt()));
            if (!v.seenEvents.add(h.getEventId())) {
                return;
            }
            if (v.terminal() && !JobStates.terminal(s.getState())) {
                return;
            }
            v.history.add(new JobView.HistoryEntry(h.getOccurredAt(), s.getStage(), s.getState(), h.getAttempt(),
                s.getProgress(), s.getMessage()));
            v.stage = s.getStage();
            v.attempt = h.getAttempt();
            v.message = s.getMessage();
            v.updatedAt = h.getOccurredAt();
            v.state = switch (s.getState()) {
                case JobStates.READY, JobStates.FAILED -> s.getState();
                case JobStates.ACCEPTED -> v.history.size() == 1 ? JobStates.ACCEPTED : JobStates.RUNNING;
                default -> JobStates.RUNNING;
            };
            if (s.getMessage().startsWith("accepted: method ")) {
                v.method = s.getMessage().substring("accepted: method ".length()).split(" ")[0];
            }
            snapshot = v.snapshot();
        }
        notifyListeners(snapshot);
    }

    private void update(EventHeader h, Consumer<JobView> change) {
        JobView.Snapshot snapshot;
        synchronized (jobs) {
            JobView v = jobs.computeIfAbsent(h.getJobId(), id -> new JobView(id, h.getOccurredAt()));
            change.accept(v);
            if (v.ready != null && v.name.isEmpty()) {
                v.name = v.ready.getName();
            }
            snapshot = v.snapshot();
        }
        notifyListeners(snapshot);
    }

    private void notifyListeners(JobView.Snapshot snapshot) {
        for (Consumer<JobView.Snapshot> l : listeners.getOrDefault(snapshot.jobId(), List.of())) {
            l.accept(snapshot);
        }
    }

    public Optional<JobView.Snapshot> get(String jobId) {
        synchronized (jobs) {
            return Optional.ofNullable(jobs.get(jobId)).map(JobView::snapshot);
        }
    }

    public Collection<JobView.Snapshot> all() {
        synchronized (jobs) {
            return jobs.values().stream().map(JobView::snapshot).toList();
        }
    }

    /** Calls {@code listener} with the job's snapshot on every change; returns the handle to remove it. */
    public Runnable listen(String jobId, Consumer<JobView.Snapshot> listener) {
        listeners.computeIfAbsent(jobId, id -> new CopyOnWriteArrayList<>()).add(listener);
        return () -> listeners.getOrDefault(jobId, List.of()).remove(listener);
    }

    /** Time of the job's creation, for tests and listings. */
    public Instant createdAt(String jobId) {
        return get(jobId).map(JobView.Snapshot::createdAt).orElse(null);
    }
}
