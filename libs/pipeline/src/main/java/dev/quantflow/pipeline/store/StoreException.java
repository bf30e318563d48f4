package dev.quantflow.pipeline.store;

/** An artifact store failure; {@link #retriable()} tells transient (network, 5xx) from permanent (missing, corrupt). */
public class StoreException extends Exception {

    private final boolean retriable;
    private final boolean notFound;

    public StoreException(String message, Throwable cause, boolean retriable) {
        this(message, cause, retriable, false);
    }

    public StoreException(String message, Throwable cause, boolean retriable, boolean notFound) {
        super(message, cause);
        this.retriable = retriable;
        this.notFound = notFound;
    }

    public boolean retriable() {
        return retriable;
    }

    public boolean notFound() {
        return notFound;
    }
}
