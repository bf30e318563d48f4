package dev.quantflow.pipeline;

/** A Kafka record whose bytes are not the event the topic carries. Permanent: retrying cannot help. */
public class UndecodableEventException extends RuntimeException {
    public UndecodableEventException(String message) {
        super(message);
    }

    public UndecodableEventException(String message, Throwable cause) {
        super(message, cause);
    }
}
