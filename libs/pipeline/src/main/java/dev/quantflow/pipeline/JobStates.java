package dev.quantflow.pipeline;

/** Values of {@code JobStatus.state}. READY and FAILED are terminal. */
public final class JobStates {
    public static final String ACCEPTED = "ACCEPTED";
    public static final String RUNNING = "RUNNING";
    public static final String RETRYING = "RETRYING";
    public static final String READY = "READY";
    public static final String FAILED = "FAILED";

    public static boolean terminal(String state) {
        return READY.equals(state) || FAILED.equals(state);
    }

    private JobStates() {
    }
}
