package dev.quantflow.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.ModelReady;
import dev.quantflow.events.QuantizationRequested;
import dev.quantflow.pipeline.AvroCodec;

/** The client's codec and topic names against the services' own (libs/pipeline, a test dependency only). */
class WireCompatibilityTest {

    @Test
    void topicNamesAreTheRegistrys() {
        assertThat(Topics.REQUESTS).isEqualTo(dev.quantflow.pipeline.Topics.REQUESTS.name());
        assertThat(Topics.MODELS_READY).isEqualTo(dev.quantflow.pipeline.Topics.MODELS_READY.name());
        assertThat(Topics.JOBS_FAILED).isEqualTo(dev.quantflow.pipeline.Topics.JOBS_FAILED.name());
        assertThat(Topics.JOBS_STATUS).isEqualTo(dev.quantflow.pipeline.Topics.JOBS_STATUS.name());
    }

    @Test
    void aRequestTheClientEncodesIsTheBytesTheServicesEncodeAndDecode() {
        QuantizationRequested request = QuantflowClient.request(Submission.builder()
            .model(Submission.Input.stored("", "in/model.onnx")).validation(Submission.Input.stored("", "in/eval.npz"))
            .method("dynamic").excludedNodes(List.of("a")).build(), "job-7");

        byte[] bytes = EventCodec.encode(request);

        assertThat(bytes).isEqualTo(AvroCodec.encode(request));
        assertThat(AvroCodec.decode(bytes, QuantizationRequested.class)).isEqualTo(request);
    }

    @Test
    void theClientDecodesWhatTheServicesWriteAndRefusesAnotherSchema() throws Exception {
        ModelReady ready = modelReady("job-9");
        byte[] written = AvroCodec.encode(ready);

        assertThat(EventCodec.decode(written, ModelReady.class)).isEqualTo(ready);
        assertThatThrownBy(() -> EventCodec.decode(written, JobFailed.class)).isInstanceOf(java.io.IOException.class)
            .hasMessageContaining("not a JobFailed");
    }

    @Test
    void aModelReadyOfTheFirstReleaseDecodesWithTheFieldsAddedSinceAtTheirDefaults() throws Exception {
        org.apache.avro.Schema.Parser parser = new org.apache.avro.Schema.Parser();
        org.apache.avro.Schema v1 = null;
        for (String file : List.of("00-EventHeader.avsc", "01-ArtifactRef.avsc", "15-ModelReady.avsc")) {
            try (var in = getClass().getClassLoader().getResourceAsStream(EventCodec.HISTORY + "/v1/" + file)) {
                v1 = parser.parse(in);
            }
        }
        assertThat(v1.getField("fp32Perplexity")).isNull(); // the first release had no perplexities
        var header = new org.apache.avro.generic.GenericRecordBuilder(v1.getField("header").schema())
            .set("eventId", "e-1").set("jobId", "job-old").set("attempt", 1).set("occurredAt", 1_700_000_000_000L)
            .set("producer", "exporter").set("producerVersion", "0.0.1").build();
        var ref = new org.apache.avro.generic.GenericRecordBuilder(v1.getField("model").schema())
            .set("bucket", "quantflow").set("key", "jobs/job-old/output/model.int8.onnx").build();
        var old = new org.apache.avro.generic.GenericRecordBuilder(v1).set("header", header).set("method", "static")
            .set("model", ref).set("report", ref).set("reportHtml", ref).set("manifest", ref)
            .set("fp32SizeBytes", 400L).set("quantizedSizeBytes", 100L).set("fp32Accuracy", 0.9).build();
        java.nio.ByteBuffer bytes = new org.apache.avro.message.BinaryMessageEncoder<org.apache.avro.generic.GenericRecord>(
            org.apache.avro.generic.GenericData.get(), v1).encode(old);
        byte[] written = new byte[bytes.remaining()];
        bytes.get(written);

        ModelReady ready = EventCodec.decode(written, ModelReady.class);

        assertThat(ready.getHeader().getJobId()).isEqualTo("job-old");
        assertThat(ready.getFp32Accuracy()).isEqualTo(0.9);
        assertThat(ready.getQuantizedSizeBytes()).isEqualTo(100L);
        assertThat(ready.getFp32Perplexity()).isNull();
    }

    static ModelReady modelReady(String jobId) {
        ArtifactRef ref = ArtifactRef.newBuilder().setBucket("quantflow").setKey("jobs/" + jobId + "/output/model.int8.onnx")
            .setSha256("ab").setSize(10).build();
        return ModelReady.newBuilder()
            .setHeader(EventHeader.newBuilder().setEventId("e-" + jobId).setJobId(jobId).setAttempt(1)
                .setOccurredAt(Instant.ofEpochMilli(1_700_000_000_000L)).setProducer("exporter").setProducerVersion("1").build())
            .setMethod("static").setModel(ref).setReport(ref).setReportHtml(ref).setManifest(ref)
            .setFp32Accuracy(0.91).setQuantizedAccuracy(0.905).setFp32SizeBytes(400).setQuantizedSizeBytes(100)
            .build();
    }
}
