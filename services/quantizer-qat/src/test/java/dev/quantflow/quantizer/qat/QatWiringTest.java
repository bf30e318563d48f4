package dev.quantflow.quantizer.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.TrainingParams;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.TestJobs;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The QAT pool on a real broker and S3 server: a few training steps on 32 samples, then the model and the PTQ baseline
 * go to the validator.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class QatWiringTest {

    static final Duration WAIT = Duration.ofSeconds(25);
    static JobProbe probe;

    @BeforeAll
    static void probe() throws Exception {
        probe = JobProbe.ofApp();
    }

    @AfterAll
    static void close() {
        probe.close();
    }

    static void assertFailed(String job, String code) {
        List<JobFailed> failed = probe.awaitFirst(Topics.JOBS_FAILED, job, WAIT);
        assertThat(failed).singleElement().satisfies(f -> {
            assertThat(f.getReasonCode()).isEqualTo(code);
            assertThat(f.getStage()).isEqualTo("quantize");
            assertThat(f.getReason()).doesNotContain("\tat ");
        });
        assertThat(probe.await(Topics.JOBS_STATUS, job, l -> l.stream().anyMatch(s -> JobStates.FAILED.equals(s.getState())),
            WAIT)).extracting(JobStatus::getState).contains(JobStates.FAILED);
        assertThat(probe.readFor(Topics.VALIDATION_REQUESTED, job, Duration.ofMillis(500))).isEmpty();
    }

    static ValidationRequested assertValidationRequested(String job, String modelFile) throws Exception {
        List<ValidationRequested> out = probe.awaitFirst(Topics.VALIDATION_REQUESTED, job, WAIT);
        assertThat(out).as("ValidationRequested on %s", Topics.VALIDATION_REQUESTED.name()).hasSize(1);
        ValidationRequested v = out.getFirst();
        assertThat(v.getQuantizedModel().getKey()).isEqualTo("jobs/" + job + "/attempt-1/quantize/" + modelFile);
        assertThat(probe.exists(v.getQuantizedModel())).isTrue();
        assertThat(probe.exists(v.getQuantizationSummary())).isTrue();
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, Duration.ofMillis(500))).isEmpty();
        return v;
    }

    static Recipe fewSteps() {
        return Recipe.newBuilder().setTraining(TrainingParams.newBuilder().setSteps(4).setBatchSize(8).build()).build();
    }

    @Test
    void trainedModelGoesToTheValidatorWithItsPtqBaseline() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef training = probe.putInput(job, "training.npz", TestJobs.npzHead(Fixtures.path("fashion-cnn/train.npz"), 32));
        probe.publish(Topics.QUANTIZE_QAT, TestJobs.quantize(job,
            JobInputs.newBuilder().setModel(model).setTraining(training).build(), "qat", fewSteps(), null));

        ValidationRequested v = assertValidationRequested(job, "model.qat.int8.onnx");
        assertThat(v.getBaselineModel().getKey()).isEqualTo("jobs/" + job + "/attempt-1/quantize/baseline.ptq.onnx");
        assertThat(probe.exists(v.getBaselineModel())).isTrue();
    }

    @Test
    void jobWithoutTrainingDataFailsWithMissingInput() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        probe.publish(Topics.QUANTIZE_QAT, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "qat",
            fewSteps(), null));

        assertFailed(job, ReasonCodes.MISSING_INPUT);
    }
}
