package dev.quantflow.quantizer.cast;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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

/** The FP16/BF16 pool on a real broker and S3 server: it consumes its topic, hands the model to the validator, fails with a code. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class CastWiringTest {

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

    @Test
    void fp16ModelGoesToTheValidator() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        probe.publish(Topics.QUANTIZE_CAST, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "fp16",
            Recipe.newBuilder().build(), null));

        List<ValidationRequested> out = probe.awaitFirst(Topics.VALIDATION_REQUESTED, job, WAIT);
        assertThat(out).as("ValidationRequested on %s", Topics.VALIDATION_REQUESTED.name()).hasSize(1);
        ArtifactRef converted = out.getFirst().getQuantizedModel();
        assertThat(converted.getKey()).isEqualTo("jobs/" + job + "/attempt-1/quantize/model.fp16.onnx");
        assertThat(probe.exists(converted)).isTrue();
        assertThat(converted.getSize()).isLessThan(model.getSize());
        assertThat(probe.exists(out.getFirst().getQuantizationSummary())).isTrue();
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, Duration.ofMillis(500))).isEmpty();
    }

    @Test
    void aMethodThePoolDoesNotRunFailsTheJob() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        probe.publish(Topics.QUANTIZE_CAST, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "static",
            Recipe.newBuilder().build(), null));

        List<JobFailed> failed = probe.awaitFirst(Topics.JOBS_FAILED, job, WAIT);
        assertThat(failed).singleElement().satisfies(f -> {
            assertThat(f.getReasonCode()).isEqualTo(ReasonCodes.UNSUPPORTED_METHOD);
            assertThat(f.getStage()).isEqualTo("quantize");
            assertThat(f.getReason()).contains("fp16 or bf16").doesNotContain("\tat ");
        });
        assertThat(probe.await(Topics.JOBS_STATUS, job, l -> l.stream().anyMatch(s -> JobStates.FAILED.equals(s.getState())),
            WAIT)).extracting(JobStatus::getState).contains(JobStates.FAILED);
        assertThat(probe.readFor(Topics.VALIDATION_REQUESTED, job, Duration.ofMillis(500))).isEmpty();
    }
}
