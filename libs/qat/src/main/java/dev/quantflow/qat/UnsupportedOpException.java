package dev.quantflow.qat;

/**
 * The model holds an operator (or an operator form) the QAT engine has no gradient for. Raised while the training
 * graph is built, before any step runs; a permanent error (retrying the same model cannot succeed).
 */
public class UnsupportedOpException extends RuntimeException {

    public UnsupportedOpException(String message) {
        super(message);
    }
}
