package dev.quantflow.quantizer.staticptq;

import java.util.HashSet;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.quantflow.contracts.IsaSummary;
import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.stages.QuantizerOutputs;
import dev.quantflow.pipeline.stages.QuantizerStage;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaRecipe;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.quant.qdq.NodeDecision;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.tune.StaticRecipeTuner;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.quant.qdq.StaticQuantizationResult;

/**
 * The static PTQ pool: INT8 weights (symmetric, per output channel), INT8 activations from the calibrated ranges,
 * in QDQ form that ONNX Runtime fuses into integer kernels. Writes the quantized model and a per-node summary.
 * The weight range (7-bit only on x86 without VNNI) and the activation type (u8, or s8 on arm64 with dotprod/i8mm)
 * follow the recipe's {@code targetHardwareClass}, else this host's CPU ({@link IsaRecipe}).
 */
@ApplicationScoped
public class StaticQuantizerStage extends QuantizerStage {

    private static final Logger LOG = Logger.getLogger(StaticQuantizerStage.class);
    static final String MODEL_FILE = "model.int8.onnx";

    private final StaticQdqQuantizer quantizer = new StaticQdqQuantizer();

    /** Time the candidate graphs per model on this CPU ({@link StaticRecipeTuner}) instead of trusting the threshold. */
    @org.eclipse.microprofile.config.inject.ConfigProperty(name = "quantflow.static.measure-conv-rule",
        defaultValue = "true")
    boolean measureConvRule = true;

    public StaticQuantizerStage() {
        super(QuantMethod.STATIC);
    }

    @Override
    protected void quantize(QuantizeRequested event, Accepted job, StageContext ctx) throws Exception {
        IsaRecipe isa = isaRecipe(job.recipe(), CpuFeatures.host());
        StaticQuantRecipe staticRecipe = toStaticRecipe(job.recipe(), isa);
        ctx.status(JobStates.RUNNING, 0.0, "quantizing to INT8 (static, QDQ)"
            + job.keptFp32()
            + "; " + isa.headline());

        Fp32Model fp32 = loadModel(job.context());
        ActivationStatistics stats = Artifacts.read(store, event.getStatistics(), "the calibration statistics",
            ReasonCodes.ARTIFACT_CORRUPT, ActivationStatistics::fromJson, java.io.UncheckedIOException.class);
        OnnxModel model = fp32.model();
        StaticQuantizationResult result;
        String measured = null;
        try {
            NpzArchive samples = measureConvRule ? timingSamples(job.context(), model, stats, staticRecipe) : null;
            if (samples != null) {
                ctx.status(JobStates.RUNNING, 0.3, "timing the candidate INT8 graphs on this CPU (conv rule)");
                StaticRecipeTuner.Choice choice = StaticRecipeTuner.choose(model, stats, staticRecipe, samples,
                    StaticRecipeTuner.Options.defaults());
                result = choice.result();
                measured = "conv rule measured on this CPU: " + choice.reason();
                LOG.infof("job %s attempt %d: %s", ctx.jobId(), ctx.attempt(), measured);
            } else {
                result = quantizer.quantize(model, stats, staticRecipe);
            }
        } catch (QuantizationException e) {
            throw new PermanentStageException(ReasonCodes.QUANTIZATION_FAILED, e.getMessage(), e);
        }
        byte[] quantized = result.model().toByteArray();
        LOG.infof("job %s attempt %d: %d nodes quantized, %d kept fp32, %d -> %d bytes", ctx.jobId(), ctx.attempt(),
            result.quantizedNodes().size(), result.keptFloatNodes().size(), fp32.bytes().length, quantized.length);
        QuantizerOutputs.publish(ctx, store, job.context(), event.getStatistics(), quantized, MODEL_FILE,
            summary(result.decisions(), job.recipe().getExclusionReasons(), fp32.bytes().length, quantized.length)
                .withIsa(isaSummary(isa, measured)),
            "quantized " + result.quantizedNodes().size() + " nodes to INT8 (" + result.keptFloatNodes().size() + " kept fp32)");
    }

