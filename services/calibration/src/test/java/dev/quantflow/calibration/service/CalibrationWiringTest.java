package dev.quantflow.calibration.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The calibration app on a real broker and S3 server: what it consumes, where it routes, how it fails. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class CalibrationWiringTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static JobProbe probe;

    @BeforeAll
    static void probe() throws Exception {
        probe = JobProbe.ofApp();
    }

    @AfterAll
    static void close() {
        probe.close();
    }

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
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, Duration.ofMillis(500))).isEmpty();
        assertThat(probe.readFor(Topics.QUANTIZE_DYNAMIC, job, Duration.ofMillis(500))).isEmpty();
    }

    @Test
    void corruptModelFailsTheJobWithItsReasonCode() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", "this is not an ONNX model".getBytes());
        ArtifactRef calib = probe.putInput(job, "calibration.npz", Fixtures.path("fashion-cnn/calib.npz"));
        probe.publish(Topics.CALIBRATION_REQUESTED, request(job, model, calib, "static"));

        List<JobFailed> failed = probe.awaitFirst(Topics.JOBS_FAILED, job, WAIT);
        assertThat(failed).hasSize(1);
        assertThat(failed.getFirst().getReasonCode()).isEqualTo(ReasonCodes.INVALID_MODEL);
        assertThat(failed.getFirst().getStage()).isEqualTo("calibration");
        assertThat(failed.getFirst().getReason()).doesNotContain("\tat ", "Exception:");
        List<JobStatus> status = probe.await(Topics.JOBS_STATUS, job,
            l -> l.stream().anyMatch(s -> JobStates.FAILED.equals(s.getState())), WAIT);
        assertThat(status).extracting(JobStatus::getState).contains(JobStates.FAILED);
        assertThat(probe.readFor(Topics.QUANTIZE_STATIC, job, Duration.ofMillis(500))).isEmpty();
    }
}
