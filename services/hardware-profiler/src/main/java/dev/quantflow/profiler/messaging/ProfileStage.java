package dev.quantflow.profiler.messaging;

import java.nio.charset.StandardCharsets;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.FormatSupport;
import dev.quantflow.events.ProfileCompleted;
import dev.quantflow.events.ProfileRequested;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.kafka.StageHandler;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.profiler.config.ProfilerConfig;
import dev.quantflow.profiler.service.EnergyMeter;
import dev.quantflow.profiler.service.HardwareFeatures;
import dev.quantflow.profiler.service.ModelProfile;
import dev.quantflow.profiler.service.ModelProfiler;
import dev.quantflow.profiler.service.ProfileJson;
import dev.quantflow.profiler.service.ProfileOptions;
import dev.quantflow.runtime.ModelRunException;

/**
 * The profiler pool of one hardware class: consumes {@code quantflow.profile.requested.<class>}, measures the model
 * named by the event on this host and publishes {@link ProfileCompleted} to {@code quantflow.profiles.completed},
 * with the full profile as a JSON artifact.
 *
 * <p>It publishes no job status: profiling is a side measurement of a model, and a RUNNING status from here would
 * overwrite the READY state of a finished quantization job in the compacted status topic.
 */
@ApplicationScoped
public class ProfileStage implements StageHandler<ProfileRequested> {

    private static final Logger LOG = Logger.getLogger(ProfileStage.class);

    /** Stage name in failure events and artifact keys. */
    public static final String STAGE = Stages.PROFILE;
    /** Consumer group prefix: one group, and so one pool, per hardware class. */
    public static final String GROUP_PREFIX = Bindings.PROFILER_GROUP_PREFIX;

    /** {@code quantflow.profiles.completed}, from the topic registry. */
    public static final Topics.Topic<ProfileCompleted> PROFILES_COMPLETED = Topics.PROFILES_COMPLETED_TOPIC;

    private final ModelProfiler profiler;
    private final ProfilerConfig config;
    private final Binding<ProfileRequested> binding;

    @Inject
    ArtifactStore store;

    @Inject
    public ProfileStage(ProfilerConfig config) {
        this(config, HardwareFeatures.detect());
    }

    ProfileStage(ProfilerConfig config, HardwareFeatures hardware) {
        this.config = config;
        String hardwareClass = config.hardwareClass().orElse(hardware.hardwareClass());
        if (!hardwareClass.equals(hardware.hardwareClass())) {
            LOG.warnf("configured as hardware class %s but this host looks like %s; profiles report the host as measured",
                hardwareClass, hardware.hardwareClass());
        }
        LOG.infof("pool %s on %s; INT8 quantized here: %s", hardwareClass, hardware.cpuModel(),
            hardware.isaRecipe().headline());
        this.profiler = new ModelProfiler(hardware, hardwareClass, EnergyMeter.system());
        // A failed profile must not fail the job it measures (that job is already READY): failures are logged.
        this.binding = Bindings.profiler(hardwareClass);
    }

    /** {@code quantflow.profile.requested.<hardwareClass>}, from the topic registry. */
    public static Topics.Topic<ProfileRequested> requestTopic(String hardwareClass) {
        return Topics.profileRequested(hardwareClass);
    }

    @Override
    public Binding<ProfileRequested> binding() {
        return binding;
    }

    public String hardwareClass() {
        return profiler.hardwareClass();
    }

    @Override
    public void handle(ProfileRequested event, StageContext ctx) throws Exception {
        if (!event.getHardwareClass().equals(hardwareClass())) {
            throw new PermanentStageException(ReasonCodes.BAD_EVENT, "profile request for hardware class "
                + event.getHardwareClass() + " arrived at the " + hardwareClass() + " pool");
        }
        ProfileOptions options = options(event, config);
        byte[] model = Artifacts.load(store, event.getModel(), "the model to profile");
        ModelProfile profile;
        try {
            profile = profiler.profile(model, options);
        } catch (ModelRunException | IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_MODEL, "cannot profile the model: " + e.getMessage(), e);
        }
        String key = ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), STAGE,
            hardwareClass() + "-" + ctx.input().getEventId() + ".json");
        ArtifactRef report = store.put(key, ProfileJson.write(profile).getBytes(StandardCharsets.UTF_8), "application/json");
        LOG.infof("job %s: profiled %s on %s: p50 %.3f ms at batch %d, %.1f samples/s at batch %d", ctx.jobId(),
            event.getModel().getKey(), hardwareClass(), profile.latency().p50Ms(), profile.latencyBatchSize(),
            profile.throughputSamplesPerSecond(), profile.throughputBatchSize());
        ctx.publish(PROFILES_COMPLETED, completed(event, profile, report, ctx));
    }

    /** The request's options, with the measured runs capped by configuration. */
    static ProfileOptions options(ProfileRequested e, ProfilerConfig config) {
        try {
            return new ProfileOptions(e.getBatchSize(), e.getThroughputBatchSize(), e.getSequenceLength(), e.getVocabSize(),
                e.getIntraOpThreads(), e.getWarmupRuns(), Math.min(e.getMeasuredRuns(), config.maxMeasuredRuns()),
                config.measureMemory(), 42L);
        } catch (IllegalArgumentException ex) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST, ex.getMessage(), ex);
        }
    }

    static ProfileCompleted completed(ProfileRequested event, ModelProfile p, ArtifactRef report, StageContext ctx) {
        HardwareFeatures hw = p.hardware();
        return ProfileCompleted.newBuilder()
            .setHeader(ctx.header("profile-completed", ctx.attempt()))
            .setHardwareClass(p.hardwareClass())
            .setModel(event.getModel())
            .setLabel(event.getLabel())
            .setReport(report)
            .setCpuModel(hw.cpuModel())
            .setLogicalCores(hw.logicalCores())
            .setOs(hw.os())
            .setArch(hw.arch())
            .setCpuFeatures(hw.cpuFlags().stream().sorted().toList())
            .setGpu(hw.gpuDescription())
            .setFormats(p.formats().stream().map(v -> FormatSupport.newBuilder()
                .setFormat(v.format()).setLevel(v.level().name()).setNote(v.note()).build()).toList())
            .setIntraOpThreads(p.options().intraOpThreads())
            .setBatchSize(p.latencyBatchSize())
            .setLatencyP50Ms(p.latency().p50Ms())
            .setLatencyP95Ms(p.latency().p95Ms())
            .setLatencyP99Ms(p.latency().p99Ms())
            .setThroughputBatchSize(p.throughputBatchSize())
            .setThroughputSamplesPerSecond(p.throughputSamplesPerSecond())
            .setPeakMemoryMb(p.peakMemoryMb())
            .setEnergyJoulesPerInference(p.energy().joulesPerInference())
            .setEnergyUnavailableReason(p.energy().unavailableReason())
            .build();
    }
}
