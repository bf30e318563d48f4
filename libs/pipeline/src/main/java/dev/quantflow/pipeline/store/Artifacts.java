package dev.quantflow.pipeline.store;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;

/** Artifact reads for stage handlers: a missing or corrupt artifact fails the job; a transient error is retried. */
public final class Artifacts {

    private Artifacts() {
    }

    /**
     * @param what what the artifact is, for the failure message ("the calibration statistics")
     * @throws PermanentStageException ARTIFACT_MISSING / ARTIFACT_CORRUPT
     * @throws StoreException when the store is unreachable (the worker retries)
     */
    public static byte[] load(ArtifactStore store, ArtifactRef ref, String what) throws StoreException {
        if (ref == null) {
            throw new PermanentStageException(ReasonCodes.ARTIFACT_MISSING, what + " is missing from the event");
        }
        try {
            return store.get(ref);
        } catch (StoreException e) {
            if (e.notFound()) {
                throw new PermanentStageException(ReasonCodes.ARTIFACT_MISSING,
                    what + " (" + ref.getBucket() + "/" + ref.getKey() + ") is not in the artifact store");
            }
            if (!e.retriable()) {
                throw new PermanentStageException(ReasonCodes.ARTIFACT_CORRUPT, what + ": " + e.getMessage());
            }
            throw e;
        }
    }

    /**
     * Parses model bytes a stage loaded.
     *
     * @throws PermanentStageException INVALID_MODEL with the parser's reason
     */
    public static OnnxModel parseModel(byte[] bytes) {
        try {
            return OnnxModel.parse(bytes);
        } catch (OnnxFormatException e) {
            throw new PermanentStageException(ReasonCodes.INVALID_MODEL, e.getMessage(), e);
        }
    }
}
