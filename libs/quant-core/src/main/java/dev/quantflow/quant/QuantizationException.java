package dev.quantflow.quant;

/**
 * A model, or a recipe applied to it, that cannot be quantized: a permanent error whose message is meant for the
 * user (retrying with the same inputs gives the same failure).
 */
public class QuantizationException extends RuntimeException {

    public QuantizationException(String message) {
        super(message);
    }

    public QuantizationException(String message, Throwable cause) {
        super(message, cause);
    }
}
