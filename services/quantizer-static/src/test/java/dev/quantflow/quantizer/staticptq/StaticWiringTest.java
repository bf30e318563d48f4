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

    /**
     * With the calibration data at hand and statistics for every candidate (what the calibration stage observes), the
     * pool times the candidate graphs on this CPU and says what it measured in the summary's ISA reasons.
     */
    @Test
    void theConvRuleIsMeasuredOnThisCpuWhenTheCalibrationDataIsThere() throws Exception {
        String job = JobProbe.newJobId();
        byte[] modelBytes = Files.readAllBytes(Fixtures.path("fashion-cnn/model.onnx"));
        OnnxModel fp32 = OnnxModel.parse(modelBytes);
        Set<String> tensors = new LinkedHashSet<>(dev.quantflow.runtime.tune.StaticRecipeTuner.tensorsToCalibrate(fp32,
            new StaticQuantRecipe(Set.of(), true, ActivationType.UINT8)));
        tensors.addAll(CalibrationRunner.allFloatActivations(fp32));
        byte[] calib = TestJobs.npzHead(Fixtures.path("fashion-cnn/calib.npz"), 32);
        byte[] statistics = CalibrationRunner.run(modelBytes, List.copyOf(tensors),
            NpzArchive.read(new ByteArrayInputStream(calib)), CalibrationOptions.defaults(), (done, total) -> { }).toJson();
        ArtifactRef model = probe.putInput(job, "model.onnx", modelBytes);
        ArtifactRef data = probe.putInput(job, "calib.npz", calib);
        ArtifactRef stats = probe.store().put(ArtifactKeys.stage(job, 1, "calibration", "statistics.json"), statistics,
            "application/json");
        probe.publish(Topics.QUANTIZE_STATIC, TestJobs.quantize(job,
            JobInputs.newBuilder().setModel(model).setCalibration(data).build(), "static", Recipe.newBuilder().build(), stats));

        var handed = assertHandedToValidator(job, "model.int8.onnx");
        var summary = dev.quantflow.contracts.StageJson.read(probe.store().get(handed.getQuantizationSummary()),
            dev.quantflow.contracts.QuantizationSummary.class);
        assertThat(summary.isa().reasons()).anySatisfy(r -> assertThat(r)
            .startsWith("conv rule measured on this CPU: chose ").contains("fp32").contains("every conv int8"));
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
