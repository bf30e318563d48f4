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
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.kafka.StageHandler;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Runs the fp32 model over the calibration set in batches, collects the activation statistics the job's
 * quantizer needs, stores them and hands the job to that quantizer's pool.
 */
@ApplicationScoped
public class CalibrationStage implements StageHandler<CalibrationRequested> {

    private static final Logger LOG = Logger.getLogger(CalibrationStage.class);

    @Inject
    ArtifactStore store;
    @Inject
    CalibrationConfig config;

    @Override
    public Binding<CalibrationRequested> binding() {
        return new Binding<>(Topics.CALIBRATION_REQUESTED, Stages.CALIBRATION, "calibration");
    }

    @Override
    public void handle(CalibrationRequested event, StageContext ctx) throws Exception {
        JobContext job = event.getContext();
        Recipe recipe = job.getPlan().getRecipe();
        ctx.status(JobStates.RUNNING, 0.0, "calibrating activations (" + recipe.getCalibrator() + ")");

        byte[] modelBytes = Artifacts.load(store, job.getInputs().getModel(), "the model");
        byte[] dataBytes = Artifacts.load(store, job.getInputs().getCalibration(), "the calibration data");
        OnnxModel model = Artifacts.parseModel(modelBytes);
        NpzArchive data;
        try {
            data = NpzArchive.read(new ByteArrayInputStream(dataBytes));
        } catch (DatasetException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_DATASET, "calibration data: " + e.getMessage(), e);
        }

        List<String> tensors = tensorsFor(job.getPlan().getMethod(), model, recipe);
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
        ctx.publish(Topics.quantizeTopic(job.getPlan().getMethod()), QuantizeRequested.newBuilder()
            .setHeader(ctx.header("quantize", ctx.attempt()))
            .setContext(job)
            .setStatistics(statsRef)
            .build());
        ctx.status(JobStates.RUNNING, 1.0, "calibration done (" + stats.calibrator() + "): " + stats.ranges().size()
            + " tensors, " + stats.samples() + " samples");
    }

    /**
     * What the static quantizer needs for this recipe, plus every other float activation: the debug loop may send
     * the job straight back to the quantizer with more nodes kept in fp32, and such a recipe needs ranges of tensors
     * the first one did not (the output of a node that turned fp32 feeding a quantized one). Statistics stream, so
     * observing more tensors costs time, not memory per sample.
     */
    static List<String> tensorsFor(String method, OnnxModel model, Recipe recipe) {
        Set<String> tensors = new LinkedHashSet<>();
        if ("static".equals(method)) {
            var staticRecipe = new StaticQuantRecipe(new HashSet<>(recipe.getExcludedNodes()), recipe.getPerChannelWeights(),
                "int8".equalsIgnoreCase(recipe.getActivationType()) ? ActivationType.INT8 : ActivationType.UINT8);
            tensors.addAll(StaticQdqQuantizer.tensorsToCalibrate(model, staticRecipe));
        }
        tensors.addAll(CalibrationRunner.allFloatActivations(model));
        return List.copyOf(tensors);
    }
}
