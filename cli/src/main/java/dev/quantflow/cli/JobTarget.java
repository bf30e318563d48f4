package dev.quantflow.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** The options of a command about one job: where intake is, and the job's id. */
final class JobTarget {

    @Mixin
    IntakeOptions intake;

    @Parameters(paramLabel = "JOB", description = "The job id.")
    String jobId;

    IntakeClient client() {
        return intake.client();
    }
}
