package dev.quantflow.runtime.prepare;

/**
 * A model cannot be prepared: an op the upgrade does not know, inputs that cannot be synthesized, or a prepared
 * model that does not compute what the original does (the message carries the numbers). Permanent for a given model.
 */
public class ModelPreparationException extends RuntimeException {
    public ModelPreparationException(String message) {
        super(message);
    }

    public ModelPreparationException(String message, Throwable cause) {
        super(message, cause);
    }
}
