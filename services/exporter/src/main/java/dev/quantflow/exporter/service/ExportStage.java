package dev.quantflow.exporter.service;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import dev.quantflow.contracts.AttemptMetrics;
import dev.quantflow.contracts.ModelMetrics;
import dev.quantflow.contracts.Preparation;
import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.contracts.Report;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.ExportRequested;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.ModelReady;
import dev.quantflow.events.ProfileRequested;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.JobTracing;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.kafka.StageRun;
import dev.quantflow.pipeline.kafka.StoreWorkLedger;
import dev.quantflow.pipeline.stages.ArtifactStage;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.Artifacts;

/**
 * Packages a validated model: the final ONNX file, {@code report.json}, {@code report.html} and a manifest with
 * the sha256 of every file, all under {@code jobs/<job>/output/}; then announces it with one model-ready event.
 * A best-effort export (the debug loop's budget ran out) is packaged the same way, with the model named
 * {@code *.best-effort.onnx}, and ends the job with a {@code JobFailed} (TARGET_MISSED, bestEffort) that points to it.
 */
@ApplicationScoped
public class ExportStage extends ArtifactStage<ExportRequested> {

    private static final ModelMetrics NO_MODEL = new ModelMetrics(null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null);

    public ExportStage() {
        super(Bindings.EXPORT);
    }

    @Override
    public void handle(ExportRequested event, StageContext ctx) throws Exception {
        ctx.status(JobStates.RUNNING, 0.0, "exporting model and report");
        JobContext job = event.getContext();
        byte[] model = Artifacts.load(store, event.getQuantizedModel(), "the quantized model");
        AttemptMetrics metrics = StageJson.read(Artifacts.load(store, event.getMetrics(), "the validation metrics"),
            AttemptMetrics.class);
        QuantizationSummary summary = metrics.quantization() != null ? metrics.quantization()
            : event.getQuantizationSummary() == null ? QuantizationSummary.EMPTY
            : StageJson.read(Artifacts.load(store, event.getQuantizationSummary(), "the quantization summary"),
                QuantizationSummary.class);
        List<AttemptMetrics> attempts = new ArrayList<>();
        for (AttemptRecord r : job.getHistory()) {
            attempts.add(r.getMetrics() == null ? AttemptMetrics.NONE
                : StageJson.read(Artifacts.load(store, r.getMetrics(), "metrics of attempt " + r.getAttempt()),
                    AttemptMetrics.class));
        }

        // The exported model is the chosen attempt's (the last one, or the best for best effort): its method and bits
        // name the file and the report, not the plan's last method.
        AttemptRecord chosen = job.getHistory().stream().filter(r -> metrics.attempt() != null
            && r.getAttempt() == metrics.attempt()).findFirst().orElse(null);
        String method = chosen != null ? chosen.getMethod() : job.getPlan().getMethod();
        int bits = chosen != null && chosen.getRecipe() != null ? chosen.getRecipe().getBits()
            : job.getPlan().getRecipe().getBits();
        boolean meetsTarget = event.getMeetsTarget();
        String modelName = "model." + label(method, bits) + (meetsTarget ? "" : ".best-effort") + ".onnx";
        ArtifactRef modelRef = store.put(ArtifactKeys.output(ctx.jobId(), modelName), model, "application/onnx");

        Report report = Reports.json(ctx.jobId(), job, method, meetsTarget, event.getBestEffortReason(), metrics, summary,
            job.getHistory(), attempts, label(method, bits).toUpperCase())
            .withArtifacts(List.of(entry(modelName, modelRef)))
            .withTraceId(JobTracing.currentTraceId())
            .withPreparation(job.getInputs().getPreparation() == null ? null
                : StageJson.read(Artifacts.load(store, job.getInputs().getPreparation(), "the model preparation report"),
                    Preparation.class))
            .withStages(Reports.stages(stageRuns(ctx), ctx.runSoFar().orElse(null)));
        List<ArtifactRef> files = new ArrayList<>(List.of(modelRef));
        byte[] reportJson = StageJson.write(report);
        ArtifactRef reportRef = store.put(ArtifactKeys.output(ctx.jobId(), "report.json"), reportJson, "application/json");
        ArtifactRef htmlRef = store.put(ArtifactKeys.output(ctx.jobId(), "report.html"),
            Reports.html(report).getBytes(StandardCharsets.UTF_8), "text/html");
        files.add(reportRef);
        files.add(htmlRef);

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("jobId", ctx.jobId());
        manifest.put("createdAt", Instant.now().toString());
        List<Report.ArtifactEntry> entries = new ArrayList<>();
        for (ArtifactRef f : files) {
            entries.add(entry(f.getKey().substring(f.getKey().lastIndexOf('/') + 1), f));
        }
        manifest.put("files", entries);
        ArtifactRef manifestRef = store.put(ArtifactKeys.output(ctx.jobId(), "manifest.json"),
            StageJson.write(manifest), "application/json");

        if (!meetsTarget) {
            String reason = "best effort: " + event.getBestEffortReason() + "; attempt " + metrics.attempt()
                + " is exported as " + modelName + " and does NOT meet the target (" + metrics.verdict() + ")";
            ctx.publish(Topics.JOBS_FAILED, JobFailed.newBuilder()
                .setHeader(ctx.header("failed-best-effort", ctx.attempt()))
                .setStage(Stages.EXPORT)
                .setReasonCode(ReasonCodes.TARGET_MISSED)
                .setReason(reason)
                .setReport(reportRef)
                .setBestEffort(true)
                .setModel(modelRef)
                .setManifest(manifestRef)
                .build());
            ctx.status(JobStates.FAILED, 1.0, ReasonCodes.TARGET_MISSED + ": " + reason);
            return;
        }
        ModelMetrics fp32 = metrics.fp32() == null ? NO_MODEL : metrics.fp32();
        ModelMetrics quantized = metrics.quantized() == null ? NO_MODEL : metrics.quantized();
        ctx.publish(Topics.MODELS_READY, ModelReady.newBuilder()
            .setHeader(ctx.header("model-ready", ctx.attempt()))
            .setName(job.getInputs().getName())
            .setMethod(method)
            .setMeetsTarget(true)
            .setModel(modelRef)
            .setReport(reportRef)
            .setReportHtml(htmlRef)
            .setManifest(manifestRef)
            .setFp32Accuracy(fp32.accuracy())
            .setQuantizedAccuracy(quantized.accuracy())
            .setFp32SizeBytes(fp32.sizeBytes() != null ? fp32.sizeBytes() : job.getInputs().getModel().getSize())
            .setQuantizedSizeBytes(model.length)
            .setFp32LatencyMs(fp32.latencyBatch1P50Ms())
            .setQuantizedLatencyMs(quantized.latencyBatch1P50Ms())
            .setFp32Perplexity(fp32.perplexity())
            .setQuantizedPerplexity(quantized.perplexity())
            .build());
        ctx.status(JobStates.READY, 1.0, "model ready: " + modelName);
        requestProfiles(ctx, job, modelRef);
    }