    /**
     * The ISA-dependent decisions: for the recipe's {@code targetHardwareClass}, else for {@code host}; the recipe's
     * own {@code reduceRangeWeights} and {@code activationType} win where set.
     *
     * @throws PermanentStageException INVALID_REQUEST for an unknown class or activation type
     */
    static IsaRecipe isaRecipe(Recipe recipe, CpuFeatures host) {
        try {
            return IsaRecipe.resolve(recipe.getTargetHardwareClass(), recipe.getReduceRangeWeights(),
                recipe.getActivationType(), host);
        } catch (IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST, e.getMessage(), e);
        }
    }

    static StaticQuantRecipe toStaticRecipe(Recipe recipe, IsaRecipe isa) {
        if (!"int8".equalsIgnoreCase(recipe.getWeightType())) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST,
                "static PTQ supports int8 weights, not '" + recipe.getWeightType() + "'");
        }
        return new StaticQuantRecipe(new HashSet<>(recipe.getExcludedNodes()), recipe.getPerChannelWeights(),
            isa.activationType(), isa.reduceRangeWeights());
    }

    static IsaSummary isaSummary(IsaRecipe isa) {
        return isaSummary(isa, null);
    }

    /** The ISA record; {@code measured} (the conv rule's timing on this CPU), when given, is one more reason. */
    static IsaSummary isaSummary(IsaRecipe isa, String measured) {
        List<String> reasons = new java.util.ArrayList<>(isa.reasons());
        if (measured != null) {
            reasons.add(measured);
        }
        return new IsaSummary(isa.isaClass().id(), isa.source(), isa.cpuModel(), isa.flags(), isa.weightBits(),
            IsaSummary.symmetricRange(isa.weightMax()), isa.activationType() == ActivationType.INT8 ? "int8" : "uint8",
            isa.headline(), List.copyOf(reasons));
    }

    /**
     * The first rows of the job's calibration data to time the candidate graphs on ({@link StaticRecipeTuner}: the
     * short-reduction conv rule measured per model on this CPU instead of a fixed threshold), or null when the
     * candidates cannot be built (the statistics lack a tensor an every-conv-int8 graph needs, e.g. a job calibrated
     * before the calibration stage observed them) or the recipe's target class is not this host's (timing here would
     * say nothing about the target).
     */
    private NpzArchive timingSamples(JobContext job, OnnxModel model, ActivationStatistics stats,
                                     StaticQuantRecipe recipe) {
        if (!job.getPlan().getRecipe().getTargetHardwareClass().isEmpty() || job.getInputs().getCalibration() == null
            || StaticRecipeTuner.candidates(recipe).size() < 2) {
            return null;
        }
        for (String t : StaticRecipeTuner.tensorsToCalibrate(model, recipe)) {
            if (stats.range(t).isEmpty()) {
                return null;
            }
        }
        List<String> inputs = model.inputs().stream().map(OnnxModel.ValueInfo::name).toList();
        try (java.io.InputStream in = new java.io.ByteArrayInputStream(store.get(job.getInputs().getCalibration()))) {
            NpzArchive head = NpzArchive.readHead(in, inputs, StaticRecipeTuner.Options.defaults().batch());
            return head.names().containsAll(inputs) ? head : null;
        } catch (java.io.IOException | dev.quantflow.pipeline.store.StoreException | RuntimeException e) {
            LOG.warnf("conv rule not measured (calibration data unreadable here: %s); using the fixed threshold",
                e.getMessage());
            return null;
        }
    }

    /** Every node's decision; a node the debug loop kept in fp32 carries the loop's reason, not just "excluded". */
    static QuantizationSummary summary(List<NodeDecision> decisions, Map<String, String> exclusionReasons, long fp32Bytes,
                                       long quantizedBytes) {
        return QuantizationSummary.nodes(fp32Bytes, quantizedBytes,
            decisions.stream().filter(NodeDecision::quantized)
                .map(d -> dev.quantflow.contracts.NodeDecision.of(d.node(), d.opType(), true, d.reason())).toList(),
            decisions.stream().filter(d -> !d.quantized())
                .map(d -> dev.quantflow.contracts.NodeDecision.of(d.node(), d.opType(), false,
                    exclusionReasons.getOrDefault(d.node(), d.reason())))
                .toList());
    }
}
