package dev.quantflow.intake.supervisor;

/** Where the supervisor's verdicts go: the failed marker, a {@code JobFailed} and a FAILED status. */
public interface JobFailures {

    /**
     * Fails the job unless it is already marked failed (by a stage, or by another intake's supervisor).
     *
     * @return false when it was already marked failed and nothing was published
     */
    boolean fail(JobWatch.Overdue verdict) throws Exception;
}
