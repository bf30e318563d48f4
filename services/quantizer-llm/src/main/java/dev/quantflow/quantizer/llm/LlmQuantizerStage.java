package dev.quantflow.quantizer.llm;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.quantflow.contracts.NodeDecision;
import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.kafka.StageHandler;
import dev.quantflow.pipeline.stages.QuantizerOutputs;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.llm.LayerInputStats;
import dev.quantflow.quant.llm.LlmNodeDecision;
import dev.quantflow.quant.llm.LlmQuantRecipe;
import dev.quantflow.quant.llm.LlmQuantizationResult;
import dev.quantflow.quant.llm.LlmWeightQuantizer;
import dev.quantflow.runtime.llm.LlmCalibrationArtifact;

/**
 * The 4-bit LLM pools: one app, run as one pool per weight-only method ({@code quantizer-gptq}, {@code quantizer-awq},
 * {@code quantizer-rtn}). The configured method ({@link LlmQuantizerConfig#method()}) picks the binding from the
 * {@link QuantMethod} registry: topic {@code method.topic()}, consumer group {@code method.pool()}. A pool runs its own
 * method only; an event whose plan names another one is a permanent {@code UNSUPPORTED_METHOD} failure, since a
 * misrouted event must not be quantized by the wrong algorithm under the wrong pool's name.
 *
 * <p>The work: read the layer-input statistics the calibration stage stored, quantize every weight MatMul per the
 * job's recipe (bits, block size, symmetric, act-order, damping, layers at 8 bits, layers kept fp32, output graph
 * form), and hand the model to the validator. GPTQ and AWQ jobs also ship a round-to-nearest model at the same bits
 * and block size, which the validator measures alongside so the report shows what the method gained over the baseline.
 */
@ApplicationScoped
public class LlmQuantizerStage implements StageHandler<QuantizeRequested> {

    private static final Logger LOG = Logger.getLogger(LlmQuantizerStage.class);

    private final LlmWeightQuantizer quantizer = new LlmWeightQuantizer();
    private final QuantMethod poolMethod;
    private final ArtifactStore store;
    private final Binding<QuantizeRequested> binding;

    @Inject
    public LlmQuantizerStage(LlmQuantizerConfig config, ArtifactStore store) {
        this(config.method(), store);
    }

    LlmQuantizerStage(QuantMethod poolMethod, ArtifactStore store) {
        if (!poolMethod.isLlm()) {
            throw new IllegalArgumentException("quantflow.llm.method (QUANTFLOW_LLM_METHOD) must be an LLM weight-only "
                + "method (" + String.join(", ", LlmQuantizerConfig.llmMethods()) + "), not '" + poolMethod + "'");
        }
        this.poolMethod = poolMethod;
        this.store = store;
        this.binding = Bindings.quantizer(poolMethod);
    }

    @Override
    public Binding<QuantizeRequested> binding() {
        return binding;
    }

    /** The method this pool runs. */
    public QuantMethod method() {
        return poolMethod;
    }

    @Override
    public void handle(QuantizeRequested event, StageContext ctx) throws Exception {
        JobContext job = event.getContext();
        Recipe recipe = job.getPlan().getRecipe();
        LlmQuantRecipe.Method method = recipeMethod(acceptedMethod(job.getPlan().getMethod()));
        LlmQuantRecipe llmRecipe = toLlmRecipe(method, recipe);
        ctx.status(JobStates.RUNNING, 0.0, String.format("quantizing weights to %d bits with %s, blocks of %d%s",
            llmRecipe.bits(), method, llmRecipe.blockSize(), recipe.getHighPrecisionNodes().isEmpty() ? ""
                : ", " + recipe.getHighPrecisionNodes().size() + " layer(s) at 8 bits"));
        byte[] modelBytes = Artifacts.load(store, job.getInputs().getModel(), "the model");
        OnnxModel model = Artifacts.parseModel(modelBytes);
        Map<String, LayerInputStats> stats = Map.of();
        if (event.getStatistics() != null) {
            stats = Artifacts.read(store, event.getStatistics(), "the layer-input statistics", ReasonCodes.ARTIFACT_CORRUPT,
                bytes -> LlmCalibrationArtifact.read(new ByteArrayInputStream(bytes)).stats(), IOException.class,
                IllegalArgumentException.class);
        } else if (method != LlmQuantRecipe.Method.RTN) {
            throw new PermanentStageException(ReasonCodes.MISSING_INPUT, method + " needs the layer-input statistics of "
                + "the calibration stage; the job reached the quantizer without them");
        }
        long started = System.nanoTime();
        LlmQuantizationResult result = run(model, stats, llmRecipe);
        double seconds = (System.nanoTime() - started) / 1e9;
        byte[] quantized = result.model().toByteArray();
        byte[] baseline = null;
        if (method != LlmQuantRecipe.Method.RTN) {
            ctx.status(JobStates.RUNNING, 0.9, "round-to-nearest baseline at the same bits and block size");
            baseline = run(Artifacts.parseModel(modelBytes), Map.of(), rtn(llmRecipe)).model().toByteArray();
        }
        long quantizedCount = result.decisions().stream().filter(LlmNodeDecision::quantized).count();
        LOG.infof("job %s attempt %d: %s %d-bit, %d MatMuls in %.1f s, %d -> %d bytes", ctx.jobId(), ctx.attempt(), method,
            llmRecipe.bits(), quantizedCount, seconds, modelBytes.length, quantized.length);
        QuantizerOutputs.publish(ctx, store, job, event.getStatistics(), quantized, fileName(llmRecipe),
            summary(result, llmRecipe, modelBytes.length, quantized.length, seconds), "quantized " + quantizedCount
                + " MatMul weights to " + llmRecipe.bits() + " bits (" + method + ")",
            baseline, "baseline.rtn.onnx");
    }

