package dev.quantflow.pipeline.stages;

import dev.quantflow.events.JobContext;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.pipeline.store.StoreException;

/**
 * The common start of a quantizer pool: the pool's binding from its method, the check that the job's method is one
 * this pool runs (before {@link #quantize}), and the fp32 model as bytes and parsed. The common end is
 * {@link QuantizerOutputs}.
 */
public abstract class QuantizerStage extends ArtifactStage<QuantizeRequested> {

    /** The job's fp32 model: its bytes (for the size in the summary) and the parsed graph. */
    public record Fp32Model(byte[] bytes, OnnxModel model) {
    }

    protected QuantizerStage(QuantMethod poolMethod) {
        super(Bindings.quantizer(poolMethod));
    }

    /**
     * A job this pool runs: its context, the method it asked for and its recipe.
     *
     * @param method one of this pool's methods (fp16 or bf16 on the cast pool)
     */
    public record Accepted(JobContext context, QuantMethod method, Recipe recipe) {

        /** {@code ", keeping N node(s) fp32"} for a status line, or empty when the recipe excludes no node. */
        public String keptFp32() {
            int kept = recipe.getExcludedNodes().size();
            return kept == 0 ? "" : ", keeping " + kept + " node(s) fp32";
        }
    }

    /** Checks the job's method against this pool ({@link #accept}), then {@link #quantize}s. */
    @Override
    public final void handle(QuantizeRequested event, StageContext ctx) throws Exception {
        JobContext job = event.getContext();
        quantize(event, new Accepted(job, accept(job), job.getPlan().getRecipe()), ctx);
    }

    /** The pool's work on a job whose method it runs. */
    protected abstract void quantize(QuantizeRequested event, Accepted job, StageContext ctx) throws Exception;

    /**
     * The job's method, if this pool runs it.
     *
     * @throws dev.quantflow.pipeline.PermanentStageException if the job's method belongs to another pool
     */
    protected QuantMethod accept(JobContext job) {
        return QuantMethod.acceptedOn(binding().topic(), job.getPlan().getMethod());
    }

    /**
     * Loads and parses the job's model.
     *
     * @throws dev.quantflow.pipeline.PermanentStageException ARTIFACT_MISSING / INVALID_MODEL
     * @throws StoreException when the store is unreachable (the worker retries)
     */
    protected Fp32Model loadModel(JobContext job) throws StoreException {
        byte[] bytes = Artifacts.load(store, job.getInputs().getModel(), "the model");
        return new Fp32Model(bytes, Artifacts.parseModel(bytes));
    }
}
