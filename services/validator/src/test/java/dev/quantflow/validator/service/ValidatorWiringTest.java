package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.ExportRequested;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.TestJobs;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The validator on a real broker and S3 server: a passing model goes to the exporter, a corrupt one fails the job.
 * What the code does today with corrupt quantized bytes: OnnxFormatException is not mapped to a permanent code, so the
 * worker retries it 3 times and then fails the job with STAGE_ERROR (arguably it should be ARTIFACT_CORRUPT at once).
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class ValidatorWiringTest {

    static final Duration WAIT = Duration.ofSeconds(40);
    static JobProbe probe;

    @BeforeAll
    static void probe() throws Exception {
        probe = JobProbe.ofApp();
    }

    @AfterAll
    static void close() {
        probe.close();
    }

    ValidationRequested request(String job, ArtifactRef quantized) throws Exception {
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef eval = probe.putInput(job, "validation.npz", TestJobs.npzHead(Fixtures.path("fashion-cnn/eval.npz"), 64));
        return ValidationRequested.newBuilder()
            .setHeader(JobProbe.header(job, 1))
            .setContext(TestJobs.context(JobInputs.newBuilder().setModel(model).setValidation(eval).build(), "dynamic",
                Recipe.newBuilder().build()))
            .setQuantizedModel(quantized == null ? model : quantized)
            .build();
    }

    @Test
    void theFp32ModelItselfPassesAndGoesToTheExporter() throws Exception {
        String job = JobProbe.newJobId();
        probe.publish(Topics.VALIDATION_REQUESTED, request(job, null));

        List<ExportRequested> out = probe.awaitFirst(Topics.EXPORT_REQUESTED, job, WAIT);
        assertThat(out).as("ExportRequested on %s", Topics.EXPORT_REQUESTED.name()).hasSize(1);
        assertThat(out.getFirst().getMeetsTarget()).isTrue();
        ArtifactRef metrics = out.getFirst().getMetrics();
        assertThat(metrics.getKey()).isEqualTo("jobs/" + job + "/attempt-1/validation/metrics.json");
        assertThat(probe.exists(metrics)).isTrue();
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, Duration.ofMillis(500))).isEmpty();
    }

    @Test
    void aCorruptQuantizedModelFailsTheJobWithAReason() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef corrupt = probe.putInput(job, "model.int8.onnx", "not an ONNX model".getBytes());
        probe.publish(Topics.VALIDATION_REQUESTED, request(job, corrupt));

        List<JobFailed> failed = probe.awaitFirst(Topics.JOBS_FAILED, job, WAIT);
        assertThat(failed).singleElement().satisfies(f -> {
            assertThat(f.getReasonCode()).isEqualTo(ReasonCodes.STAGE_ERROR);
            assertThat(f.getStage()).isEqualTo("validation");
            assertThat(f.getReason()).isNotBlank().doesNotContain("\tat ");
        });
        assertThat(probe.readFor(Topics.EXPORT_REQUESTED, job, Duration.ofMillis(500))).isEmpty();
    }
}
