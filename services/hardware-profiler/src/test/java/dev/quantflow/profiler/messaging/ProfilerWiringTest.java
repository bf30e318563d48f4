package dev.quantflow.profiler.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.ProfileCompleted;
import dev.quantflow.events.ProfileRequested;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.StageWiringTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A hardware-profiler pool on a real broker and S3 server: a request on its class's topic becomes one
 * {@code ProfileCompleted} with a stored report; a model it cannot run yields no profile and does not fail the job the
 * profile was asked for (that job is already READY).
 */
@QuarkusTest
@QuarkusTestResource(value = QuantflowInfraResource.class,
    initArgs = @ResourceArg(name = QuantflowInfraResource.PROFILER_CLASS, value = ProfilerWiringTest.CLASS))
class ProfilerWiringTest extends StageWiringTest {

    static final String CLASS = "wiring-host";

    ProfileRequested request(String job, ArtifactRef model) {
        return ProfileRequested.newBuilder().setHeader(JobProbe.header(job, 1)).setHardwareClass(CLASS).setModel(model)
            .setLabel("int8").setWarmupRuns(1).setMeasuredRuns(5).build();
    }

    @Test
    void aRequestOnTheClassTopicBecomesOneProfile() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        probe.publish(Topics.profileRequested(CLASS), request(job, model));

        List<ProfileCompleted> done = probe.awaitFirst(Topics.PROFILES_COMPLETED_TOPIC, job, WAIT);
        assertThat(done).hasSize(1);
        ProfileCompleted p = done.getFirst();
        assertThat(p.getHardwareClass()).isEqualTo(CLASS);
        assertThat(p.getLatencyP50Ms()).isPositive();
        assertThat(p.getThroughputSamplesPerSecond()).isPositive();
        assertThat(probe.exists(p.getReport())).isTrue();
    }

    @Test
    void aModelItCannotRunYieldsNoProfileAndDoesNotFailTheJob() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", "not an ONNX model".getBytes());
        probe.publish(Topics.profileRequested(CLASS), request(job, model));

        assertThat(probe.readFor(Topics.PROFILES_COMPLETED_TOPIC, job, java.time.Duration.ofSeconds(8))).isEmpty();
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, QUIET)).as("profiling is side work").isEmpty();
    }
}
