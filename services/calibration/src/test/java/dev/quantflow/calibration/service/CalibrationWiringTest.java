package dev.quantflow.calibration.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The calibration app on a real broker and S3 server: what it consumes, where it routes, how it fails. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class CalibrationWiringTest extends StageWiringTest {


    CalibrationRequested request(String job, ArtifactRef model, ArtifactRef calib, String method) {
        return CalibrationRequested.newBuilder()
            .setHeader(JobProbe.header(job, 1))
            .setContext(JobContext.newBuilder()
                .setInputs(JobInputs.newBuilder().setModel(model).setCalibration(calib).build())
                // 16 samples of the fixture's 512 are enough to show the wiring
                .setPlan(JobPlan.newBuilder().setMethod(method)
                    .setRecipe(Recipe.newBuilder().setCalibrationSamples(16).build()).build())
                .build())
            .build();
    }

    @Test
    void staticJobGoesToTheStaticQuantizerWithItsStatistics() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef calib = probe.putInput(job, "calibration.npz", Fixtures.path("fashion-cnn/calib.npz"));
        probe.publish(Topics.CALIBRATION_REQUESTED, request(job, model, calib, "static"));

        List<QuantizeRequested> out = probe.awaitFirst(Topics.QUANTIZE_STATIC, job, WAIT);
        assertThat(out).as("QuantizeRequested on %s", Topics.QUANTIZE_STATIC.name()).hasSize(1);
        QuantizeRequested q = out.getFirst();
        assertThat(q.getContext().getInputs().getModel()).isEqualTo(model);
        ArtifactRef stats = q.getStatistics();
        assertThat(stats).isNotNull();
        assertThat(stats.getKey()).isEqualTo("jobs/" + job + "/attempt-1/calibration/statistics.json");
        assertThat(probe.exists(stats)).isTrue();
        assertThat(new String(probe.get(stats))).contains("\"ranges\"");
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, QUIET)).isEmpty();
        assertThat(probe.readFor(Topics.QUANTIZE_DYNAMIC, job, QUIET)).isEmpty();
    }

    @Test
    void corruptModelFailsTheJobWithItsReasonCode() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", "this is not an ONNX model".getBytes());
        ArtifactRef calib = probe.putInput(job, "calibration.npz", Fixtures.path("fashion-cnn/calib.npz"));
        probe.publish(Topics.CALIBRATION_REQUESTED, request(job, model, calib, "static"));

        assertJobFailed(job, ReasonCodes.INVALID_MODEL, "calibration", Topics.QUANTIZE_STATIC);
    }
}
