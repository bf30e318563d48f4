package dev.quantflow.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The progress of a job, one bar per stage run (a stage again on a later attempt of the debug loop is a new bar),
 * from its status events. The pipeline runs one stage at a time, so an event of another stage ends the current bar.
 *
 * <p>ETA of a stage: from the first and the latest event of the stage (times as the stages stamped them, progress
 * 0..1), the rate r = (p₁ − p₀) / (t₁ − t₀) and ETA = (1 − p₁) / r; unknown until two events show progress.
 */
final class StageProgress {

    /** The bar of one stage run. {@code fraction} is 0..1; {@code outcome} is null while it runs. */
    static final class Bar {
        final String stage;
        final int attempt;
        double fraction;
        String message = "";
        String outcome;
        private Instant firstAt;
        private double firstFraction;
        private Instant lastAt;

        Bar(String stage, int attempt) {
            this.stage = stage;
            this.attempt = attempt;
        }

        String label() {
            return attempt > 1 ? stage + " #" + attempt : stage;
        }

        boolean done() {
            return outcome != null;
        }

        Optional<Duration> eta() {
            if (done() || firstAt == null || lastAt == null || fraction <= firstFraction) {
                return Optional.empty();
            }
            long elapsedMs = Duration.between(firstAt, lastAt).toMillis();
            if (elapsedMs <= 0) {
                return Optional.empty();
            }
            double perMs = (fraction - firstFraction) / elapsedMs;
            return Optional.of(Duration.ofMillis(Math.round((1.0 - fraction) / perMs)));
        }
    }

    private final List<Bar> bars = new ArrayList<>();

    /** Applies one status event; returns the bar it moved (a new one when the stage or attempt changed). */
    Bar apply(JsonNode event) {
        String stage = orEmpty(Json.text(event, "stage"));
        String state = orEmpty(Json.text(event, "state"));
        int attempt = event.path("attempt").asInt(1);
        Bar bar = current();
        if (bar == null || !bar.stage.equals(stage) || bar.attempt != attempt) {
            if (bar != null && !bar.done()) {
                bar.fraction = 1.0;
                bar.outcome = "done";
            }
            bar = new Bar(stage, attempt);
            bars.add(bar);
        }
        Double p = Json.number(event, "progress");
        double fraction = p == null ? bar.fraction : Math.clamp(p > 1.0 ? p / 100.0 : p, 0.0, 1.0);
        Instant at = instant(Json.text(event, "at"));
        if (at != null && p != null) {
            if (bar.firstAt == null) {
                bar.firstAt = at;
                bar.firstFraction = fraction;
            }
            bar.lastAt = at;
        }
        bar.fraction = Math.max(bar.fraction, fraction);
        bar.message = orEmpty(Json.text(event, "message"));
        switch (state) {
            case "STAGE_DONE", "READY" -> {
                bar.fraction = 1.0;
                bar.outcome = state.equals("READY") ? "ready" : "done";
            }
            case "FAILED" -> bar.outcome = "failed";
            default -> { }
        }
        return bar;
    }

    Bar current() {
        return bars.isEmpty() ? null : bars.get(bars.size() - 1);
    }

    List<Bar> bars() {
        return List.copyOf(bars);
    }

    private static Instant instant(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (RuntimeException notIso) {
            try {
                return Instant.ofEpochMilli(Math.round(Double.parseDouble(text) * 1000));
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }
}
