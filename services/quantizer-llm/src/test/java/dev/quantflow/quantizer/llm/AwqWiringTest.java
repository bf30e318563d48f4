package dev.quantflow.quantizer.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;

import dev.quantflow.runtime.llm.LlmCalibration;
import dev.quantflow.runtime.llm.LlmCalibrationOptions;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.events.ArtifactRef;
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
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The AWQ pool on a real broker and S3 server, fed layer-input statistics made as the calibration stage makes them.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
@TestProfile(AwqWiringTest.Pool.class)
class AwqWiringTest extends StageWiringTest {
    /** This class's app is the AWQ pool. */
    public static final class Pool implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quantflow.llm.method", "awq");
        }
    }




    static final Recipe INT4 = Recipe.newBuilder().setBits(4).setBlockSize(128).build();

    /** What calibration stores for an AWQ job: LlmCalibration over the first 4 token windows of the fixture. */
    static byte[] layerInputStatistics(byte[] model) throws Exception {
        var result = LlmCalibration.run(model,
            NpzArchive.read(new ByteArrayInputStream(TestJobs.npzHead(Fixtures.path("gpt/calib.npz"), 4))),
            LlmCalibrationOptions.defaults(), (done, total) -> { });
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        result.artifact().write(out);
        return out.toByteArray();
    }

    @Test
    void awqJobGoesToTheValidatorWithItsRtnBaseline() throws Exception {
        String job = JobProbe.newJobId();
        byte[] modelBytes = Files.readAllBytes(Fixtures.path("gpt/model.onnx"));
        ArtifactRef model = probe.putInput(job, "model.onnx", modelBytes);
        ArtifactRef stats = probe.store().put("jobs/" + job + "/attempt-1/calibration/layer-inputs.bin",
            layerInputStatistics(modelBytes), "application/octet-stream");
        probe.publish(Topics.QUANTIZE_AWQ, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "awq",
            INT4, stats));

        ValidationRequested v = assertHandedToValidator(job, "model.int4.onnx");
        assertThat(v.getStatistics()).isEqualTo(stats);
        assertThat(v.getBaselineModel().getKey()).isEqualTo("jobs/" + job + "/attempt-1/quantize/baseline.rtn.onnx");
        assertThat(probe.exists(v.getBaselineModel())).isTrue();
    }

    @Test
    void unreadableStatisticsFailTheJob() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("gpt/model.onnx"));
        ArtifactRef stats = probe.store().put("jobs/" + job + "/attempt-1/calibration/layer-inputs.bin",
            "not statistics".getBytes(), "application/octet-stream");
        probe.publish(Topics.QUANTIZE_AWQ, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "awq",
            INT4, stats));

        assertQuantizerFailed(job, ReasonCodes.ARTIFACT_CORRUPT);
    }
}
