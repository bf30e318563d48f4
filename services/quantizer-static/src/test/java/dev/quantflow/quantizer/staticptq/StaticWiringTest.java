package dev.quantflow.quantizer.staticptq;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.Recipe;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.TestJobs;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The static INT8 pool on a real broker and S3 server: it consumes its topic, hands the model to the validator, fails with a code. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class StaticWiringTest extends StageWiringTest {


    /** Statistics as the calibration stage writes them, from 16 rows of the fixture's calibration set. */
    static byte[] statistics(byte[] modelBytes) throws Exception {
        OnnxModel model = OnnxModel.parse(modelBytes);
        Set<String> tensors = new LinkedHashSet<>(StaticQdqQuantizer.tensorsToCalibrate(model,
            new StaticQuantRecipe(Set.of(), true, ActivationType.UINT8)));
        tensors.addAll(CalibrationRunner.allFloatActivations(model));
        NpzArchive data = NpzArchive.read(new ByteArrayInputStream(TestJobs.npzHead(Fixtures.path("fashion-cnn/calib.npz"), 16)));
        return CalibrationRunner.run(modelBytes, List.copyOf(tensors), data, CalibrationOptions.defaults().withMaxSamples(16),
            (done, total) -> { }).toJson();
    }

    @Test
    void staticModelGoesToTheValidator() throws Exception {
        String job = JobProbe.newJobId();
        byte[] modelBytes = Files.readAllBytes(Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef model = probe.putInput(job, "model.onnx", modelBytes);
        ArtifactRef stats = probe.store().put(ArtifactKeys.stage(job, 1, "calibration", "statistics.json"),
            statistics(modelBytes), "application/json");
        probe.publish(Topics.QUANTIZE_STATIC, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "static",
            Recipe.newBuilder().build(), stats));

        ArtifactRef quantized = assertHandedToValidator(job, "model.int8.onnx").getQuantizedModel();
        assertThat(quantized.getSize()).isLessThan(model.getSize());
    }

    @Test
    void unreadableStatisticsFailTheJob() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef stats = probe.store().put(ArtifactKeys.stage(job, 1, "calibration", "statistics.json"),
            "{not json".getBytes(), "application/json");
        probe.publish(Topics.QUANTIZE_STATIC, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "static",
            Recipe.newBuilder().build(), stats));

        assertThat(assertQuantizerFailed(job, ReasonCodes.ARTIFACT_CORRUPT).getReason()).contains("calibration statistics");
    }
}
