package dev.quantflow.cli.local;

/** LocalCluster could not start or stop; the message is written for the person at the terminal. */
public class LocalClusterException extends RuntimeException {

    public LocalClusterException(String message) {
        super(message);
    }

    public LocalClusterException(String message, Throwable cause) {
        super(message, cause);
    }
}
