package dev.quantflow.cli;

/**
 * A failure the user can act on: printed as one line ({@code error: <message>}), no stack trace, and the process
 * exits with {@link #exitCode()}.
 */
public class CliException extends RuntimeException {

    private final int exitCode;

    public CliException(String message) {
        this(message, ExitCodes.ERROR);
    }

    public CliException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    public CliException(String message, Throwable cause) {
        super(message, cause);
        this.exitCode = ExitCodes.ERROR;
    }

    public int exitCode() {
        return exitCode;
    }
}
