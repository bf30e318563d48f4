package dev.quantflow.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show a job's state, stage, attempt and history (exit 1 if the job FAILED).")
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    JobTarget target;

    @Option(names = "--json", description = "Print the job JSON as the API returns it.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        JsonNode job = target.client().job(target.jobId);
        out.print(json ? Json.pretty(job) + "\n" : ReportFormatter.job(job));
        out.flush();
        return "FAILED".equals(Json.text(job, "state")) ? ExitCodes.JOB_FAILED : ExitCodes.OK;
    }
}
