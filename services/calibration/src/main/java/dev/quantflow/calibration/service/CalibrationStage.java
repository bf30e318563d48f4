package dev.quantflow.calibration.service;

import java.io.ByteArrayInputStream;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.stages.ArtifactStage;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.llm.LlmCalibration;
import dev.quantflow.runtime.llm.LlmCalibrationOptions;
import dev.quantflow.runtime.llm.LlmCalibrationResult;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Runs the fp32 model over the calibration set in batches, collects the activation statistics the job's
 * quantizer needs, stores them and hands the job to that quantizer's pool.
 */
@ApplicationScoped
public class CalibrationStage extends ArtifactStage<CalibrationRequested> {

    private static final Logger LOG = Logger.getLogger(CalibrationStage.class);

    @Inject
    CalibrationConfig config;

    public CalibrationStage() {
        super(Bindings.CALIBRATION);
    }

    @Override
    public void handle(CalibrationRequested event, StageContext ctx) throws Exception {
        JobContext job = event.getContext();
        Recipe recipe = job.getPlan().getRecipe();
        QuantMethod method = QuantMethod.fromPlan(job.getPlan().getMethod());
        if (method.statistics() == QuantMethod.Statistics.NONE) {
            throw new PermanentStageException(ReasonCodes.UNSUPPORTED_METHOD, "method " + method
                + " needs no calibration; the job should have gone to " + method.topic().name());
        }
        if (job.getInputs().getCalibration() == null) {
            throw new PermanentStageException(ReasonCodes.MISSING_INPUT, "method " + method
                + " calibrates, and the job has no calibration data");
        }
        ctx.status(JobStates.RUNNING, 0.0, switch (method.statistics()) {
            case LAYER_INPUTS -> "collecting layer-input statistics for " + method.wireName().toUpperCase();
            case CHANNEL_ABS_MAX -> "collecting per-channel activation maxima (SmoothQuant)";
            default -> "calibrating activations (" + recipe.getCalibrator() + ")";
        });

        byte[] modelBytes = Artifacts.load(store, job.getInputs().getModel(), "the model");
        OnnxModel model = Artifacts.parseModel(modelBytes);
        NpzArchive data = Artifacts.read(store, job.getInputs().getCalibration(), "calibration data",
            ReasonCodes.INVALID_DATASET, bytes -> NpzArchive.read(new ByteArrayInputStream(bytes)), DatasetException.class);

        switch (method.statistics()) {
            case LAYER_INPUTS -> calibrateLlm(job, method, modelBytes, data, ctx);
            case CHANNEL_ABS_MAX -> calibrateSmoothing(job, method, model, modelBytes, data, ctx);
            case ACTIVATION_RANGES -> calibrateRanges(job, method, model, modelBytes, data, ctx);
            case NONE -> throw new IllegalStateException("checked above");
        }
    }

