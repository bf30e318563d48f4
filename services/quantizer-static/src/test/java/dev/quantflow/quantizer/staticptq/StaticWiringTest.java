package dev.quantflow.quantizer.staticptq;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.JobStates;
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
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.TestJobs;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The static INT8 pool on a real broker and S3 server: it consumes its topic, hands the model to the validator, fails with a code. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class StaticWiringTest {

    static final Duration WAIT = Duration.ofSeconds(30);
    static JobProbe probe;

    @BeforeAll
    static void probe() throws Exception {
        probe = JobProbe.ofApp();
    }

    @AfterAll
    static void close() {
        probe.close();
    }

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

        List<ValidationRequested> out = probe.awaitFirst(Topics.VALIDATION_REQUESTED, job, WAIT);
        assertThat(out).as("ValidationRequested on %s", Topics.VALIDATION_REQUESTED.name()).hasSize(1);
        ArtifactRef quantized = out.getFirst().getQuantizedModel();
        assertThat(quantized.getKey()).isEqualTo("jobs/" + job + "/attempt-1/quantize/model.int8.onnx");
        assertThat(probe.exists(quantized)).isTrue();
        assertThat(quantized.getSize()).isLessThan(model.getSize());
        assertThat(probe.exists(out.getFirst().getQuantizationSummary())).isTrue();
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, Duration.ofMillis(500))).isEmpty();
    }

    @Test
    void unreadableStatisticsFailTheJob() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef stats = probe.store().put(ArtifactKeys.stage(job, 1, "calibration", "statistics.json"),
            "{not json".getBytes(), "application/json");
        probe.publish(Topics.QUANTIZE_STATIC, TestJobs.quantize(job, JobInputs.newBuilder().setModel(model).build(), "static",
            Recipe.newBuilder().build(), stats));

        List<JobFailed> failed = probe.awaitFirst(Topics.JOBS_FAILED, job, WAIT);
        assertThat(failed).singleElement().satisfies(f -> {
            assertThat(f.getReasonCode()).isEqualTo(ReasonCodes.ARTIFACT_CORRUPT);
            assertThat(f.getStage()).isEqualTo("quantize");
            assertThat(f.getReason()).contains("calibration statistics").doesNotContain("\tat ");
        });
        assertThat(probe.await(Topics.JOBS_STATUS, job, l -> l.stream().anyMatch(s -> JobStates.FAILED.equals(s.getState())),
            WAIT)).extracting(JobStatus::getState).contains(JobStates.FAILED);
        assertThat(probe.readFor(Topics.VALIDATION_REQUESTED, job, Duration.ofMillis(500))).isEmpty();
    }
}
