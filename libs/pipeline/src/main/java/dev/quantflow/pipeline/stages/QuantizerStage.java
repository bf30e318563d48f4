package dev.quantflow.pipeline.stages;

import dev.quantflow.events.JobContext;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.store.Artifacts;
import dev.quantflow.pipeline.store.StoreException;

/**
 * The common start of a quantizer pool: the pool's binding from its method, the check that the job's method is one
 * this pool runs, and the fp32 model as bytes and parsed. The common end is {@link QuantizerOutputs}.
 */
public abstract class QuantizerStage extends ArtifactStage<QuantizeRequested> {

    /** The job's fp32 model: its bytes (for the size in the summary) and the parsed graph. */
    public record Fp32Model(byte[] bytes, OnnxModel model) {
    }

    protected QuantizerStage(QuantMethod poolMethod) {
        super(Bindings.quantizer(poolMethod));
    }

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
