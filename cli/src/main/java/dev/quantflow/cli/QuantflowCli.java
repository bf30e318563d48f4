package dev.quantflow.cli;

import java.io.PrintWriter;

import dev.quantflow.cli.local.LocalClusterException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code quantflow} command. Each subcommand is its own class; this one wires them, maps failures to one-line
 * messages and exit codes ({@link ExitCodes}), and exits the JVM explicitly (the MinIO SDK's OkHttp threads would
 * otherwise keep it alive for a minute).
 */
@Command(name = "quantflow", mixinStandardHelpOptions = true, versionProvider = QuantflowCli.Version.class,
    description = "Quantize ONNX models: run the platform locally, submit jobs, follow them, fetch the results.",
    subcommands = {UpCommand.class, DownCommand.class, SubmitCommand.class, StatusCommand.class, ReportCommand.class,
        FetchCommand.class, DemoCommand.class, InitCommand.class, CommandLine.HelpCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:success; the job is READY (or still running, for status)",
        "1:the job FAILED",
        "2:wrong command line",
        "3:any other error (intake unreachable or refusing, cluster cannot start, bad download)"})
public final class QuantflowCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line with this process's stdout/stderr; returns the exit code. */
    public static int execute(String... args) {
        return commandLine().execute(args);
    }

    /** The configured picocli CommandLine; tests set their own out/err writers on it. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new QuantflowCli());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (e instanceof CliException cliError) {
                err.println("error: " + cliError.getMessage());
                err.flush();
                return cliError.exitCode();
            }
            if (e instanceof LocalClusterException clusterError) {
                err.println("error: " + clusterError.getMessage());
                err.flush();
                return ExitCodes.ERROR;
            }
            err.println("error: " + (e.getMessage() != null ? e.getMessage() : e.getClass().getName()));
            if (System.getenv("QUANTFLOW_DEBUG") != null) {
                e.printStackTrace(err);
            } else {
                err.println("(set QUANTFLOW_DEBUG=1 for the stack trace)");
            }
            err.flush();
            return ExitCodes.ERROR;
        });
        return cli;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = QuantflowCli.class.getPackage().getImplementationVersion();
            return new String[] {"quantflow " + (version != null ? version : "(development build)")};
        }
    }
}
