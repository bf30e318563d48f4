package dev.quantflow.validator.service;

import java.io.ByteArrayInputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.quantflow.contracts.AttemptMetrics;
import dev.quantflow.contracts.AttemptRecipe;
import dev.quantflow.contracts.Baseline;
import dev.quantflow.contracts.Comparison;
import dev.quantflow.contracts.LayerMetrics;
import dev.quantflow.contracts.ModelMetrics;
import dev.quantflow.contracts.NodeDecision;
import dev.quantflow.contracts.OutputSimilarity;
import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.contracts.Target;
import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.ExportRequested;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.stages.ArtifactStage;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.eval.ComparisonOptions;
import dev.quantflow.runtime.eval.ComparisonResult;
import dev.quantflow.runtime.eval.OutputComparison;
import dev.quantflow.runtime.diagnostics.DiagnosticsOptions;
import dev.quantflow.runtime.diagnostics.LayerDiagnostics;
import dev.quantflow.runtime.diagnostics.LayerReport;
import dev.quantflow.runtime.eval.EvalOptions;
import dev.quantflow.runtime.eval.EvalResult;
import dev.quantflow.runtime.eval.ModelEvaluator;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Runs the fp32 and the quantized model on the validation set (accuracy or agreement, latency at batch 1 and a
 * larger batch, size, peak RAM), computes per-layer SQNR, and decides: pass → export; miss → the debug loop
 * ({@link DebugPlanner}) sends the job back to calibration, to the quantizer or to another method as a new attempt,
 * or, with the budget spent, exports the best attempt as best effort.
 */
@ApplicationScoped
public class ValidationStage extends ArtifactStage<ValidationRequested> {

    private static final Logger LOG = Logger.getLogger(ValidationStage.class);

    @Inject
    ValidatorConfig config;

    public ValidationStage() {
        super(Bindings.VALIDATION);
    }

    @Override
    public void handle(ValidationRequested event, StageContext ctx) throws Exception {
        JobContext job = event.getContext();
        if (QuantMethod.fromPlan(job.getPlan().getMethod()).isLlm()) {
            handleLlm(event, ctx);
            return;
        }
        byte[] fp32 = Artifacts.load(store, job.getInputs().getModel(), "the fp32 model");
        byte[] quantized = Artifacts.load(store, event.getQuantizedModel(), "the quantized model");
        Artifacts.parseModel(quantized); // unreadable bytes are a permanent INVALID_MODEL, not a retry
        NpzArchive data = validationData(job);
        EvalOptions options = EvalOptions.defaults()
            .withIntraOpThreads(config.intraOpThreads())
            .withLatency(List.of(new EvalOptions.LatencyPlan(1, 10, config.batch1Runs()),
                new EvalOptions.LatencyPlan(config.largeBatch(), 2, config.largeBatchRuns())));

        ctx.status(JobStates.RUNNING, 0.1, "evaluating the fp32 model on " + rows(data) + " samples");
        EvalResult fp32Result = evaluate(fp32, data, options, "fp32");
        ctx.status(JobStates.RUNNING, 0.4, "evaluating the quantized model");
        QuantizationSummary summary = summary(event);
        EvalResult qResult = null;
        String runtimeErrorNode = null;
        String runtimeError = null;
        try {
            qResult = ModelEvaluator.evaluate(quantized, data, options);
        } catch (ModelRunException e) {
            runtimeError = e.getMessage();
            runtimeErrorNode = RuntimeErrors.failingNode(e.getMessage(), quantizedNodes(summary));
            if (runtimeErrorNode == null) {
                throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, "the quantized model cannot run in ONNX Runtime"
                    + " and the failing node could not be identified: " + e.getMessage(), e);
            }
        } catch (DatasetException e) {
            throw new PermanentStageException(ReasonCodes.DATASET_MISMATCH, "validation data: " + e.getMessage(), e);
        }

