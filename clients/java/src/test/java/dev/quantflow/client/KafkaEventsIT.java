package dev.quantflow.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.ModelReady;
import dev.quantflow.events.QuantizationRequested;
import dev.quantflow.pipeline.AvroCodec;

/**
 * The Kafka transport on a real KRaft broker in this JVM: the request the client publishes is what intake reads
 * (decoded with the services' codec), and the client's wait completes from records the services' codec wrote.
 */
class KafkaEventsIT {

    private static KafkaClusterTestKit kafka;
    private static KafkaProducer<String, byte[]> services;
    private static QuantflowClient client;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
            .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1")
            .build();
        kafka.format();
        kafka.startup();
        kafka.waitForReadyBrokers();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(dev.quantflow.pipeline.Topics.REQUESTS, dev.quantflow.pipeline.Topics.MODELS_READY,
                    dev.quantflow.pipeline.Topics.JOBS_FAILED).stream()
                .map(t -> new NewTopic(t.name(), t.partitions(), (short) 1)).toList()).all().get(30, TimeUnit.SECONDS);
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        services = new KafkaProducer<>(p);
        client = QuantflowClient.builder().kafkaBootstrapServers(kafka.bootstrapServers())
            .transport(QuantflowClient.Transport.KAFKA).build();
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (client != null) client.close();
        if (services != null) services.close();
        if (kafka != null) kafka.close();
    }

    @Test
    void aKafkaSubmitPublishesARequestKeyedByTheJobIdThatTheServicesDecode() {
        String jobId = client.submit(Submission.builder()
            .model(Submission.Input.stored("", "in/model.onnx")).calibration(Submission.Input.stored("", "in/calib.npz"))
            .validation(Submission.Input.stored("", "in/eval.npz")).name("cnn").maxRelativeDrop(0.02).build());

        ConsumerRecord<String, byte[]> record = firstRecord(Topics.REQUESTS, jobId);
        QuantizationRequested read = AvroCodec.decode(record.value(), QuantizationRequested.class);
        assertThat(read.getHeader().getJobId()).isEqualTo(jobId);
        assertThat(read.getInputs().getModel().getKey()).isEqualTo("in/model.onnx");
        assertThat(read.getInputs().getName()).isEqualTo("cnn");
        assertThat(read.getMaxRelativeDrop()).isEqualTo(0.02);
    }

    @Test
    void awaitCompletesWithTheJobsModelReadyAndSkipsOtherJobs() throws Exception {
        var future = client.awaitModelReady("job-a");
        publish(Topics.MODELS_READY, "job-b", AvroCodec.encode(WireCompatibilityTest.modelReady("job-b")));
        ModelReady ours = WireCompatibilityTest.modelReady("job-a");
        publish(Topics.MODELS_READY, "job-a", AvroCodec.encode(ours));

        assertThat(future.get(60, TimeUnit.SECONDS)).isEqualTo(ours);
    }

    @Test
    void anOutcomeWrittenBeforeTheWaitStartedIsFound() throws Exception {
        ModelReady early = WireCompatibilityTest.modelReady("job-early");
        publish(Topics.MODELS_READY, "job-early", AvroCodec.encode(early));

        assertThat(client.awaitModelReady("job-early").get(60, TimeUnit.SECONDS)).isEqualTo(early);
    }

    @Test
    void aJobFailedCompletesTheFutureExceptionallyWithTheEvent() throws Exception {
        JobFailed failed = JobFailed.newBuilder()
            .setHeader(EventHeader.newBuilder().setEventId("f-1").setJobId("job-f").setAttempt(1)
                .setOccurredAt(Instant.now()).setProducer("intake").setProducerVersion("1").build())
            .setStage("intake").setReasonCode("INVALID_MODEL").setReason("in/model.onnx is not an ONNX model").build();
        var future = client.awaitModelReady("job-f");
        publish(Topics.JOBS_FAILED, "job-f", AvroCodec.encode(failed));

        assertThatThrownBy(() -> future.get(60, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause()
            .isInstanceOfSatisfying(JobFailedException.class, e -> {
                assertThat(e.code()).isEqualTo("INVALID_MODEL");
                assertThat(e.reason()).isEqualTo("in/model.onnx is not an ONNX model");
                assertThat(e.event()).contains(failed);
            });
    }

    private static void publish(String topic, String key, byte[] value) throws Exception {
        services.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
    }

    private static ConsumerRecord<String, byte[]> firstRecord(String topic, String key) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + key);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (key.equals(r.key())) {
                        return r;
                    }
                }
            }
        }
        throw new AssertionError("no record with key " + key + " on " + topic);
    }
}
