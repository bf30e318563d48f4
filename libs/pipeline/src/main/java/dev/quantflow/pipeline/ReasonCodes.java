package dev.quantflow.pipeline;

/** Stable, machine-readable failure reason codes carried by {@code JobFailed} and 4xx answers. */
public final class ReasonCodes {
    public static final String INVALID_MODEL = "INVALID_MODEL";
    public static final String INVALID_DATASET = "INVALID_DATASET";
    public static final String DATASET_MISMATCH = "DATASET_MISMATCH";
    public static final String INPUT_RANGE_MISMATCH = "INPUT_RANGE_MISMATCH";
    public static final String MISSING_INPUT = "MISSING_INPUT";
    public static final String INVALID_REQUEST = "INVALID_REQUEST";
    public static final String UNSUPPORTED_METHOD = "UNSUPPORTED_METHOD";
    /** The model has an operator the chosen method cannot handle (e.g. no gradient for QAT). */
    public static final String UNSUPPORTED_OP = "UNSUPPORTED_OP";
    public static final String ARTIFACT_MISSING = "ARTIFACT_MISSING";
    public static final String ARTIFACT_CORRUPT = "ARTIFACT_CORRUPT";
    public static final String BAD_EVENT = "BAD_EVENT";
    public static final String CALIBRATION_FAILED = "CALIBRATION_FAILED";
    public static final String QUANTIZATION_FAILED = "QUANTIZATION_FAILED";
    public static final String RUNTIME_ERROR = "RUNTIME_ERROR";
    public static final String TARGET_MISSED = "TARGET_MISSED";
    public static final String STAGE_ERROR = "STAGE_ERROR";
    /** The job ran past its {@code timeBudgetSeconds}; the supervisor (intake) failed it in the stage it was in. */
    public static final String DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED";
    /** The stage working on the job sent no status or heartbeat for longer than its lease (worker gone or stuck). */
    public static final String STAGE_LOST = "STAGE_LOST";
    /** The job's event was delivered to workers that died before finishing it too often (a poison record). */
    public static final String STAGE_CRASHED = "STAGE_CRASHED";
    /** A submit names a store object outside its tenant's own prefix (or a job id without a known tenant). */
    public static final String FORBIDDEN_REFERENCE = "FORBIDDEN_REFERENCE";
    /** The model's declared tensors would need more memory than a worker's budget. */
    public static final String MODEL_TOO_LARGE = "MODEL_TOO_LARGE";

    private ReasonCodes() {
    }
}
