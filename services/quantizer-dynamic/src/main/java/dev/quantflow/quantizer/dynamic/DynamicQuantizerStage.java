package dev.quantflow.quantizer.dynamic;

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
import dev.quantflow.quant.dynamic.DynamicQuantRecipe;
import dev.quantflow.quant.dynamic.DynamicQuantizationResult;
import dev.quantflow.quant.dynamic.DynamicQuantizer;
import dev.quantflow.quant.dynamic.SmoothQuant;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaRecipe;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.quant.qdq.NodeDecision;

/**
 * The dynamic PTQ pool (the NLP path): INT8 weights per output channel, activations quantized at run time, for
 * MatMul/Gemm with constant weights. Needs no calibration data. The weight range (7-bit only on x86 without VNNI)
 * follows the recipe's {@code targetHardwareClass}, else this host's CPU ({@link IsaRecipe}).
 */
@ApplicationScoped
public class DynamicQuantizerStage extends QuantizerStage {

    private static final Logger LOG = Logger.getLogger(DynamicQuantizerStage.class);
    static final String MODEL_FILE = "model.int8.onnx";

    private final DynamicQuantizer quantizer = new DynamicQuantizer();

    public DynamicQuantizerStage() {
        super(QuantMethod.DYNAMIC);
    }

    @Override
    protected void quantize(QuantizeRequested event, Accepted job, StageContext ctx) throws Exception {
        IsaRecipe isa = isaRecipe(job.recipe(), CpuFeatures.host());
        ctx.status(JobStates.RUNNING, 0.0, "quantizing to INT8 (dynamic"
            + (event.getStatistics() != null ? ", SmoothQuant α=" + SmoothQuant.DEFAULT_ALPHA + ")" : ")")
            + job.keptFp32()
            + "; " + isa.headline());
        Fp32Model fp32 = loadModel(job.context());
        OnnxModel model = fp32.model();
        DynamicQuantRecipe dynamicRecipe = toDynamicRecipe(job.recipe(), isa);
        if (event.getStatistics() != null) {
            dynamicRecipe = dynamicRecipe.withSmoothing(Artifacts.read(store, event.getStatistics(),
                "the per-channel activation maxima", ReasonCodes.ARTIFACT_CORRUPT, DynamicQuantizerStage::channelAbsMax,
                java.io.IOException.class), SmoothQuant.DEFAULT_ALPHA);
        }
        DynamicQuantizationResult result;
        try {
            result = quantizer.quantize(model, dynamicRecipe);
        } catch (QuantizationException e) {
            throw new PermanentStageException(ReasonCodes.QUANTIZATION_FAILED, e.getMessage(), e);
        }
        byte[] quantized = result.model().toByteArray();
        long quantizedCount = result.decisions().stream().filter(NodeDecision::quantized).count();
        LOG.infof("job %s attempt %d: %d nodes quantized dynamically, %d -> %d bytes", ctx.jobId(), ctx.attempt(),
            quantizedCount, fp32.bytes().length, quantized.length);
        QuantizerOutputs.publish(ctx, store, job.context(), null, quantized, MODEL_FILE,
            withSmoothing(summary(result, job.recipe().getExclusionReasons(), fp32.bytes().length, quantized.length),
                event.getStatistics() != null, dynamicRecipe.smoothing() ? dynamicRecipe.smoothingChannelAbsMax().size() : 0)
                .withIsa(isaSummary(isa)),
            "quantized " + quantizedCount + " nodes to INT8 (dynamic)");
    }

    /**
     * The ISA-dependent decisions: the weight range for the recipe's {@code targetHardwareClass}, else for
     * {@code host} (the recipe's {@code reduceRangeWeights} wins where set). Activations are u8 whatever the ISA: the
     * recipe's activation type does not apply here.
     *
     * @throws PermanentStageException INVALID_REQUEST for an unknown class
     */
    static IsaRecipe isaRecipe(Recipe recipe, CpuFeatures host) {
        try {
            return IsaRecipe.resolve(recipe.getTargetHardwareClass(), recipe.getReduceRangeWeights(), host)
                .withActivationType(ActivationType.UINT8, "u8 activations: dynamic quantization computes them at run "
                    + "time with DynamicQuantizeLinear, whose output is uint8 on every ISA");
        } catch (IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST, e.getMessage(), e);
        }
    }

    static DynamicQuantRecipe toDynamicRecipe(Recipe recipe, IsaRecipe isa) {
        return DynamicQuantRecipe.defaults().withExcludedNodes(new java.util.HashSet<>(recipe.getExcludedNodes()))
            .withReduceRangeWeights(isa.reduceRangeWeights());
    }

    static IsaSummary isaSummary(IsaRecipe isa) {
        return new IsaSummary(isa.isaClass().id(), isa.source(), isa.cpuModel(), isa.flags(), isa.weightBits(),
            IsaSummary.symmetricRange(isa.weightMax()), "uint8", isa.headline(), isa.reasons());
    }

    /**
     * Records SmoothQuant in the summary whenever calibration statistics came with the job: alpha and how many MatMul
     * inputs had statistics (0 when the model has no MatMul with a constant weight, e.g. a Gemm classifier head).
     */
    private static QuantizationSummary withSmoothing(QuantizationSummary summary, boolean statisticsGiven, int tensors) {
        return statisticsGiven
            ? summary.withSmoothQuant(new QuantizationSummary.SmoothQuant(SmoothQuant.DEFAULT_ALPHA, tensors)) : summary;
    }

    /** The calibration stage's {@code channel-absmax.json}: MatMul input tensor → max |x| per channel. */
    static Map<String, float[]> channelAbsMax(byte[] json) throws java.io.IOException {
        return new com.fasterxml.jackson.databind.ObjectMapper().readValue(json,
            new com.fasterxml.jackson.core.type.TypeReference<java.util.LinkedHashMap<String, float[]>>() { });
    }

    static QuantizationSummary summary(DynamicQuantizationResult result, Map<String, String> reasons, long fp32Bytes,
                                       long quantizedBytes) {
        return QuantizationSummary.nodes(fp32Bytes, quantizedBytes,
            result.decisions().stream().filter(NodeDecision::quantized)
                .map(d -> dev.quantflow.contracts.NodeDecision.of(d.node(), d.opType(), true, d.reason())).toList(),
            result.decisions().stream().filter(d -> !d.quantized())
                .map(d -> dev.quantflow.contracts.NodeDecision.of(d.node(), d.opType(), false,
                    reasons.getOrDefault(d.node(), d.reason())))
                .toList());
    }
}
