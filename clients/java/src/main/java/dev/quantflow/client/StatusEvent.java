package dev.quantflow.client;

import java.time.Instant;

/**
 * One entry of a job's progress, as intake's {@code GET /api/jobs/{id}/events} stream sends it.
 *
 * @param jobState ACCEPTED, RUNNING, READY or FAILED
 * @param stage    intake, calibration, quantize, validation or export
 * @param state    the stage's state: ACCEPTED, RUNNING, STAGE_DONE, RETRYING, READY or FAILED
 * @param progress 0..1 within the stage
 */
public record StatusEvent(String jobId, String jobState, Instant at, String stage, String state, int attempt,
                          double progress, String message) {

    public boolean terminal() {
        return "READY".equals(state) || "FAILED".equals(state);
    }
}
