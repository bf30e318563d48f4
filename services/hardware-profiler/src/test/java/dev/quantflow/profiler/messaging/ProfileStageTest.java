package dev.quantflow.profiler.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.ProfileCompleted;
import dev.quantflow.events.ProfileRequested;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.EventHeaders;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.profiler.config.ProfilerConfig;
import dev.quantflow.profiler.service.EnergyMeter;
import dev.quantflow.profiler.service.HardwareFeatures;
import dev.quantflow.profiler.service.ModelProfile;
import dev.quantflow.profiler.service.ModelProfiler;
import dev.quantflow.profiler.service.ProfileOptions;

/** The stage's binding and event mapping, without a broker (the worker loop itself is tested in libs/pipeline). */
class ProfileStageTest {

    private static final HardwareFeatures NEOVERSE = new HardwareFeatures("Arm Neoverse N1", 4, "Linux", "aarch64",
        java.util.Set.of("asimd", "asimddp"), List.of("CPU"), Optional.empty());

    private static ProfilerConfig config(Optional<String> hwClass, int maxRuns) {
        return new ProfilerConfig() {
            public Optional<String> hardwareClass() {
                return hwClass;
            }

            public boolean measureMemory() {
                return false;
            }

            public int maxMeasuredRuns() {
                return maxRuns;
            }
        };
    }

    private static ProfileRequested request(String hwClass, int runs) {
        return ProfileRequested.newBuilder()
            .setHeader(EventHeaders.fresh("job-1", 1, "test", "0"))
            .setHardwareClass(hwClass)
            .setModel(ArtifactStore.ref("quantflow", "jobs/job-1/output/model.onnx", null, -1, "application/octet-stream"))
            .setMeasuredRuns(runs)
            .setVocabSize(30522)
            .build();
    }

    @Test
    void bindsToThePerClassTopicAndGroup() {
        ProfileStage derived = new ProfileStage(config(Optional.empty(), 500), NEOVERSE);
        assertThat(derived.hardwareClass()).isEqualTo("arm64-dotprod");
        assertThat(derived.topic().name()).isEqualTo(Topics.PROFILE_REQUESTED_PREFIX + "arm64-dotprod");
        assertThat(derived.topic().valueType()).isEqualTo(ProfileRequested.class);
        assertThat(derived.group()).isEqualTo("hardware-profiler-arm64-dotprod");
        assertThat(derived.stage()).isEqualTo(ProfileStage.STAGE);

        ProfileStage configured = new ProfileStage(config(Optional.of("x86-avx512-vnni"), 500), NEOVERSE);
        assertThat(configured.topic().name()).isEqualTo("quantflow.profile.requested.x86-avx512-vnni");
        assertThat(ProfileStage.PROFILES_COMPLETED.name()).isEqualTo("quantflow.profiles.completed");
        assertThatThrownBy(() -> ProfileStage.requestTopic("X86 AVX2")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void requestOptionsAreCappedAndValidated() {
        ProfileOptions o = ProfileStage.options(request("x86-avx2", 10_000), config(Optional.empty(), 100));
        assertThat(o.measuredRuns()).isEqualTo(100);
        assertThat(o.vocabSize()).isEqualTo(30522);
        assertThat(o.throughputBatchSize()).isNull();
        assertThat(o.intraOpThreads()).isEqualTo(1);
        ProfileRequested bad = request("x86-avx2", 10);
        bad.setBatchSize(0);
        assertThatThrownBy(() -> ProfileStage.options(bad, config(Optional.empty(), 100)))
            .isInstanceOf(PermanentStageException.class);
    }

    @Test
    void aRequestForAnotherClassIsRefused() {
        ProfileStage stage = new ProfileStage(config(Optional.of("x86-avx2"), 500), NEOVERSE);
        assertThatThrownBy(() -> stage.handle(request("x86-amx", 10), null))
            .isInstanceOf(PermanentStageException.class).hasMessageContaining("x86-amx");
    }

    @Test
    void completedEventCarriesFeaturesFormatsAndMetricsAndRoundTripsThroughAvro() throws Exception {
        HardwareFeatures hw = HardwareFeatures.detect();
        ModelProfiler profiler = new ModelProfiler(hw, hw.hardwareClass(), EnergyMeter.at(Path.of("/nonexistent-powercap")));
        byte[] model = java.nio.file.Files.readAllBytes(Path.of("../../fixtures/fashion-cnn/model.onnx"));
        ModelProfile p = profiler.profile(model, ProfileOptions.defaults().withRuns(1, 5).withMeasureMemory(false));
        ProfileRequested req = request(hw.hardwareClass(), 5);
        StageContext ctx = new StageContext(req.getHeader(), null, "hardware-profiler", "test", ProfileStage.STAGE);
        ArtifactRef report = ArtifactStore.ref("quantflow", "jobs/job-1/attempt-1/profile/x.json", "ab", 10, "application/json");

        ProfileCompleted e = ProfileStage.completed(req, p, report, ctx);
        ProfileCompleted back = AvroCodec.decode(AvroCodec.encode(e), ProfileCompleted.class);
        assertThat(back).isEqualTo(e);
        assertThat(back.getHeader().getJobId()).isEqualTo("job-1");
        assertThat(back.getHeader().getEventId()).isNotEqualTo(req.getHeader().getEventId())
            .isEqualTo(ProfileStage.completed(req, p, report, ctx).getHeader().getEventId());
        assertThat(back.getHardwareClass()).isEqualTo(hw.hardwareClass());
        assertThat(back.getCpuFeatures()).containsExactlyElementsOf(hw.cpuFlags().stream().sorted().toList());
        assertThat(back.getFormats()).hasSize(hw.nativeFormats().size());
        assertThat(back.getFormats().get(0).getFormat()).isEqualTo("fp32");
        assertThat(back.getLatencyP50Ms()).isEqualTo(p.latency().p50Ms());
        assertThat(back.getThroughputBatchSize()).isEqualTo(64);
        assertThat(back.getEnergyJoulesPerInference()).isNull();
        assertThat(back.getEnergyUnavailableReason()).contains("does not exist");
        assertThat(back.getGpu()).isEqualTo(hw.gpuDescription());
        assertThat(back.getReport()).isEqualTo(report);
    }
}
