package dev.quantflow.validator.service;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.ExportRequested;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.kafka.StageHandler;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.eval.EvalOptions;
import dev.quantflow.runtime.eval.EvalResult;
import dev.quantflow.runtime.eval.ModelEvaluator;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Runs the fp32 and the quantized model on the validation set (accuracy or agreement, latency at batch 1 and a
 * larger batch, size, peak RAM) and decides: pass → export; miss with attempts left → back to calibration with a
 * more conservative recipe (first and last quantized layers kept fp32); miss with no attempt left → job failed
 * with TARGET_MISSED and the numbers.
 */
@ApplicationScoped
public class ValidationStage implements StageHandler<ValidationRequested> {

    private static final Logger LOG = Logger.getLogger(ValidationStage.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Inject
    ArtifactStore store;
    @Inject
    ValidatorConfig config;

    @Override
    public Binding<ValidationRequested> binding() {
        return new Binding<>(Topics.VALIDATION_REQUESTED, Stages.VALIDATION, "validator");
    }

    @Override
    public void handle(ValidationRequested event, StageContext ctx) throws Exception {
        JobContext job = event.getContext();
        byte[] fp32 = Artifacts.load(store, job.getInputs().getModel(), "the fp32 model");
        byte[] quantized = Artifacts.load(store, event.getQuantizedModel(), "the quantized model");
        NpzArchive data;
        try {
            data = NpzArchive.read(new ByteArrayInputStream(
                Artifacts.load(store, job.getInputs().getValidation(), "the validation data")));
        } catch (DatasetException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_DATASET, "validation data: " + e.getMessage(), e);
        }
        EvalOptions options = EvalOptions.defaults()
            .withIntraOpThreads(config.intraOpThreads())
            .withLatency(List.of(new EvalOptions.LatencyPlan(1, 10, config.batch1Runs()),
                new EvalOptions.LatencyPlan(config.largeBatch(), 2, config.largeBatchRuns())));

        ctx.status(JobStates.RUNNING, 0.1, "evaluating the fp32 model on " + rows(data) + " samples");
        EvalResult fp32Result = evaluate(fp32, data, options, "fp32");
        ctx.status(JobStates.RUNNING, 0.5, "evaluating the quantized model");
        EvalResult qResult = evaluate(quantized, data, options, "quantized");
        double agreement = ModelEvaluator.top1Agreement(fp32Result.predictions(), qResult.predictions());
        var verdict = Verdicts.judge(fp32Result, qResult, agreement, job.getPlan().getMaxRelativeDrop());
        LOG.infof("job %s attempt %d: %s", ctx.jobId(), ctx.attempt(), verdict.text());

        Map<String, Object> metrics = metrics(job, ctx.attempt(), fp32Result, qResult, agreement, verdict);
        var metricsRef = store.put(ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), Stages.VALIDATION, "metrics.json"),
            JSON.writeValueAsBytes(metrics), "application/json");
        AttemptRecord record = AttemptRecord.newBuilder()
            .setAttempt(ctx.attempt())
            .setRecipe(job.getPlan().getRecipe())
            .setPassed(verdict.passed())
            .setVerdict(verdict.text())
            .setMetrics(metricsRef)
            .setQuantizedModel(event.getQuantizedModel())
            .build();
        List<AttemptRecord> history = new ArrayList<>(job.getHistory());
        history.removeIf(r -> r.getAttempt() == ctx.attempt());
        history.add(record);
        JobContext updated = JobContext.newBuilder(job).setHistory(history).build();

        if (verdict.passed()) {
            ctx.publish(Topics.EXPORT_REQUESTED, ExportRequested.newBuilder()
                .setHeader(ctx.header("export", ctx.attempt()))
                .setContext(updated)
                .setQuantizedModel(event.getQuantizedModel())
                .setMetrics(metricsRef)
                .setQuantizationSummary(event.getQuantizationSummary())
                .setMeetsTarget(true)
                .build());
            ctx.status(JobStates.RUNNING, 1.0, verdict.text());
            return;
        }
        int next = ctx.attempt() + 1;
        Recipe retry = next <= job.getPlan().getMaxAttempts() ? conservativeRecipe(job.getPlan().getRecipe(), event) : null;
        if (retry == null) {
            throw new PermanentStageException(ReasonCodes.TARGET_MISSED, verdict.text() + " after " + ctx.attempt()
                + " attempt(s); the quantized model is kept at " + event.getQuantizedModel().getKey());
        }
        ctx.status(JobStates.RETRYING, 1.0, verdict.text() + "; retrying: " + retry.getNote());
        JobContext retryContext = JobContext.newBuilder(updated)
            .setPlan(dev.quantflow.events.JobPlan.newBuilder(job.getPlan()).setRecipe(retry).build())
            .build();
        ctx.publish(Topics.CALIBRATION_REQUESTED, CalibrationRequested.newBuilder()
            .setHeader(ctx.header("retry-calibration", next))
            .setContext(retryContext)
            .build());
    }

    private EvalResult evaluate(byte[] model, NpzArchive data, EvalOptions options, String which) {
        try {
            return ModelEvaluator.evaluate(model, data, options);
        } catch (DatasetException e) {
            throw new PermanentStageException(ReasonCodes.DATASET_MISMATCH, "validation data: " + e.getMessage(), e);
        } catch (ModelRunException e) {
            throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, "the " + which + " model cannot run: "
                + e.getMessage(), e);
        }
    }

    /**
     * The one retry path of this version: keep the first and the last quantized layers in fp32 (the layers most
     * often sensitive in CNNs: raw-input statistics and the logits). Empty when nothing is left to keep.
     */
    Recipe conservativeRecipe(Recipe current, ValidationRequested event) throws Exception {
        if (event.getQuantizationSummary() == null) {
            return null;
        }
        JsonNode summary = JSON.readTree(Artifacts.load(store, event.getQuantizationSummary(), "the quantization summary"));
        List<String> quantized = new ArrayList<>();
        summary.path("quantizedNodes").forEach(n -> quantized.add(n.path("node").asText()));
        if (quantized.size() < 2) {
            return null;
        }
        var excluded = new LinkedHashSet<>(current.getExcludedNodes());
        boolean added = excluded.add(quantized.get(0)) | excluded.add(quantized.get(quantized.size() - 1));
        if (!added) {
            return null;
        }
        return Recipe.newBuilder(current)
            .setExcludedNodes(new ArrayList<>(excluded))
            .setNote("keep the first and last quantized layers in fp32 (" + quantized.get(0) + ", "
                + quantized.get(quantized.size() - 1) + ")")
            .build();
    }

    private static int rows(NpzArchive data) {
        return data.arrays().stream().findFirst().map(a -> (int) a.shape()[0]).orElse(0);
    }

    static Map<String, Object> metrics(JobContext job, int attempt, EvalResult fp32, EvalResult q, double agreement,
                                       Verdicts.Verdict verdict) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("attempt", attempt);
        Recipe r = job.getPlan().getRecipe();
        Map<String, Object> recipe = new LinkedHashMap<>();
        recipe.put("calibrator", r.getCalibrator());
        recipe.put("weightType", r.getWeightType());
        recipe.put("activationType", r.getActivationType());
        recipe.put("perChannelWeights", r.getPerChannelWeights());
        recipe.put("excludedNodes", r.getExcludedNodes());
        recipe.put("note", r.getNote());
        m.put("recipe", recipe);
        m.put("fp32", modelMetrics(fp32));
        m.put("quantized", modelMetrics(q));
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("top1Agreement", agreement);
        if (fp32.accuracy() != null && q.accuracy() != null) {
            c.put("accuracyDrop", fp32.accuracy() - q.accuracy());
            c.put("relativeAccuracyDrop", fp32.accuracy() <= 0 ? 0 : (fp32.accuracy() - q.accuracy()) / fp32.accuracy());
        } else {
            c.put("accuracyDrop", null);
            c.put("relativeAccuracyDrop", null);
        }
        c.put("sizeRatio", (double) q.sizeBytes() / fp32.sizeBytes());
        for (int i = 0; i < Math.min(fp32.latency().size(), q.latency().size()); i++) {
            c.put(i == 0 ? "speedupBatch1" : "speedupBatchN", fp32.latency().get(i).p50Ms() / q.latency().get(i).p50Ms());
        }
        m.put("comparison", c);
        Map<String, Object> target = new LinkedHashMap<>();
        target.put("metric", verdict.metric());
        target.put("maxRelativeDrop", job.getPlan().getMaxRelativeDrop());
        target.put("value", verdict.value());
        target.put("threshold", verdict.threshold());
        m.put("target", target);
        m.put("passed", verdict.passed());
        m.put("verdict", verdict.text());
        return m;
    }

    static Map<String, Object> modelMetrics(EvalResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sizeBytes", r.sizeBytes());
        m.put("samples", r.samples());
        m.put("accuracy", r.accuracy());
        for (int i = 0; i < r.latency().size(); i++) {
            var l = r.latency().get(i);
            Map<String, Object> lat = new LinkedHashMap<>();
            lat.put("batchSize", l.batchSize());
            lat.put("runs", l.runs());
            lat.put("p50Ms", l.p50Ms());
            lat.put("p95Ms", l.p95Ms());
            lat.put("meanMs", l.meanMs());
            lat.put("samplesPerSecond", l.samplesPerSecond());
            m.put(i == 0 ? "latencyBatch1" : "latencyBatchN", lat);
        }
        m.put("peakRamMb", r.peakRamMb());
        return m;
    }
}
