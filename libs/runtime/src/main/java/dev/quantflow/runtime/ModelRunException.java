package dev.quantflow.runtime;

/**
 * ONNX Runtime refused to load or run a model (unsupported operator, malformed graph, shape error at run time).
 * Permanent for a given model and data: the message carries ONNX Runtime's own explanation.
 */
public class ModelRunException extends RuntimeException {
    public ModelRunException(String message, Throwable cause) {
        super(message, cause);
    }
}
