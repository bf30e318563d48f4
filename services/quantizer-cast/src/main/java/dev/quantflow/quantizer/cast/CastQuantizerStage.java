package dev.quantflow.quantizer.cast;

import java.util.HashSet;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.contracts.NodeDecision;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.stages.QuantizerOutputs;
import dev.quantflow.pipeline.stages.QuantizerStage;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.cast.CastNodeDecision;
import dev.quantflow.quant.cast.CastQuantizer;
import dev.quantflow.quant.cast.CastRecipe;
import dev.quantflow.quant.cast.CastResult;

/**
 * The FP16/BF16 pool: float weights and computation in half precision, with numerically sensitive ops kept fp32
 * and Casts at the borders. The job's method ({@code fp16} or {@code bf16}) picks the format.
 */
@ApplicationScoped
public class CastQuantizerStage extends QuantizerStage {

    private static final Logger LOG = Logger.getLogger(CastQuantizerStage.class);

    private final CastQuantizer quantizer = new CastQuantizer();

    public CastQuantizerStage() {
        super(QuantMethod.FP16);
    }

    @Override
    protected void quantize(QuantizeRequested event, Accepted job, StageContext ctx) throws Exception {
        CastRecipe base = job.method() == QuantMethod.BF16 ? CastRecipe.bf16() : CastRecipe.fp16();
        ctx.status(JobStates.RUNNING, 0.0, "converting to " + job.method().precisionLabel(16));
        Fp32Model fp32 = loadModel(job.context());
        OnnxModel model = fp32.model();
        CastResult result;
        try {
            result = quantizer.convert(model, base.withExcludedNodes(new HashSet<>(job.recipe().getExcludedNodes())));
        } catch (QuantizationException e) {
            throw new PermanentStageException(ReasonCodes.QUANTIZATION_FAILED, e.getMessage(), e);
        }
        byte[] converted = result.model().toByteArray();
        long lowCount = result.decisions().stream().filter(CastNodeDecision::lowPrecision).count();
        LOG.infof("job %s attempt %d: %d nodes in %s, %d -> %d bytes", ctx.jobId(), ctx.attempt(), lowCount, job.method(),
            fp32.bytes().length, converted.length);
        QuantizationSummary summary = QuantizationSummary.nodes((long) fp32.bytes().length, (long) converted.length,
                result.decisions().stream().filter(CastNodeDecision::lowPrecision).map(CastQuantizerStage::asNode).toList(),
                result.decisions().stream().filter(d -> !d.lowPrecision()).map(CastQuantizerStage::asNode).toList())
            .withWarnings(result.warnings());
        QuantizerOutputs.publish(ctx, store, job.context(), null, converted, "model." + job.method() + ".onnx", summary,
            "converted " + lowCount + " nodes to " + job.method().precisionLabel(16));
    }

    /** The summary's node shape shared with the other pools (node, opType, quantized, reason). */
    static NodeDecision asNode(CastNodeDecision d) {
        return NodeDecision.of(d.node(), d.opType(), d.lowPrecision(), d.reason());
    }
}