    /** Static INT8: streaming activation ranges of every tensor the quantizer (and its retries) may need. */
    private void calibrateRanges(JobContext job, QuantMethod method, OnnxModel model, byte[] modelBytes, NpzArchive data,
                                 StageContext ctx) throws Exception {
        Recipe recipe = job.getPlan().getRecipe();
        List<String> tensors = tensorsFor(method, model, recipe);
        CalibrationOptions options = CalibrationOptions.defaults()
            .withBatchSize(config.batchSize())
            .withIntraOpThreads(config.intraOpThreads())
            .withMaxSamples(recipe.getCalibrationSamples())
            .withCalibrator(recipe.getCalibrator())
            .withOutlierSummary(true)
            .withPerChannel(recipe.getPerChannelActivations());
        ActivationStatistics stats;
        long started = System.nanoTime();
        int[] lastReported = {-1};
        try {
            stats = CalibrationRunner.run(modelBytes, tensors, data, options, (done, total) -> {
                int decile = total == 0 ? 10 : done * 10 / total;
                if (decile != lastReported[0]) {
                    lastReported[0] = decile;
                    ctx.status(JobStates.RUNNING, total == 0 ? 1.0 : (double) done / total,
                        "calibrated " + done + "/" + total + " samples");
                }
            });
        } catch (DatasetException e) {
            throw new PermanentStageException(ReasonCodes.DATASET_MISMATCH, "calibration data: " + e.getMessage(), e);
        } catch (CalibrationException e) {
            throw new PermanentStageException(ReasonCodes.CALIBRATION_FAILED, e.getMessage()
                + " (if inputs contain NaN/Inf or extreme values, normalize them, e.g. to [0, 1], before calibrating)", e);
        } catch (IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST, e.getMessage(), e);
        } catch (ModelRunException e) {
            throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, e.getMessage(), e);
        }
        LOG.infof("job %s attempt %d: %d tensors calibrated on %d samples in %.1f s", ctx.jobId(), ctx.attempt(),
            stats.ranges().size(), stats.samples(), (System.nanoTime() - started) / 1e9);

        var statsRef = store.put(ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), Stages.CALIBRATION, "statistics.json"),
            stats.toJson(), "application/json");
        ctx.publish(method.topic(), QuantizeRequested.newBuilder()
            .setHeader(ctx.header("quantize", ctx.attempt()))
            .setContext(job)
            .setStatistics(statsRef)
            .build());
        ctx.status(JobStates.RUNNING, 1.0, "calibration done (" + stats.calibrator() + "): " + stats.ranges().size()
            + " tensors, " + stats.samples() + " samples");
    }

    /**
     * Dynamic INT8 with calibration data: the per-channel {@code max |x|} of every weight-MatMul input, which
     * SmoothQuant uses to move activation outliers into the weights before quantizing (quantizer-dynamic).
     */
    private void calibrateSmoothing(JobContext job, QuantMethod method, OnnxModel model, byte[] modelBytes, NpzArchive data,
                                    StageContext ctx)
        throws Exception {
        List<String> tensors = dev.quantflow.quant.dynamic.SmoothQuant.smoothableInputs(model);
        java.util.Map<String, float[]> absMax;
        try {
            absMax = CalibrationRunner.channelAbsMax(modelBytes, tensors, data, CalibrationOptions.defaults()
                .withBatchSize(config.batchSize()).withIntraOpThreads(config.intraOpThreads())
                .withMaxSamples(job.getPlan().getRecipe().getCalibrationSamples()), (done, total) -> { });
        } catch (DatasetException e) {
            throw new PermanentStageException(ReasonCodes.DATASET_MISMATCH, "calibration data: " + e.getMessage(), e);
        } catch (CalibrationException e) {
            throw new PermanentStageException(ReasonCodes.CALIBRATION_FAILED, e.getMessage(), e);
        } catch (ModelRunException e) {
            throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, e.getMessage(), e);
        }
        var statsRef = store.put(ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), Stages.CALIBRATION, "channel-absmax.json"),
            new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(absMax), "application/json");
        ctx.publish(method.topic(), QuantizeRequested.newBuilder()
            .setHeader(ctx.header("quantize", ctx.attempt()))
            .setContext(job)
            .setStatistics(statsRef)
            .build());
        ctx.status(JobStates.RUNNING, 1.0, "calibration done: per-channel activation maxima of " + absMax.size()
            + " MatMul inputs (for SmoothQuant)");
    }

    /**
     * The LLM path: run the token windows through the fp32 model and accumulate, per MatMul input, {@code XᵀX},
     * the mean |x| per channel and a sample of rows. Stored as one binary artifact the GPTQ/AWQ pools read.
     */
    private void calibrateLlm(JobContext job, QuantMethod method, byte[] modelBytes, NpzArchive data, StageContext ctx)
        throws Exception {
        long started = System.nanoTime();
        int[] lastReported = {-1};
        LlmCalibrationResult result;
        try {
            result = LlmCalibration.run(modelBytes, data, LlmCalibrationOptions.defaults()
                .withIntraOpThreads(config.intraOpThreads()), (done, total) -> {
                    int decile = total == 0 ? 10 : done * 10 / total;
                    if (decile != lastReported[0]) {
                        lastReported[0] = decile;
                        ctx.status(JobStates.RUNNING, total == 0 ? 1.0 : (double) done / total,
                            "layer-input statistics: " + done + "/" + total + " windows");
                    }
                });
        } catch (DatasetException e) {
            throw new PermanentStageException(ReasonCodes.DATASET_MISMATCH, "calibration data: " + e.getMessage(), e);
        } catch (ModelRunException e) {
            throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST, e.getMessage(), e);
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        result.artifact().write(out);
        LOG.infof("job %s attempt %d: LLM statistics of %d tensors over %d tokens in %.1f s (%d bytes)", ctx.jobId(),
            ctx.attempt(), result.stats().size(), result.tokens(), (System.nanoTime() - started) / 1e9, out.size());
        var statsRef = store.put(ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), Stages.CALIBRATION, "layer-inputs.bin"),
            out.toByteArray(), "application/octet-stream");
        ctx.publish(method.topic(), QuantizeRequested.newBuilder()
            .setHeader(ctx.header("quantize", ctx.attempt()))
            .setContext(job)
            .setStatistics(statsRef)
            .build());
        ctx.status(JobStates.RUNNING, 1.0, "calibration done: layer-input statistics of " + result.stats().size()
            + " MatMul inputs over " + result.tokens() + " tokens");
    }

    /**
     * What the static quantizer needs for this recipe, plus every other float activation: the debug loop may send
     * the job straight back to the quantizer with more nodes kept in fp32, and such a recipe needs ranges of tensors
     * the first one did not (the output of a node that turned fp32 feeding a quantized one). Statistics stream, so
     * observing more tensors costs time, not memory per sample.
     */
    static List<String> tensorsFor(QuantMethod method, OnnxModel model, Recipe recipe) {
        Set<String> tensors = new LinkedHashSet<>();
        if (method.family() == QuantMethod.Family.STATIC_PTQ) {
            var staticRecipe = new StaticQuantRecipe(new HashSet<>(recipe.getExcludedNodes()), recipe.getPerChannelWeights(),
                "int8".equalsIgnoreCase(recipe.getActivationType()) ? ActivationType.INT8 : ActivationType.UINT8);
            // every candidate graph the static pool may time on its CPU (StaticRecipeTuner), not just this recipe's
            tensors.addAll(dev.quantflow.runtime.tune.StaticRecipeTuner.tensorsToCalibrate(model, staticRecipe));
        }
        tensors.addAll(CalibrationRunner.allFloatActivations(model));
        return List.copyOf(tensors);
    }
}
