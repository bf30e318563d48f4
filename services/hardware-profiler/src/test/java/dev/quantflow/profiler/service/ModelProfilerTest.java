package dev.quantflow.profiler.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import ai.onnxruntime.OrtSession;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

class ModelProfilerTest {

    private static final Path FASHION_CNN = Path.of("../../fixtures/fashion-cnn/model.onnx");

    @TempDir
    Path noPowercap;

    private ModelProfiler profiler() {
        HardwareFeatures hw = HardwareFeatures.detect();
        return new ModelProfiler(hw, hw.hardwareClass(), EnergyMeter.at(noPowercap.resolve("none")));
    }

    private static ProfileOptions quick() {
        return ProfileOptions.defaults().withRuns(2, 20).withMeasureMemory(false);
    }

    @Test
    void textModelGetsTokenIdsInsideTheVocabularyAndAMaskOfOnes() throws Exception {
        byte[] model = ProfilerTestModels.embedding(10);
        // Default ids [0, 100) overflow a 10-row table: ONNX Runtime refuses them.
        assertThatThrownBy(() -> profiler().profile(model, quick())).isInstanceOf(ModelRunException.class);

        ModelProfile p = profiler().profile(model, quick().withVocabSize(10).withSequenceLength(16));
        assertThat(p.text()).isTrue();
        assertThat(p.throughputBatchSize()).isEqualTo(ProfileOptions.TEXT_THROUGHPUT_BATCH);
        assertThat(p.latencyBatchSize()).isEqualTo(1);
        assertThat(p.inputShapes().get("input_ids")).containsExactly(1, 16);

        try (OrtSession s = OrtModels.createSession(model, 1, OrtSession.SessionOptions.OptLevel.BASIC_OPT)) {
            NpzArchive data = InputSynthesizer.synthesize(InputSynthesizer.specsOf(s), 3, 16, 10, 7L);
            long[] ids = data.array("input_ids").toLongs();
            assertThat(ids).hasSize(48);
            assertThat(java.util.Arrays.stream(ids).allMatch(v -> v >= 0 && v < 10)).isTrue();
            assertThat(java.util.Arrays.stream(ids).distinct().count()).as("ids vary").isGreaterThan(5);
            assertThat(data.array("attention_mask").toLongs()).containsOnly(1L);
            // Same seed, same bytes.
            NpzArchive again = InputSynthesizer.synthesize(InputSynthesizer.specsOf(s), 3, 16, 10, 7L);
            assertThat(again.array("input_ids").toLongs()).containsExactly(ids);
        }
    }

    @Test
    void visionModelUsesTheVisionThroughputBatchAndConsistentStatistics() {
        ModelProfile p = profiler().profile(ProfilerTestModels.matMulRelu(), quick());
        assertThat(p.text()).isFalse();
        assertThat(p.throughputBatchSize()).isEqualTo(ProfileOptions.VISION_THROUGHPUT_BATCH);
        assertThat(p.latency().runs()).isEqualTo(20);
        assertThat(p.latency().p50Ms()).isPositive().isLessThanOrEqualTo(p.latency().p95Ms());
        assertThat(p.latency().p95Ms()).isLessThanOrEqualTo(p.latency().p99Ms());
        assertThat(p.latency().p99Ms()).isLessThanOrEqualTo(p.latency().maxMs());
        // samples / total time = batch / mean run time
        assertThat(p.throughputSamplesPerSecond())
            .isCloseTo(64 * 1000.0 / p.throughputLatency().meanMs(), within(1e-6 * p.throughputSamplesPerSecond()));
        assertThat(p.energy().available()).isFalse();
        assertThat(p.energy().joulesPerInference()).isNull();
        assertThat(p.energy().unavailableReason()).contains("does not exist");
        assertThat(p.options().intraOpThreads()).isEqualTo(1);
        assertThat(p.peakMemoryMb()).isNull();
    }

    @Test
    void aFixedBatchDimensionCapsBothBatches() {
        ModelProfile p = profiler().profile(ProfilerTestModels.fixedBatchOne(), quick().withThroughputBatchSize(32));
        assertThat(p.latencyBatchSize()).isEqualTo(1);
        assertThat(p.throughputBatchSize()).isEqualTo(1);
    }

    @Test
    void notAModelIsAModelRunException() {
        assertThatThrownBy(() -> profiler().profile(new byte[] {1, 2, 3}, quick())).isInstanceOf(ModelRunException.class);
    }

    @Test
    void fashionCnnWithPeakMemoryInAFreshProcessAndJson() throws Exception {
        byte[] model = Files.readAllBytes(FASHION_CNN);
        ModelProfile p = profiler().profile(model, ProfileOptions.defaults().withRuns(2, 10).withThroughputBatchSize(16));
        assertThat(p.inputShapes().values().iterator().next()[0]).isEqualTo(1);
        assertThat(p.throughputBatchSize()).isEqualTo(16);
        assertThat(p.peakMemoryMb()).as(p.memoryNote()).isNotNull().isPositive();
        JsonNode json = ProfileJson.mapper().readTree(ProfileJson.write(p));
        assertThat(json.at("/hardwareClass").asText()).isEqualTo(p.hardwareClass());
        assertThat(json.at("/latency/p50Ms").asDouble()).isEqualTo(p.latency().p50Ms());
        assertThat(json.at("/hardware/gpu").isNull() || json.at("/hardware/gpu").isTextual()
            || json.at("/hardware/gpu").isObject()).isTrue();
        assertThat(json.at("/formats").size()).isEqualTo(p.formats().size());
        assertThat(json.at("/energy/available").asBoolean()).isFalse();
    }

    @Test
    void inputsThatCannotBeBatchedAreRefused() {
        var spec = new InputSynthesizer.InputSpec("s", ai.onnxruntime.OnnxJavaType.STRING, new long[] {-1});
        assertThatThrownBy(() -> InputSynthesizer.synthesize(List.of(spec), 1, 4, null, 1L))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot synthesize");
        var fixedAndDynamic = List.of(new InputSynthesizer.InputSpec("a", ai.onnxruntime.OnnxJavaType.FLOAT, new long[] {-1, 3}),
            new InputSynthesizer.InputSpec("b", ai.onnxruntime.OnnxJavaType.FLOAT, new long[] {4, -1}));
        assertThat(InputSynthesizer.batchFor(fixedAndDynamic, 64)).isEqualTo(4);
        assertThat(InputSynthesizer.concreteShape(fixedAndDynamic.get(1), 4, 9)).containsExactly(4, 9);
        NdArray a = InputSynthesizer.synthesize(fixedAndDynamic, 4, 9, null, 3L).array("a");
        for (float v : a.toFloats()) {
            assertThat(v).isGreaterThanOrEqualTo(0f).isLessThan(1f);
        }
    }
}
