package dev.quantflow.pipeline;

/**
 * A failure that retrying cannot fix (bad model, bad data, unsupported op, target missed with no retry left). The
 * stage worker turns it into a {@code JobFailed} event at once, with the reason code and the message for the user.
 */
public class PermanentStageException extends RuntimeException {

    private final String reasonCode;

    public PermanentStageException(String reasonCode, String message) {
        super(message);
        this.reasonCode = reasonCode;
    }

    public PermanentStageException(String reasonCode, String message, Throwable cause) {
        super(message, cause);
        this.reasonCode = reasonCode;
    }

    public String reasonCode() {
        return reasonCode;
    }
}