        List<LayerReport> layers = List.of();
        if (qResult != null) {
            ctx.status(JobStates.RUNNING, 0.8, "per-layer diagnostics (SQNR of every quantized tensor)");
            layers = diagnose(fp32, quantized, data);
        }
        Recipe recipe = job.getPlan().getRecipe();
        Verdicts.Verdict verdict;
        double agreement = Double.NaN;
        OnnxModel fp32Model = OnnxModel.parse(fp32);
        Verdicts.MetricChoice metric = Verdicts.resolveMetric(job.getPlan().getMetric(), data.get("labels").isPresent(),
            fp32Model.outputs().get(0).shape(), hasAttentionMask(fp32Model));
        ComparisonResult outputs = null;
        if (qResult != null) {
            agreement = ModelEvaluator.top1Agreement(fp32Result.predictions(), qResult.predictions());
            if (metric.comparesOutputs()) {
                ctx.status(JobStates.RUNNING, 0.7, "comparing outputs with fp32 (" + metric.metric() + ")");
                outputs = compareOutputs(fp32, fp32Model, quantized, data);
                Verdicts.Judged judged = Verdicts.judgeComparison(metric, outputs, job.getPlan().getMetricThreshold(),
                    job.getPlan().getMaxRelativeDrop());
                metric = judged.metric();
                verdict = judged.verdict();
            } else {
                verdict = Verdicts.judge(fp32Result, qResult, agreement, job.getPlan().getMaxRelativeDrop());
            }
        } else {
            verdict = new Verdicts.Verdict(false, "runtime", Double.NaN, Double.NaN,
                "the quantized model does not run: " + runtimeError);
        }
        Double sizeRatio = (double) quantized.length / fp32.length;
        Double maxSizeRatio = job.getPlan().getMaxSizeRatio();
        boolean sizeOk = maxSizeRatio == null || sizeRatio <= maxSizeRatio;
        Double latencyMs = qResult == null || qResult.latency().isEmpty() ? null : qResult.latency().get(0).p50Ms();
        Double maxLatencyMs = job.getPlan().getMaxLatencyMs();
        boolean latencyOk = maxLatencyMs == null || (latencyMs != null && latencyMs <= maxLatencyMs);
        boolean passed = verdict.passed() && sizeOk && latencyOk;
        String verdictText = sizeOk ? verdict.text() : verdict.text() + String.format(
            "; size %.0f%% of fp32 exceeds the %.0f%% target", sizeRatio * 100, maxSizeRatio * 100);
        if (maxLatencyMs != null) {
            verdictText += String.format(java.util.Locale.ROOT, "; batch-1 latency %.3f ms %s the %.3f ms target",
                latencyMs == null ? Double.NaN : latencyMs, latencyOk ? "meets" : "misses", maxLatencyMs);
        }
        LOG.infof("job %s attempt %d: %s", ctx.jobId(), ctx.attempt(), verdictText);

        DebugPlanner.Decision decision = null;
        if (!passed) {
            // the outlier rule reads activation ranges; other methods' statistics (SmoothQuant maxima) are not ranges
            boolean ranges = QuantMethod.fromPlan(job.getPlan().getMethod()).statistics()
                == QuantMethod.Statistics.ACTIVATION_RANGES;
            ActivationStatistics stats = event.getStatistics() == null || !ranges ? null
                : Artifacts.read(store, event.getStatistics(), "the calibration statistics", ReasonCodes.ARTIFACT_CORRUPT,
                    ActivationStatistics::fromJson, java.io.UncheckedIOException.class);
            decision = DebugPlanner.decide(observations(job, ctx.attempt())
                .layers(sensitivities(layers))
                .noisyPrefix(LayerDiagnostics.noisyPrefix(layers)
                    .map(n -> new DebugPlanner.NoisyPrefix(n.nodes(), n.reason())).orElse(null))
                .outlierTensors(Outliers.tensorsDominatedByOutliers(stats))
                .runtimeErrorNode(runtimeErrorNode)
                .sizeRatio(sizeRatio)
                .training(trainingOutcome(summary))
                .latencyMs(verdict.passed() && sizeOk ? latencyMs : null)
                .maxLatencyMs(maxLatencyMs)
                .build());
        }