    private LlmQuantizationResult run(OnnxModel model, Map<String, LayerInputStats> stats, LlmQuantRecipe recipe) {
        try {
            return quantizer.quantize(model, stats, recipe);
        } catch (QuantizationException e) {
            throw new PermanentStageException(ReasonCodes.QUANTIZATION_FAILED, e.getMessage(), e);
        }
    }

    /** The same recipe with round-to-nearest: the baseline GPTQ and AWQ are compared with. */
    static LlmQuantRecipe rtn(LlmQuantRecipe r) {
        return new LlmQuantRecipe(LlmQuantRecipe.Method.RTN, r.bits(), r.blockSize(), r.symmetric(), r.actOrder(),
            r.percDamp(), r.format(), r.keepFp32(), r.eightBitNodes(), r.quantizeLmHead(), r.accuracyLevel());
    }

    /**
     * The plan's method when it is this pool's; any other is refused: a known method that belongs to another pool
     * (a misrouted event), and an unknown name ({@link QuantMethod#fromPlan}), both UNSUPPORTED_METHOD.
     */
    QuantMethod acceptedMethod(String planMethod) {
        QuantMethod planned = QuantMethod.fromPlan(planMethod);
        if (planned != poolMethod) {
            throw new PermanentStageException(ReasonCodes.UNSUPPORTED_METHOD, "the " + poolMethod.pool() + " pool runs "
                + poolMethod + " only, but got a job planned for " + planned + " (pool " + planned.pool() + ", topic "
                + planned.topic().name() + ") on " + poolMethod.topic().name());
        }
        return planned;
    }

    static LlmQuantRecipe.Method recipeMethod(QuantMethod method) {
        return switch (method) {
            case GPTQ -> LlmQuantRecipe.Method.GPTQ;
            case AWQ -> LlmQuantRecipe.Method.AWQ;
            case RTN -> LlmQuantRecipe.Method.RTN;
            default -> throw new IllegalArgumentException(method + " is no LLM weight-only method");
        };
    }

    /** The event's recipe as the weight quantizer's recipe. */
    public static LlmQuantRecipe toLlmRecipe(LlmQuantRecipe.Method method, Recipe r) {
        try {
            LlmQuantRecipe.Format format = switch (r.getGraphFormat().toLowerCase()) {
                case "", "matmulnbits" -> LlmQuantRecipe.Format.MATMUL_NBITS;
                case "qdq" -> LlmQuantRecipe.Format.QDQ_BLOCKED;
                default -> throw new PermanentStageException(ReasonCodes.INVALID_REQUEST,
                    "graphFormat must be matmulnbits or qdq; was '" + r.getGraphFormat() + "'");
            };
            return LlmQuantRecipe.of(method)
                .withBits(r.getBits())
                .withBlockSize(r.getBlockSize())
                .withSymmetric(r.getSymmetric())
                .withActOrder(r.getActOrder())
                .withPercDamp(r.getDampPercent())
                .withFormat(format)
                .withKeepFp32(new HashSet<>(r.getExcludedNodes()))
                .withEightBitNodes(new HashSet<>(r.getHighPrecisionNodes()));
        } catch (QuantizationException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_REQUEST, e.getMessage(), e);
        }
    }

    static String fileName(LlmQuantRecipe r) {
        return "model.int" + r.bits() + (r.format() == LlmQuantRecipe.Format.QDQ_BLOCKED ? ".qdq" : "") + ".onnx";
    }

    static QuantizationSummary summary(LlmQuantizationResult result, LlmQuantRecipe recipe, long fp32Bytes,
                                       long quantizedBytes, double seconds) {
        List<LlmNodeDecision> decisions = result.decisions();
        return QuantizationSummary.llm(recipe.method().name().toLowerCase(), recipe.bits(), recipe.blockSize(),
            recipe.symmetric(), recipe.actOrder(), recipe.percDamp(), recipe.format().name().toLowerCase(), seconds, fp32Bytes,
            quantizedBytes, decisions.stream().filter(LlmNodeDecision::quantized).map(LlmQuantizerStage::node).toList(),
            decisions.stream().filter(d -> !d.quantized()).map(LlmQuantizerStage::node).toList());
    }

    private static NodeDecision node(LlmNodeDecision d) {
        return NodeDecision.matMul(d.node(), d.weight(), d.k(), d.n(), d.bits(), d.method(), d.relativeError(),
            d.toNodeDecision().reason());
    }
}
