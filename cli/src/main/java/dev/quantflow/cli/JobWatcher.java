package dev.quantflow.cli;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Follows a job to a terminal state, handing each status event once to a {@link ProgressView} (bars per stage on a
 * terminal, one line per event otherwise, nothing with {@code --quiet}). It listens to the server-sent events
 * stream; if the stream cannot be opened or drops before a terminal state, it polls {@code GET /api/jobs/{id}}
 * once a second and prints the history entries it has not shown yet.
 */
final class JobWatcher {

    static final Set<String> TERMINAL = Set.of("READY", "FAILED");

    private final IntakeClient client;
    private final ProgressView progress;
    private final Duration timeout;
    private final Duration pollInterval;
    private final Set<String> shown = new HashSet<>();

    JobWatcher(IntakeClient client, ProgressView progress, Duration timeout, Duration pollInterval) {
        this.client = client;
        this.progress = progress;
        this.timeout = timeout;
        this.pollInterval = pollInterval;
    }

    /** Returns the job ({@code GET /api/jobs/{id}}) once it is READY or FAILED; the view is closed either way. */
    JsonNode await(String jobId) {
        try {
            return follow(jobId);
        } finally {
            progress.close();
        }
    }

    private JsonNode follow(String jobId) {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean streamedToEnd = client.followEvents(jobId, event -> {
            show(event);
            return TERMINAL.contains(Json.text(event, "state"));
        });
        // Confirm with the job resource whether or not the stream saw the end; poll while it is not terminal.
        boolean first = true;
        while (true) {
            JsonNode job = client.job(jobId);
            for (JsonNode entry : job.path("history")) {
                if (first && streamedToEnd) {
                    shown.add(key(entry)); // the stream already showed these, maybe with other fields set
                } else {
                    show(entry);
                }
            }
            first = false;
            if (TERMINAL.contains(Json.text(job, "state"))) {
                return job;
            }
            if (System.nanoTime() > deadline) {
                throw new CliException("job " + jobId + " is still " + Json.text(job, "state") + " after "
                    + timeout.toMinutes() + " min; it keeps running: follow it with 'quantflow status " + jobId + "'");
            }
            try {
                Thread.sleep(pollInterval.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException("interrupted");
            }
        }
    }

    private void show(JsonNode event) {
        if (shown.add(key(event))) {
            progress.show(event);
        }
    }

    private static String key(JsonNode event) {
        return String.join("|", String.valueOf(Json.text(event, "at")), String.valueOf(Json.text(event, "stage")),
            String.valueOf(Json.text(event, "state")), String.valueOf(Json.text(event, "attempt")),
            String.valueOf(Json.text(event, "progress")), String.valueOf(Json.text(event, "message")));
    }
}