        AttemptMetrics metrics = metrics(job, ctx.attempt(), fp32Result, qResult, agreement, verdict, passed, verdictText,
                metric.reason())
            .withLayers(layerMetrics(layers))
            .withQuantization(summary);
        if (outputs != null) {
            metrics = metrics.withOutputs(outputSimilarity(metric, outputs));
        }
        if (event.getBaselineModel() != null && qResult != null) {
            ctx.status(JobStates.RUNNING, 0.9, "evaluating the baseline model");
            metrics = metrics.withBaseline(baseline(event, data, fp32Result, qResult));
        }
        conclude(event, ctx, metrics, passed, verdictText, decision, qResult != null);
    }

    /**
     * The quantizer's reference model at the same settings (QAT: the same fake-quantized graph before training, i.e.
     * plain PTQ): its accuracy or agreement, and the share of the baseline's drop the method recovered.
     */
    private Baseline baseline(ValidationRequested event, NpzArchive data, EvalResult fp32, EvalResult q)
        throws Exception {
        byte[] bytes = Artifacts.load(store, event.getBaselineModel(), "the baseline model");
        EvalResult b = evaluate(bytes, data, EvalOptions.defaults().withIntraOpThreads(config.intraOpThreads())
            .withLatency(List.of()), "baseline");
        String method = event.getContext().getPlan().getMethod();
        Double drop = null;
        Double recovered = null;
        if (fp32.accuracy() != null && b.accuracy() != null && q.accuracy() != null) {
            drop = fp32.accuracy() - b.accuracy();
            recovered = drop <= 0 ? null : (q.accuracy() - b.accuracy()) / drop;
        }
        return new Baseline(QuantMethod.fromPlan(method) == QuantMethod.QAT ? "ptq (same quantization, no training)" : "baseline", (long) bytes.length,
            b.accuracy(), ModelEvaluator.top1Agreement(fp32.predictions(), b.predictions()), drop, recovered, null);
    }

    /** Causal LMs: perplexity on held-out tokens (fp32, quantized, RTN baseline), decode speed, size. */
    private void handleLlm(ValidationRequested event, StageContext ctx) throws Exception {
        JobContext job = event.getContext();
        byte[] fp32 = Artifacts.load(store, job.getInputs().getModel(), "the fp32 model");
        byte[] quantized = Artifacts.load(store, event.getQuantizedModel(), "the quantized model");
        Artifacts.parseModel(quantized); // unreadable bytes are a permanent INVALID_MODEL, not a retry
        byte[] baseline = event.getBaselineModel() == null ? null
            : Artifacts.load(store, event.getBaselineModel(), "the round-to-nearest baseline");
        NpzArchive data = validationData(job);
        QuantizationSummary summary = summary(event);
        LlmValidation.Outcome outcome = LlmValidation.evaluate(job, ctx.attempt(), fp32, quantized, baseline, data, summary,
            config.intraOpThreads(), (fraction, message) -> ctx.status(JobStates.RUNNING, fraction, message));
        String verdictText = outcome.verdict().text();
        LOG.infof("job %s attempt %d: %s", ctx.jobId(), ctx.attempt(), verdictText);
        DebugPlanner.Decision decision = null;
        if (!outcome.verdict().passed()) {
            decision = DebugPlanner.decide(observations(job, ctx.attempt())
                .layers(outcome.sensitivities())
                .runtimeErrorNode(outcome.runtimeErrorNode())
                .sizeRatio(outcome.sizeRatio())
                .build());
        }
        AttemptMetrics metrics = outcome.metrics().withQuantization(summary);
        conclude(event, ctx, metrics, outcome.verdict().passed(), verdictText, decision, outcome.runs());
    }

    private NpzArchive validationData(JobContext job) throws Exception {
        return Artifacts.read(store, job.getInputs().getValidation(), "validation data", ReasonCodes.INVALID_DATASET,
            bytes -> NpzArchive.read(new ByteArrayInputStream(bytes)), DatasetException.class);
    }

    /** What every miss is judged on: the job's plan (recipe, method, budget, fallbacks) and its history. */
    static DebugPlanner.Observations.Builder observations(JobContext job, int attempt) {
        JobPlan plan = job.getPlan();
        return DebugPlanner.Observations.builder(plan.getRecipe(), QuantMethod.fromPlan(plan.getMethod()), attempt,
                plan.getMaxAttempts())
            .now(Instant.now())
            .deadline(plan.getDeadline())
            .history(job.getHistory())
            .maxSizeRatio(plan.getMaxSizeRatio())
            .fallbackMethods(plan.getFallbackMethods().stream().map(QuantMethod::of).flatMap(java.util.Optional::stream).toList());
    }

    /** Stores the attempt's metrics and record, then exports (pass) or follows the debug loop's decision (miss). */
    private void conclude(ValidationRequested event, StageContext ctx, AttemptMetrics metrics, boolean passed,
                          String verdictText, DebugPlanner.Decision decision, boolean modelRuns) throws Exception {
        JobContext job = event.getContext();
        Recipe recipe = job.getPlan().getRecipe();
        AttemptMetrics decided = metrics.withDecision(decision == null ? "" : decision.diagnosis(),
            decision == null ? "export" : decision.route().name().toLowerCase());
        var metricsRef = store.put(ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), Stages.VALIDATION, "metrics.json"),
            StageJson.write(decided), "application/json");
        AttemptRecord record = AttemptRecord.newBuilder()
            .setAttempt(ctx.attempt())
            .setMethod(job.getPlan().getMethod())
            .setRecipe(recipe)
            .setPassed(passed)
            .setVerdict(verdictText)
            .setDiagnosis(decision == null ? "" : decision.diagnosis())
            .setRoute(decision == null ? "export" : decision.route().name().toLowerCase())
            .setMetrics(metricsRef)
            .setQuantizedModel(modelRuns ? event.getQuantizedModel() : null)
            .build();
        List<AttemptRecord> history = new ArrayList<>(job.getHistory());
        history.removeIf(r -> r.getAttempt() == ctx.attempt());
        history.add(record);
        JobContext updated = JobContext.newBuilder(job).setHistory(history).build();

        if (passed) {
            ctx.publish(Topics.EXPORT_REQUESTED, ExportRequested.newBuilder()
                .setHeader(ctx.header("export", ctx.attempt()))
                .setContext(updated)
                .setQuantizedModel(event.getQuantizedModel())
                .setMetrics(metricsRef)
                .setQuantizationSummary(event.getQuantizationSummary())
                .setMeetsTarget(true)
                .build());
            ctx.status(JobStates.RUNNING, 1.0, verdictText);
            return;
        }
        route(ctx, event, updated, decision, verdictText);
    }

    /** Sends the job where the debug loop decided: a new attempt, another method, or best-effort export. */
    private void route(StageContext ctx, ValidationRequested event, JobContext job, DebugPlanner.Decision decision,
                       String verdictText) throws Exception {
        int next = ctx.attempt() + 1;
        switch (decision.route()) {
            case CALIBRATION -> {
                ctx.status(JobStates.RETRYING, 1.0, verdictText + "; " + decision.diagnosis());
                ctx.publish(Topics.CALIBRATION_REQUESTED, CalibrationRequested.newBuilder()
                    .setHeader(ctx.header("retry-calibration", next))
                    .setContext(withRecipe(job, decision.recipe(), job.getPlan().getMethod()))
                    .build());
            }
            case QUANTIZE -> {
                ctx.status(JobStates.RETRYING, 1.0, verdictText + "; " + decision.diagnosis());
                ctx.publish(QuantMethod.fromPlan(job.getPlan().getMethod()).topic(), QuantizeRequested.newBuilder()
                    .setHeader(ctx.header("retry-quantize", next))
                    .setContext(withRecipe(job, decision.recipe(), job.getPlan().getMethod()))
                    .setStatistics(event.getStatistics())
                    .build());
            }
            case METHOD -> {
                // Back to method selection. A method that calibrates goes through calibration first, unless the
                // statistics of this attempt are of the kind it reads (GPTQ ↔ AWQ: the same layer-input statistics).
                ctx.status(JobStates.RETRYING, 1.0, verdictText + "; " + decision.diagnosis());
                QuantMethod from = QuantMethod.fromPlan(job.getPlan().getMethod());
                QuantMethod to = decision.method();
                JobContext switched = withRecipe(job, decision.recipe(), to.wireName());
                boolean reuse = event.getStatistics() != null && from.statistics() == to.statistics()
                    && to.statistics() != QuantMethod.Statistics.NONE;
                if (to.calibrates(job.getInputs().getCalibration() != null) && !reuse) {
                    ctx.publish(Topics.CALIBRATION_REQUESTED, CalibrationRequested.newBuilder()
                        .setHeader(ctx.header("retry-method", next))
                        .setContext(switched)
                        .build());
                } else {
                    ctx.publish(to.topic(), QuantizeRequested.newBuilder()
                        .setHeader(ctx.header("retry-method", next))
                        .setContext(switched)
                        .setStatistics(reuse ? event.getStatistics() : null)
                        .build());
                }
            }
            case GIVE_UP -> giveUp(ctx, job, decision.diagnosis(), verdictText);
        }
    }

    /** Budget spent: the best attempt so far is exported, labelled as not meeting the target. */
    private void giveUp(StageContext ctx, JobContext job, String why, String verdictText) throws Exception {
        AttemptRecord best = BestEffort.choose(job.getHistory(),
            ref -> StageJson.read(Artifacts.load(store, ref, "attempt metrics"), AttemptMetrics.class));
        if (best == null) {
            throw new PermanentStageException(ReasonCodes.TARGET_MISSED, verdictText + "; " + why
                + "; no attempt produced a model that runs");
        }
        ctx.status(JobStates.RUNNING, 1.0, verdictText + "; " + why + "; exporting attempt " + best.getAttempt()
            + " as best effort");
        ctx.publish(Topics.EXPORT_REQUESTED, ExportRequested.newBuilder()
            .setHeader(ctx.header("export-best-effort", ctx.attempt()))
            .setContext(job)
            .setQuantizedModel(best.getQuantizedModel())
            .setMetrics(best.getMetrics())
            .setMeetsTarget(false)
            .setBestEffortReason(why)
            .build());
    }

    private static JobContext withRecipe(JobContext job, Recipe recipe, String method) {
        return JobContext.newBuilder(job)
            .setPlan(JobPlan.newBuilder(job.getPlan()).setRecipe(recipe).setMethod(method).build())
            .build();
    }

    private static boolean hasAttentionMask(OnnxModel model) {
        return model.inputs().stream().anyMatch(i -> i.name().equals("attention_mask"));
    }

    /**
     * The report's {@code outputs}: cosine and MSE always; the IoU fields for an iou job, the per-position agreement
     * for an agreement job on a rank-3+ output, each with the fp32 value range.
     */
    static OutputSimilarity outputSimilarity(Verdicts.MetricChoice metric, ComparisonResult c) {
        boolean iou = metric.metric().equals("iou");
        boolean maps = iou || metric.perPosition();
        return new OutputSimilarity(metric.metric(), c.pooling().name().toLowerCase(), c.samples(), c.meanCosine(),
            c.minCosine(), c.mse(), c.maxAbsDiff(), iou ? c.mapThreshold() : null, iou ? c.meanIou() : null,
            iou ? c.minIou() : null, metric.perPosition() ? c.positionAgreement() : null,
            metric.perPosition() ? c.positionsPerSample() : null, maps ? finiteOrNull(c.referenceMin()) : null,
            maps ? finiteOrNull(c.referenceMax()) : null);
    }

    private static Double finiteOrNull(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** Output similarity to fp32; sentence-embedding style outputs ([N, T, D] with an attention mask) are mean-pooled. */
    private ComparisonResult compareOutputs(byte[] fp32, OnnxModel fp32Model, byte[] quantized, NpzArchive data) {
        boolean pooled = fp32Model.outputs().get(0).shape().length == 3 && hasAttentionMask(fp32Model);
        try {
            return OutputComparison.compare(fp32, quantized, data, ComparisonOptions.defaults()
                .withIntraOpThreads(config.intraOpThreads())
                .withPooling(pooled ? ComparisonOptions.Pooling.MEAN_L2 : ComparisonOptions.Pooling.NONE));
        } catch (ModelRunException e) {
            throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, "comparing outputs failed: " + e.getMessage(), e);
        }
    }

    private List<LayerReport> diagnose(byte[] fp32, byte[] quantized, NpzArchive data) {
        try {
            return LayerDiagnostics.compare(fp32, quantized, data,
                DiagnosticsOptions.defaults().withMaxSamples(config.diagnosticSamples()).withIntraOpThreads(config.intraOpThreads()));
        } catch (RuntimeException e) {
            LOG.warnf("per-layer diagnostics failed: %s", e.getMessage());
            return List.of();
        }
    }

    static List<DebugPlanner.LayerSensitivity> sensitivities(List<LayerReport> layers) {
        List<DebugPlanner.LayerSensitivity> out = new ArrayList<>();
        for (LayerReport l : layers) {
            if (l.compared() && l.quantized() && l.layerSqnrDb() != null && l.layerSqnrDb() < LayerDiagnostics.SQNR_CAP_DB) {
                out.add(new DebugPlanner.LayerSensitivity(l.node(), l.layerSqnrDb()));
            }
        }
        return out;
    }

    /** QAT attempts: first and final training loss from the quantizer's summary; null for other methods. */
    static DebugPlanner.TrainingOutcome trainingOutcome(QuantizationSummary summary) {
        if (summary.initialLoss() == null) {
            return null;
        }
        return new DebugPlanner.TrainingOutcome(summary.initialLoss(),
            summary.finalLoss() == null ? Double.NaN : summary.finalLoss());
    }

    static List<String> quantizedNodes(QuantizationSummary summary) {
        return summary.quantizedNodesOrEmpty().stream().map(NodeDecision::node).toList();
    }

    /** The quantizer's {@code summary.json}; an empty one when it wrote none. */
    private QuantizationSummary summary(ValidationRequested event) throws Exception {
        return event.getQuantizationSummary() == null ? QuantizationSummary.EMPTY
            : StageJson.read(Artifacts.load(store, event.getQuantizationSummary(), "the quantization summary"),
                QuantizationSummary.class);
    }

    static List<LayerMetrics> layerMetrics(List<LayerReport> layers) {
        return layers.stream().map(l -> new LayerMetrics(l.node(), l.opType(), l.tensor(), l.quantized(), l.sqnrDb(),
            l.inputSqnrDb(), l.addedErrorDb(), l.layerSqnrDb(), l.skipReason())).toList();
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

    private static int rows(NpzArchive data) {
        return data.arrays().stream().findFirst().map(a -> (int) a.shape()[0]).orElse(0);
    }

    static AttemptMetrics metrics(JobContext job, int attempt, EvalResult fp32, EvalResult q, double agreement,
                                  Verdicts.Verdict verdict, boolean passed, String verdictText, String metricReason) {
        Recipe r = job.getPlan().getRecipe();
        AttemptRecipe recipe = AttemptRecipe.int8(r.getCalibrator(), r.getWeightType(), r.getActivationType(),
            r.getPerChannelWeights(), r.getInt8Only(), r.getExcludedNodes(), r.getExclusionReasons(), r.getNote());
        Comparison c = Comparison.NONE;
        if (q != null) {
            Double drop = null;
            Double relativeDrop = null;
            if (fp32.accuracy() != null && q.accuracy() != null) {
                drop = fp32.accuracy() - q.accuracy();
                relativeDrop = fp32.accuracy() <= 0 ? 0 : (fp32.accuracy() - q.accuracy()) / fp32.accuracy();
            }
            int timed = Math.min(fp32.latency().size(), q.latency().size());
            c = new Comparison(agreement, drop, relativeDrop, (double) q.sizeBytes() / fp32.sizeBytes(),
                timed > 0 ? fp32.latency().get(0).p50Ms() / q.latency().get(0).p50Ms() : null,
                timed > 1 ? fp32.latency().get(1).p50Ms() / q.latency().get(1).p50Ms() : null, null, null, null, null);
        }
        Target target = new Target(verdict.metric(), job.getPlan().getMaxRelativeDrop(), null, job.getPlan().getMaxSizeRatio(),
            job.getPlan().getMaxLatencyMs(), Double.isNaN(verdict.value()) ? null : verdict.value(),
            Double.isNaN(verdict.threshold()) ? null : verdict.threshold(), metricReason);
        return AttemptMetrics.of(attempt, job.getPlan().getMethod(), recipe, modelMetrics(fp32),
            q == null ? null : modelMetrics(q), c, target, passed, verdictText, false);
    }

    static ModelMetrics modelMetrics(EvalResult r) {
        List<ModelMetrics.Latency> latency = r.latency().stream().map(l -> new ModelMetrics.Latency(l.batchSize(), l.runs(),
            l.p50Ms(), l.p95Ms(), l.meanMs(), l.samplesPerSecond())).toList();
        return ModelMetrics.classifier(r.sizeBytes(), r.samples(), r.accuracy(), latency.isEmpty() ? null : latency.get(0),
            latency.size() > 1 ? latency.get(1) : null, r.peakRamMb());
    }
}
