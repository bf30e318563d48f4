package dev.quantflow.quantizer.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

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
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** quantizer-llm as the RTN pool on a real broker and S3 server: round-to-nearest needs no statistics. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
@TestProfile(RtnWiringTest.Pool.class)
class RtnWiringTest {
    /** This class's app is the RTN pool. */
    public static final class Pool implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quantflow.llm.method", "rtn");
        }
    }


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

    static final Recipe INT4 = Recipe.newBuilder().setBits(4).setBlockSize(128).build();

    @Test
    void rtnJobOfTheTinyGptGoesToTheValidator() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("gpt/model.onnx"));
        probe.publish(Topics.QUANTIZE_RTN, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "rtn",
            INT4, null));

        ValidationRequested v = assertValidationRequested(job, "model.int4.onnx");
        assertThat(v.getQuantizedModel().getSize()).isLessThan(model.getSize() / 2);
        assertThat(v.getBaselineModel()).as("RTN is its own baseline").isNull();
    }
}
