package dev.quantflow.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Print a finished job's report: FP32 vs quantized size, latency, accuracy, RAM (exit 1 if the job FAILED).")
final class ReportCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    JobTarget target;

    @ArgGroup(exclusive = true)
    Format format = new Format();

    static final class Format {
        @Option(names = "--json", description = "The report JSON as the API returns it.")
        boolean json;

        @Option(names = "--html", description = "The HTML report.")
        boolean html;
    }

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of stdout.")
    Path output;

    @Override
    public Integer call() {
        IntakeClient client = target.client();
        String text;
        String state;
        if (format.html) {
            text = client.reportHtml(target.jobId);
            state = Json.text(client.job(target.jobId), "state");
        } else {
            // --json prints the report as intake serves it (keys of a newer server included); the table and the
            // exit code read it through the Report record
            JsonNode report = client.report(target.jobId);
            text = format.json ? Json.pretty(report) + "\n" : ReportFormatter.report(report);
            state = ReportFormatter.read(report).state();
        }
        if (output != null) {
            try {
                Files.writeString(output, text, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new CliException("cannot write " + output + ": " + e.getMessage());
            }
            spec.commandLine().getErr().println("wrote " + output);
        } else {
            spec.commandLine().getOut().print(text);
            spec.commandLine().getOut().flush();
        }
        return "FAILED".equals(state) ? ExitCodes.JOB_FAILED : ExitCodes.OK;
    }

    /**
     * After a wait: the report table (or JSON) of a terminal job. A FAILED job may have no report; then its status
     * (message and history) is what is printed. Returns the exit code for the job's state.
     */
    static int printFinal(PrintWriter out, PrintWriter err, IntakeClient client, JsonNode job, boolean json) {
        String jobId = Json.text(job, "jobId");
        boolean failed = "FAILED".equals(Json.text(job, "state"));
        JsonNode report;
        try {
            report = client.report(jobId);
        } catch (CliException noReport) {
            if (!failed) {
                throw noReport;
            }
            report = null;
        }
        if (json) {
            out.println(Json.pretty(report != null ? report : job));
        } else {
            out.println();
            out.print(report != null ? ReportFormatter.report(report) : ReportFormatter.job(job));
        }
        out.flush();
        if (failed) {
            err.println("job " + jobId + " FAILED: " + (Json.text(job, "message") != null ? Json.text(job, "message")
                : "no reason given"));
            err.flush();
            return ExitCodes.JOB_FAILED;
        }
        return ExitCodes.OK;
    }
}
