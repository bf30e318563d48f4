package dev.quantflow.intake.service;

/** A request refused before anything was created: HTTP status, a stable reason code and words for the user. */
public class RejectedInputException extends RuntimeException {

    private final int status;
    private final String code;

    public RejectedInputException(int status, String code, String reason) {
        super(reason);
        this.status = status;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }
}
