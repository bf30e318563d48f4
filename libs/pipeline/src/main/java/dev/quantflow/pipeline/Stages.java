package dev.quantflow.pipeline;

/** Stage names used in status events, artifact keys and consumer group ids. */
public final class Stages {
    public static final String INTAKE = "intake";
    public static final String CALIBRATION = "calibration";
    public static final String QUANTIZE = "quantize";
    public static final String VALIDATION = "validation";
    public static final String EXPORT = "export";
    /** Hardware profiling (a side measurement of a model; publishes no job status). */
    public static final String PROFILE = "profile";

    private Stages() {
    }
}
