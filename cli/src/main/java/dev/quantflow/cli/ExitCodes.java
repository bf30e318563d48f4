package dev.quantflow.cli;

/** Exit codes of every quantflow command. */
public final class ExitCodes {

    /** The command did what was asked; a job it waited for or looked at is READY (or still running). */
    public static final int OK = 0;
    /** The job is FAILED. */
    public static final int JOB_FAILED = 1;
    /** The command line was wrong (picocli's usage error code). */
    public static final int USAGE = 2;
    /** Anything else: intake unreachable or answering an error, a cluster that cannot start, a bad download. */
    public static final int ERROR = 3;

    private ExitCodes() {
    }
}
