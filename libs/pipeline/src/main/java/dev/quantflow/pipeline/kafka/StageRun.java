package dev.quantflow.pipeline.kafka;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * One stage run (one event worked on by one stage), as the worker notes it in the store at
 * {@code jobs/<job>/stages/<group>/<eventId>.json}: first when the stage hands its output on (its first non-status
 * publish, so the next stage's reader finds it), then again when the run ends. The exporter puts them into the
 * report ({@code stages}).
 *
 * @param service      the service (producer name) that ran it
 * @param attempt      the job's attempt
 * @param startedAt    ISO-8601 instant
 * @param seconds      wall time so far / of the run
 * @param peakRssBytes peak resident memory of the worker process during the run ({@code VmHWM}, reset at its start);
 *                     -1 when unknown (not Linux)
 * @param outcome      {@code running} (noted at hand-off), {@code ok}, {@code failed}, {@code abandoned}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record StageRun(String stage, String group, String service, int attempt, String eventId, String startedAt,
                       double seconds, long peakRssBytes, String outcome) {

    public static final String RUNNING = "running";
    public static final String OK = "ok";
    public static final String FAILED = "failed";
    public static final String ABANDONED = "abandoned";

    public StageRun withOutcome(String o) {
        return new StageRun(stage, group, service, attempt, eventId, startedAt, seconds, peakRssBytes, o);
    }
}
