package dev.quantflow.client;

/**
 * A refusal or failure with a stable code and a reason a person can act on. Intake's {@code {"error", "reason"}}
 * answers become one of these with the HTTP status; the client's own checks (a download whose sha256 or size does not
 * match, an unreachable server) use the codes listed on {@link #code()}.
 */
public class QuantflowException extends RuntimeException {

    /** A downloaded artifact's sha256 or size differs from what intake announced. */
    public static final String CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH";
    /** Intake, the broker or a download link could not be reached or answered something unreadable. */
    public static final String UNAVAILABLE = "UNAVAILABLE";
    /** The submission cannot be sent this way (e.g. local files over Kafka). */
    public static final String INVALID_REQUEST = "INVALID_REQUEST";

    private final String code;
    private final String reason;
    private final int httpStatus;

    public QuantflowException(String code, String reason, int httpStatus) {
        this(code, reason, httpStatus, null);
    }

    public QuantflowException(String code, String reason, int httpStatus, Throwable cause) {
        super(code + ": " + reason, cause);
        this.code = code;
        this.reason = reason;
        this.httpStatus = httpStatus;
    }

    /**
     * Intake's error code ({@code MISSING_INPUT}, {@code INVALID_MODEL}, {@code DATASET_MISMATCH}, {@code UNKNOWN_JOB},
     * …), a job's failure reason code ({@code TARGET_MISSED}, …), or {@link #CHECKSUM_MISMATCH}, {@link #UNAVAILABLE},
     * {@link #INVALID_REQUEST}.
     */
    public String code() {
        return code;
    }

    public String reason() {
        return reason;
    }

    /** The HTTP status of intake's answer; 0 when the error did not come from an HTTP answer. */
    public int httpStatus() {
        return httpStatus;
    }
}
