package dev.quantflow.quantizer.dynamic;

import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

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
import dev.quantflow.pipeline.stages.QuantizerOutputs;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.dynamic.DynamicQuantRecipe;
import dev.quantflow.quant.dynamic.DynamicQuantizationResult;
import dev.quantflow.quant.dynamic.DynamicQuantizer;
import dev.quantflow.quant.qdq.NodeDecision;

/**
 * The dynamic PTQ pool (the NLP path): INT8 weights per output channel, activations quantized at run time, for
 * MatMul/Gemm with constant weights. Needs no calibration data.
 */
@ApplicationScoped
public class DynamicQuantizerStage implements StageHandler<QuantizeRequested> {

    private static final Logger LOG = Logger.getLogger(DynamicQuantizerStage.class);
    static final String MODEL_FILE = "model.int8.onnx";

    @Inject
    ArtifactStore store;

    private final DynamicQuantizer quantizer = new DynamicQuantizer();

    @Override
    public Binding<QuantizeRequested> binding() {
        return new Binding<>(Topics.QUANTIZE_DYNAMIC, Stages.QUANTIZE, "quantizer-dynamic");
    }

    @Override
    public void handle(QuantizeRequested event, StageContext ctx) throws Exception {
        JobContext job = event.getContext();
        Recipe recipe = job.getPlan().getRecipe();
        ctx.status(JobStates.RUNNING, 0.0, "quantizing to INT8 (dynamic)"
            + (recipe.getExcludedNodes().isEmpty() ? "" : ", keeping " + recipe.getExcludedNodes().size() + " node(s) fp32"));
        byte[] modelBytes = Artifacts.load(store, job.getInputs().getModel(), "the model");
        OnnxModel model = Artifacts.parseModel(modelBytes);
        DynamicQuantizationResult result;
        try {
            result = quantizer.quantize(model, DynamicQuantRecipe.defaults().withExcludedNodes(
                new java.util.HashSet<>(recipe.getExcludedNodes())));
        } catch (QuantizationException e) {
            throw new PermanentStageException(ReasonCodes.QUANTIZATION_FAILED, e.getMessage(), e);
        }
        byte[] quantized = result.model().toByteArray();
        long quantizedCount = result.decisions().stream().filter(NodeDecision::quantized).count();
        LOG.infof("job %s attempt %d: %d nodes quantized dynamically, %d -> %d bytes", ctx.jobId(), ctx.attempt(),
            quantizedCount, modelBytes.length, quantized.length);
        QuantizerOutputs.publish(ctx, store, job, null, quantized, MODEL_FILE,
            summary(result, recipe.getExclusionReasons(), modelBytes.length, quantized.length),
            "quantized " + quantizedCount + " nodes to INT8 (dynamic)");
    }

    static Map<String, Object> summary(DynamicQuantizationResult result, Map<String, String> reasons, long fp32Bytes,
                                       long quantizedBytes) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("fp32SizeBytes", fp32Bytes);
        m.put("quantizedSizeBytes", quantizedBytes);
        m.put("quantizedNodes", result.decisions().stream().filter(NodeDecision::quantized).toList());
        m.put("keptFloatNodes", result.decisions().stream().filter(d -> !d.quantized())
            .map(d -> reasons.containsKey(d.node()) ? new NodeDecision(d.node(), d.opType(), false, reasons.get(d.node())) : d)
            .toList());
        return m;
    }
}
