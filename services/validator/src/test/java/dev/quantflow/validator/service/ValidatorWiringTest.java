package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.List;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

import dev.quantflow.contracts.AttemptMetrics;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.JobStatus;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzWriter;

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
 * job at once with INVALID_MODEL (before, the parse error was retried three times and ended as STAGE_ERROR); a
 * detector-like probability map is judged by its mean IoU to fp32 (auto picks it from the shape and the values).
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

    // ---- probability maps: y = Sigmoid(x + shift), x [N, 1, 4, 4] (models and data of MapJobVerdictTest) ----

    private ValidationRequested mapRequest(String job, float quantizedShift) throws Exception {
        ArtifactRef model = probe.putInput(job, "model.onnx", MapJobVerdictTest.sigmoidMap(0, true));
        ArtifactRef quantized = probe.putInput(job, "model.int8.onnx", MapJobVerdictTest.sigmoidMap(quantizedShift, true));
        ByteArrayOutputStream npz = new ByteArrayOutputStream();
        NpzWriter.write(npz, List.of(NdArray.ofFloats("x", MapJobVerdictTest.inputs(), MapJobVerdictTest.PAGES, 1, 4, 4)),
            false);
        ArtifactRef eval = probe.putInput(job, "validation.npz", npz.toByteArray());
        var context = TestJobs.context(JobInputs.newBuilder().setModel(model).setValidation(eval).build(), "static",
            Recipe.newBuilder().build());
        context.setPlan(JobPlan.newBuilder(context.getPlan()).setMetric("auto").setMaxAttempts(1).build());
        return ValidationRequested.newBuilder().setHeader(JobProbe.header(job, 1)).setContext(context)
            .setQuantizedModel(quantized).build();
    }

    private AttemptMetrics attemptMetrics(String job) throws Exception {
        return StageJson.read(probe.store().get("jobs/" + job + "/attempt-1/validation/metrics.json"), AttemptMetrics.class);
    }

    @Test
    void aProbabilityMapEqualToFp32PassesOnMeanIou() throws Exception {
        String job = JobProbe.newJobId();
        probe.publish(Topics.VALIDATION_REQUESTED, mapRequest(job, 0));

        List<ExportRequested> out = probe.awaitFirst(Topics.EXPORT_REQUESTED, job, WAIT);
        assertThat(out).hasSize(1);
        assertThat(out.getFirst().getMeetsTarget()).isTrue();
        AttemptMetrics m = attemptMetrics(job);
        assertThat(m.target().metric()).isEqualTo("mean-iou");
        assertThat(m.target().value()).isEqualTo(1.0);
        assertThat(m.target().threshold()).isCloseTo(0.98, Offset.offset(1e-12)); // 1 - maxRelativeDrop 0.02
        assertThat(m.target().metricReason()).contains("[N, 1, 4, 4]").contains("probability map");
        assertThat(m.outputs().meanIou()).isEqualTo(1.0);
        assertThat(m.outputs().mapThreshold()).isEqualTo(0.3);
        assertThat(m.outputs().fp32Min()).isGreaterThanOrEqualTo(0.0);
        assertThat(m.outputs().fp32Max()).isLessThanOrEqualTo(1.0);
    }

    @Test
    void aShiftedProbabilityMapMissesByItsMeanIouAndTheDebugLoopDecides() throws Exception {
        String job = JobProbe.newJobId();
        probe.publish(Topics.VALIDATION_REQUESTED, mapRequest(job, 2f));

        List<JobStatus> statuses = probe.await(Topics.JOBS_STATUS, job,
            l -> l.stream().anyMatch(st -> st.getMessage().contains("misses target")), WAIT);
        assertThat(statuses).extracting(JobStatus::getMessage).anyMatch(msg -> msg.contains("mean IoU"));
        AttemptMetrics m = attemptMetrics(job);
        assertThat(m.passed()).isFalse();
        assertThat(m.target().metric()).isEqualTo("mean-iou");
        assertThat(m.target().value()).isCloseTo(MapJobVerdictTest.expectedMeanIou(2f), Offset.offset(1e-9))
            .isLessThan(0.98);
        assertThat(m.outputs().meanIou()).isEqualTo(m.target().value());
        assertThat(m.diagnosis()).isNotBlank();
        assertThat(m.route()).isNotBlank().isNotEqualTo("export");
    }

    @Test
    void aCorruptQuantizedModelFailsTheJobWithAReason() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef corrupt = probe.putInput(job, "model.int8.onnx", "not an ONNX model".getBytes());
        probe.publish(Topics.VALIDATION_REQUESTED, request(job, corrupt));

        assertJobFailed(job, ReasonCodes.INVALID_MODEL, "validation", Topics.EXPORT_REQUESTED);
    }
}
