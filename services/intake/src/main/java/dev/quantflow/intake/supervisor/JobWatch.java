package dev.quantflow.intake.supervisor;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.avro.specific.SpecificRecord;

import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.ModelReady;
import dev.quantflow.pipeline.Heartbeats;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;

/**
 * What the supervisor knows about each job, built from the events intake's projection reads: its deadline, the stage
 * it is in, whether that stage is working on it, and when the stage was last heard from.
 *
 * <p>Deadline: the {@code until <instant>} of intake's ACCEPTED status (the plan's deadline, from
 * {@code timeBudgetSeconds}); when that status is not seen (compacted away), the job's first event plus the default
 * budget. Working: the stage's last status is RUNNING with progress below 1, or a heartbeat came after it; a stage's
 * last status at progress 1 (handed on), a RETRYING status, or its {@link Heartbeats#DONE} means the job waits for
 * the next stage, where queueing is normal and only the deadline applies. Thread-safe.
 */
public final class JobWatch {

    /** A job the supervisor must fail, with the code, the stage it was in and the reason. */
    public record Overdue(String jobId, int attempt, String stage, String reasonCode, String reason) {
    }

    private static final Pattern UNTIL = Pattern.compile("until (\\S+)$");

    private static final class Watched {
        final Instant firstSeen;
        Instant deadline;
        String stage = Stages.INTAKE;
        int attempt = 1;
        Instant lastHeard;
        boolean working;
        boolean terminal;

        Watched(Instant firstSeen) {
            this.firstSeen = firstSeen;
            this.lastHeard = firstSeen;
        }
    }

    private final Map<String, Watched> jobs = new HashMap<>();
    private final Duration defaultBudget;

    public JobWatch(Duration defaultBudget) {
        this.defaultBudget = defaultBudget;
    }

    /** Takes in one event of any job (status, heartbeat, model-ready, job-failed); other types are ignored. */
    public synchronized void on(SpecificRecord event) {
        switch (event) {
            case JobStatus s -> onStatus(s);
            case JobFailed f -> watched(f.getHeader()).terminal = true;
            case ModelReady r -> watched(r.getHeader()).terminal = true;
            default -> {
            }
        }
    }

    private void onStatus(JobStatus s) {
        EventHeader h = s.getHeader();
        if (Heartbeats.is(s) && !jobs.containsKey(h.getJobId())) {
            return; // a heartbeat of a job intake has not accepted (yet): nothing to supervise
        }
        Watched w = watched(h);
        if (w.terminal) {
            return;
        }
        if (JobStates.terminal(s.getState())) {
            w.terminal = true;
            return;
        }
        if (h.getOccurredAt().isAfter(w.lastHeard)) {
            w.lastHeard = h.getOccurredAt();
        }
        w.attempt = h.getAttempt();
        if (Heartbeats.isDone(s)) {
            if (s.getStage().equals(w.stage)) {
                w.working = false;
            }
            return;
        }
        w.stage = s.getStage();
        if (Heartbeats.is(s)) {
            w.working = true;
            return;
        }
        w.working = JobStates.RUNNING.equals(s.getState()) && s.getProgress() < 1.0;
        if (JobStates.ACCEPTED.equals(s.getState()) && Stages.INTAKE.equals(s.getStage())) {
            Matcher m = UNTIL.matcher(s.getMessage());
            if (m.find()) {
                try {
                    w.deadline = Instant.parse(m.group(1));
                } catch (DateTimeParseException e) {
                    // no deadline in the message: the default budget applies
                }
            }
        }
    }

    private Watched watched(EventHeader h) {
        return jobs.computeIfAbsent(h.getJobId(), id -> new Watched(h.getOccurredAt()));
    }

    /** Jobs to fail at {@code now}: past their deadline (first), or working in a stage silent for longer than {@code lease}. */
    public synchronized List<Overdue> overdue(Instant now, Duration lease) {
        List<Overdue> out = new ArrayList<>();
        for (var e : jobs.entrySet()) {
            Watched w = e.getValue();
            if (w.terminal) {
                continue;
            }
            Instant deadline = w.deadline != null ? w.deadline : w.firstSeen.plus(defaultBudget);
            Duration silent = Duration.between(w.lastHeard, now);
            if (now.isAfter(deadline)) {
                out.add(new Overdue(e.getKey(), w.attempt, w.stage, ReasonCodes.DEADLINE_EXCEEDED,
                    "past its time budget: running for " + human(Duration.between(w.firstSeen, now)) + " since it was"
                        + " accepted, deadline " + deadline.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                        + " (timeBudgetSeconds); " + (w.working ? "it was in stage " + w.stage + ", working"
                            : "it was after stage " + w.stage + ", waiting for the next stage's worker")
                        + ", attempt " + w.attempt));
            } else if (w.working && silent.compareTo(lease) > 0) {
                out.add(new Overdue(e.getKey(), w.attempt, w.stage, ReasonCodes.STAGE_LOST,
                    "stage " + w.stage + " (attempt " + w.attempt + ") sent no status or heartbeat for " + human(silent)
                        + " (lease " + human(lease) + "): its worker died, hangs or lost its connection"));
            }
        }
        return out;
    }

    /** Records that the supervisor failed the job (before its own failure event comes back). */
    public synchronized void failed(String jobId) {
        Watched w = jobs.get(jobId);
        if (w != null) {
            w.terminal = true;
        }
    }

    /** "1h 02m 05s", "5m 00s", "12s". */
    static String human(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s >= 3600) {
            return String.format("%dh %02dm %02ds", s / 3600, s % 3600 / 60, s % 60);
        }
        if (s >= 60) {
            return String.format("%dm %02ds", s / 60, s % 60);
        }
        return s + "s";
    }
}
