package dev.quantflow.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;

import dev.quantflow.events.JobFailed;
import dev.quantflow.events.ModelReady;
import dev.quantflow.events.QuantizationRequested;

/**
 * The Kafka side: publishes {@code QuantizationRequested} (key = job id, acks=all, idempotent) and waits for a job's
 * {@code ModelReady} or {@code JobFailed}. A wait reads only the partition the job's key hashes to (the producers'
 * default partitioner), from its beginning, with no consumer group, so it sees an outcome written before it started
 * and leaves no committed offsets behind.
 */
final class KafkaEvents implements AutoCloseable {

    private final String bootstrapServers;
    private final Duration pollTimeout = Duration.ofMillis(250);
    private KafkaProducer<String, byte[]> producer;

    KafkaEvents(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    synchronized void publish(QuantizationRequested request) {
        if (producer == null) {
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
            p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
            producer = new KafkaProducer<>(p);
        }
        String jobId = request.getHeader().getJobId();
        try {
            producer.send(new ProducerRecord<>(Topics.REQUESTS, jobId, EventCodec.encode(request))).get(70, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "interrupted while publishing " + jobId, 0, e);
        } catch (Exception e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "cannot publish to " + Topics.REQUESTS + " on "
                + bootstrapServers + ": " + cause.getMessage(), 0, e);
        }
    }

    /** Blocks until the job's outcome is on Kafka; completes {@code future} with it. Stops when the future is done. */
    void awaitOutcome(String jobId, CompletableFuture<ModelReady> future) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> partitions = new ArrayList<>();
            byte[] key = jobId.getBytes(StandardCharsets.UTF_8);
            for (String topic : List.of(Topics.MODELS_READY, Topics.JOBS_FAILED)) {
                List<PartitionInfo> infos = partitionsOf(consumer, topic, future);
                if (infos == null) {
                    return;
                }
                partitions.add(new TopicPartition(topic, Utils.toPositive(Utils.murmur2(key)) % infos.size()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (!future.isDone()) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(pollTimeout)) {
                    if (!jobId.equals(r.key())) {
                        continue;
                    }
                    try {
                        if (Topics.MODELS_READY.equals(r.topic())) {
                            future.complete(EventCodec.decode(r.value(), ModelReady.class));
                        } else {
                            future.completeExceptionally(JobFailedException.of(EventCodec.decode(r.value(), JobFailed.class)));
                        }
                        return;
                    } catch (IOException undecodable) {
                        // a record of another writer schema under this key: not the outcome, keep reading
                    }
                }
            }
        } catch (RuntimeException e) {
            future.completeExceptionally(new QuantflowException(QuantflowException.UNAVAILABLE,
                "cannot read the outcome of " + jobId + " from " + bootstrapServers + ": " + e.getMessage(), 0, e));
        }
    }

    /** The topic's partitions once it exists (a fresh cluster may create it late); null when the future was completed. */
    private List<PartitionInfo> partitionsOf(KafkaConsumer<String, byte[]> consumer, String topic,
                                             CompletableFuture<ModelReady> future) {
        while (!future.isDone()) {
            Map<String, List<PartitionInfo>> topics = consumer.listTopics(Duration.ofSeconds(30));
            List<PartitionInfo> infos = topics.get(topic);
            if (infos != null && !infos.isEmpty()) {
                return infos;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    @Override
    public synchronized void close() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
            producer = null;
        }
    }
}
