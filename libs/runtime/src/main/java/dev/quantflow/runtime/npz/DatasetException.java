package dev.quantflow.runtime.npz;

/**
 * The data file handed over cannot be used; the message is a sentence the user can act on (what is wrong and how to
 * re-save the data). Permanent: retrying with the same file fails the same way.
 */
public class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
