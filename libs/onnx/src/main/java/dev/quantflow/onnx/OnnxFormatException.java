package dev.quantflow.onnx;

/** The bytes handed over are not a usable ONNX model; the message says why in words a user can act on. */
public class OnnxFormatException extends RuntimeException {
    public OnnxFormatException(String message) {
        super(message);
    }

    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
