package dev.quantflow.intake.supervisor;

import java.time.Clock;
import java.time.Duration;
import java.util.function.BooleanSupplier;

import org.jboss.logging.Logger;

/**
 * One supervision round: every job {@link JobWatch#overdue overdue} at the clock's time is failed through
 * {@link JobFailures}, with {@code DEADLINE_EXCEEDED} (past {@code timeBudgetSeconds}) or {@code STAGE_LOST} (its
 * working stage silent for longer than the lease). Nothing happens until {@code ready} (the projection has read
 * what was on Kafka at start-up), so a restarted intake does not fail jobs whose end it has not read yet.
 */
public final class Supervisor {

    private static final Logger LOG = Logger.getLogger(Supervisor.class);

    private final JobWatch watch;
    private final JobFailures failures;
    private final Clock clock;
    private final Duration lease;
    private final BooleanSupplier ready;

    public Supervisor(JobWatch watch, JobFailures failures, Clock clock, Duration lease, BooleanSupplier ready) {
        this.watch = watch;
        this.failures = failures;
        this.clock = clock;
        this.lease = lease;
        this.ready = ready;
    }

    /** Runs one round; returns how many jobs it failed. Never throws (it runs on a schedule). */
    public int check() {
        if (!ready.getAsBoolean()) {
            return 0;
        }
        int failed = 0;
        for (JobWatch.Overdue o : watch.overdue(clock.instant(), lease)) {
            try {
                if (failures.fail(o)) {
                    failed++;
                    LOG.warnf("supervisor failed job %s: %s %s", o.jobId(), o.reasonCode(), o.reason());
                } else {
                    LOG.infof("job %s is already marked failed; the supervisor leaves it", o.jobId());
                }
                watch.failed(o.jobId());
            } catch (Exception e) {
                LOG.warnf("supervisor could not fail job %s (%s); trying again next round", o.jobId(), e.getMessage());
            }
        }
        return failed;
    }
}
