package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.ExportRequested;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.TestJobs;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The validator on a real broker and S3 server: a passing model goes to the exporter; corrupt quantized bytes fail the
 * job at once with INVALID_MODEL (before, the parse error was retried three times and ended as STAGE_ERROR).
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class ValidatorWiringTest extends StageWiringTest {


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
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, QUIET)).isEmpty();
    }

    @Test
    void aCorruptQuantizedModelFailsTheJobWithAReason() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef corrupt = probe.putInput(job, "model.int8.onnx", "not an ONNX model".getBytes());
        probe.publish(Topics.VALIDATION_REQUESTED, request(job, corrupt));

        assertJobFailed(job, ReasonCodes.INVALID_MODEL, "validation", Topics.EXPORT_REQUESTED);
    }
}
