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

    /** Turns an artifact's bytes into what a stage works on. */
    @FunctionalInterface
    public interface Parser<T> {
        T parse(byte[] bytes) throws Exception;
    }

    /**
     * Loads an artifact and parses it: the one way stages read datasets and statistics. A parser failure of one of the
     * {@code failures} types (the parser's own "not readable" exceptions) is permanent, with {@code reasonCode} and the message {@code "<what>: <the parser's reason>"};
     * any other runtime exception of the parser passes through unchanged (a bug is not a bad input).
     *
     * @throws StoreException when the store is unreachable (the worker retries)
     */
    @SafeVarargs
    public static <T> T read(ArtifactStore store, ArtifactRef ref, String what, String reasonCode, Parser<T> parser,
                             Class<? extends Exception>... failures) throws StoreException {
        byte[] bytes = load(store, ref, what);
        try {
            return parser.parse(bytes);
        } catch (Exception e) {
            if (java.util.Arrays.stream(failures).anyMatch(f -> f.isInstance(e))) {
                throw new PermanentStageException(reasonCode, what + ": " + e.getMessage(), e);
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(what + ": " + e.getMessage(), e); // a checked exception not listed
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
