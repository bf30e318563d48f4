package dev.quantflow.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.EventHeader;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.Topics.Topic;
import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreSettings;

/**
 * A test's hands on the pipeline around the service under test: put input artifacts, publish an event as the
 * upstream stage would, and wait for the job's records on a topic. Records are read from the beginning of every
 * partition and kept only when their key is the job id, so tests of one class do not see each other's jobs.
 */
public final class JobProbe implements AutoCloseable {

    private final String bootstrap;
    private final ArtifactStore store;
    private final EventPublisher publisher;

    public JobProbe(String bootstrap, StoreSettings store) throws Exception {
        this.bootstrap = bootstrap;
        this.store = new ArtifactStore(store);
        this.store.ensureBucket();
        this.publisher = new EventPublisher(bootstrap, "test-probe-" + UUID.randomUUID());
    }

    /** From a running app's config, as {@link QuantflowInfraResource} set it. */
    public static JobProbe of(Config config) throws Exception {
        return new JobProbe(config.getValue("quantflow.kafka.bootstrap-servers", String.class),
            new StoreSettings(config.getValue("quantflow.store.endpoint", String.class),
                config.getValue("quantflow.store.access-key", String.class),
                config.getValue("quantflow.store.secret-key", String.class),
                config.getValue("quantflow.store.bucket", String.class), null));
    }

    /** From the config of the app the current {@code @QuarkusTest} runs. */
    public static JobProbe ofApp() throws Exception {
        return of(ConfigProvider.getConfig());
    }

    public static String newJobId() {
        return "job-" + UUID.randomUUID();
    }

    /** A header as an upstream stage writes it (fresh event id). */
    public static EventHeader header(String jobId, int attempt) {
        return EventHeader.newBuilder().setEventId(UUID.randomUUID().toString()).setJobId(jobId).setAttempt(attempt)
            .setOccurredAt(Instant.now()).setProducer("test").setProducerVersion("1").build();
    }

    public ArtifactStore store() {
        return store;
    }

    /** Stores a job input under its deterministic key ({@code jobs/<job>/input/<name>}). */
    public ArtifactRef putInput(String jobId, String name, byte[] bytes) throws Exception {
        return store.put(ArtifactKeys.input(jobId, name), bytes, "application/octet-stream");
    }

    public ArtifactRef putInput(String jobId, String name, Path file) throws Exception {
        return putInput(jobId, name, Files.readAllBytes(file));
    }

    public boolean exists(ArtifactRef ref) throws Exception {
        return store.stat(ref.getBucket(), ref.getKey()).isPresent();
    }

    public byte[] get(ArtifactRef ref) throws Exception {
        return store.get(ref);
    }

    public <V extends SpecificRecord> void publish(Topic<V> topic, V event) {
        publisher.publish(topic, AvroCodec.header(event).getJobId(), event);
    }

    /** Raw bytes on a topic (a record no stage can decode). */
    public void publishRaw(Topic<?> topic, String jobId, byte[] value) {
        publisher.send(topic.name(), jobId, value);
    }

    /**
     * Waits until the job's records on {@code topic} satisfy {@code until}, or the timeout passes; returns what was
     * read either way, so the caller's assertion shows what arrived.
     */
    public <V extends SpecificRecord> List<V> await(Topic<V> topic, String jobId, Predicate<List<V>> until,
                                                    Duration timeout) {
        List<V> out = new ArrayList<>();
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (var c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor(topic.name(), Duration.ofSeconds(10)).stream()
                .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long end = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < end && !until.test(out)) {
                for (var r : c.poll(Duration.ofMillis(200))) {
                    if (jobId.equals(r.key())) {
                        out.add(AvroCodec.decode(r.value(), topic.valueType()));
                    }
                }
            }
        }
        return out;
    }

    /** The job's first record on {@code topic} within the timeout (an empty list if none came). */
    public <V extends SpecificRecord> List<V> awaitFirst(Topic<V> topic, String jobId, Duration timeout) {
        return await(topic, jobId, l -> !l.isEmpty(), timeout);
    }

    /** Everything of the job on {@code topic} after waiting {@code wait} (for checks that something did not come). */
    public <V extends SpecificRecord> List<V> readFor(Topic<V> topic, String jobId, Duration wait) {
        return await(topic, jobId, l -> false, wait);
    }

    @Override
    public void close() {
        publisher.close();
        store.close();
    }
}