    /** The stage runs the workers noted for this job; none when the store cannot list them (the report goes out). */
    private List<StageRun> stageRuns(StageContext ctx) {
        try {
            return new StoreWorkLedger(store).stageRuns(ctx.jobId());
        } catch (Exception e) {
            org.jboss.logging.Logger.getLogger(ExportStage.class).warnf("cannot list the stage runs of job %s: %s",
                ctx.jobId(), e.getMessage());
            return List.of();
        }
    }

    /**
     * The job asked to be profiled on some hardware classes: one request per class for the fp32 and the quantized
     * model. The profilers answer on {@code quantflow.profiles.completed}; {@link ProfileCollector} adds each answer
     * to the report as a column of its class.
     */
    private static void requestProfiles(StageContext ctx, JobContext job, ArtifactRef quantized) {
        for (String hardwareClass : job.getPlan().getProfileHardwareClasses()) {
            for (var model : List.of(Map.entry("fp32", job.getInputs().getModel()), Map.entry("quantized", quantized))) {
                ctx.publish(Topics.profileRequested(hardwareClass), ProfileRequested.newBuilder()
                    .setHeader(ctx.header("profile-" + hardwareClass + "-" + model.getKey(), ctx.attempt()))
                    .setHardwareClass(hardwareClass)
                    .setModel(model.getValue())
                    .setLabel(model.getKey())
                    .build());
            }
        }
    }

    static Report.ArtifactEntry entry(String name, ArtifactRef ref) {
        return new Report.ArtifactEntry(name, ref.getKey(), ref.getSha256(), ref.getSize(), ref.getMediaType());
    }

    /** The precision in file names and the report: int8, int4 (the LLM path's bits), w4a8 (QAT), fp16, bf16. */
    static String label(String method, int bits) {
        return QuantMethod.fromPlan(method).precisionLabel(bits).toLowerCase(java.util.Locale.ROOT);
    }
}
