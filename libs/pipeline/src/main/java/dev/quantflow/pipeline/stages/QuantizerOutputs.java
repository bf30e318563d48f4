package dev.quantflow.pipeline.stages;

import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreException;

/**
 * The common end of every quantizer pool: store the quantized model and its per-node summary under the attempt's
 * deterministic keys, then hand the job to the validator.
 */
public final class QuantizerOutputs {

    private QuantizerOutputs() {
    }

    /**
     * @param statistics the calibration statistics the model was made from (null for methods that need none)
     * @param fileName   e.g. {@code model.int8.onnx}
     * @param summary    becomes the attempt's {@code summary.json}
     * @param done       the status message
     */
    public static void publish(StageContext ctx, ArtifactStore store, JobContext job, ArtifactRef statistics, byte[] model,
                               String fileName, QuantizationSummary summary, String done) throws StoreException {
        publish(ctx, store, job, statistics, model, fileName, summary, done, null, null);
    }

    /**
     * @param baseline     a reference model the validator measures alongside (e.g. round-to-nearest at the same bits
     *                     for GPTQ/AWQ), or null
     * @param baselineName its file name, e.g. {@code baseline.rtn.onnx}
     */
    public static void publish(StageContext ctx, ArtifactStore store, JobContext job, ArtifactRef statistics, byte[] model,
                               String fileName, QuantizationSummary summary, String done, byte[] baseline, String baselineName)
        throws StoreException {
        ArtifactRef baselineRef = baseline == null ? null
            : store.put(ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), Stages.QUANTIZE, baselineName), baseline, "application/onnx");
        ArtifactRef modelRef = store.put(ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), Stages.QUANTIZE, fileName), model,
            "application/onnx");
        byte[] summaryJson = StageJson.write(summary);
        ArtifactRef summaryRef = store.put(ArtifactKeys.stage(ctx.jobId(), ctx.attempt(), Stages.QUANTIZE, "summary.json"),
            summaryJson, "application/json");
        ctx.publish(Topics.VALIDATION_REQUESTED, ValidationRequested.newBuilder()
            .setHeader(ctx.header("validate", ctx.attempt()))
            .setContext(job)
            .setStatistics(statistics)
            .setQuantizedModel(modelRef)
            .setQuantizationSummary(summaryRef)
            .setBaselineModel(baselineRef)
            .build());
        ctx.status(JobStates.RUNNING, 1.0, done);
    }
}
