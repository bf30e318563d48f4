package dev.quantflow.pipeline.kafka;

import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.JobTracing;
import dev.quantflow.pipeline.Topics.Topic;

/**
 * Publishes Avro events keyed by job id. Sends are synchronous (acks=all, idempotent producer): a stage only
 * acknowledges its input after its output is durable on the broker.
 *
 * <p>Every event record carries the Kafka header {@value #IDEMPOTENCY_KEY}: {@code <jobId>:<eventId>}, the same
 * pair as in the event's own header. Event ids of events caused by another event are derived from it
 * ({@link dev.quantflow.pipeline.EventHeaders#derived}), so a stage that publishes and then dies before it commits
 * publishes the same key again when its input is redelivered: consumers keep the first record of a key and drop
 * repeats (see docs/reliability.md, "exactly one model-ready").
 */
public final class EventPublisher implements AutoCloseable {

    /** Kafka record header with {@code <jobId>:<eventId>}, what consumers dedupe on. */
    public static final String IDEMPOTENCY_KEY = "quantflow-idempotency-key";

    private final Producer<String, byte[]> producer;

    public EventPublisher(String bootstrapServers, String clientId) {
        this(bootstrapServers, clientId, java.util.Map.of());
    }

    /** @param clientProperties extra Kafka client settings (authentication: security.protocol, sasl.*, ssl.*) */
    public EventPublisher(String bootstrapServers, String clientId, java.util.Map<String, String> clientProperties) {
        Properties p = new Properties();
        p.putAll(clientProperties);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        this.producer = new KafkaProducer<>(p);
    }

    /** Over a given producer (tests: Kafka's {@code MockProducer}). */
    public EventPublisher(Producer<String, byte[]> producer) {
        this.producer = producer;
    }

    public <V extends SpecificRecord> void publish(Topic<V> topic, String jobId, V event) {
        String idempotencyKey = idempotencyKey(AvroCodec.header(event));
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic.name(), jobId, AvroCodec.encode(event));
        record.headers().add(IDEMPOTENCY_KEY, idempotencyKey.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        send(record);
    }

    /** {@code <jobId>:<eventId>} of an event header: the value of {@link #IDEMPOTENCY_KEY}. */
    public static String idempotencyKey(dev.quantflow.events.EventHeader header) {
        return header.getJobId() + ":" + header.getEventId();
    }

    /** Raw send, for tests that need to put arbitrary bytes on a topic. */
    public void send(String topic, String key, byte[] value) {
        send(new ProducerRecord<>(topic, key, value));
    }

    private void send(ProducerRecord<String, byte[]> record) {
        String topic = record.topic();
        try {
            JobTracing.inject(record.headers()); // the job's trace goes along to the next stage
            producer.send(record).get(70, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RetriableException("interrupted while publishing to " + topic, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new RetriableException("cannot publish to " + topic + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(10));
    }

    /** A transient failure talking to the broker. */
    public static final class RetriableException extends RuntimeException {
        RetriableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
