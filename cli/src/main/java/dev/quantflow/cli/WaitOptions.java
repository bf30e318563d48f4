package dev.quantflow.cli;

import picocli.CommandLine.Option;

/** {@code --wait}, {@code --json}, {@code --timeout} for commands that submit a job. */
final class WaitOptions {

    @Option(names = "--wait", description = "Follow the job live (on a terminal a progress bar per stage with its ETA; "
        + "otherwise one line per status event) and print the report.")
    boolean wait;

    @Option(names = {"-q", "--quiet"}, description = "For scripts: print only the job id; with --wait no progress either, "
        + "then one final line 'JOB_ID READY' or 'JOB_ID FAILED CODE: reason' (exit 1 if FAILED).")
    boolean quiet;

    @Option(names = "--json", description = "Print JSON on stdout only (with --wait: the final report; progress goes to stderr).")
    boolean json;

    @Option(names = "--timeout", paramLabel = "MINUTES", defaultValue = "60",
        description = "With --wait: give up waiting after this long (default ${DEFAULT-VALUE}); the job keeps running.")
    long timeoutMinutes;
}
