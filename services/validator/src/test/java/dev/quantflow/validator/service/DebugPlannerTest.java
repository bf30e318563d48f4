package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.Recipe;
import dev.quantflow.validator.service.DebugPlanner.Decision;
import dev.quantflow.validator.service.DebugPlanner.LayerSensitivity;
import dev.quantflow.validator.service.DebugPlanner.Observations;
import dev.quantflow.validator.service.DebugPlanner.Route;

class DebugPlannerTest {

    static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
    static final List<LayerSensitivity> LAYERS = List.of(new LayerSensitivity("conv1", 31.0),
        new LayerSensitivity("conv2", 18.5), new LayerSensitivity("fc1", 22.0), new LayerSensitivity("fc2", 18.5));

    static Observations obs(Recipe r, int attempt, List<AttemptRecord> history, List<String> outliers, String errorNode) {
        return new Observations(r, "static", attempt, 5, NOW, null, history, LAYERS, outliers, errorNode, 0.26, null,
            List.of());
    }

    static AttemptRecord record(int attempt, Recipe r, String diagnosis) {
        return AttemptRecord.newBuilder().setAttempt(attempt).setRecipe(r).setPassed(false).setDiagnosis(diagnosis).build();
    }

    @Test
    void outliersSendTheJobBackToCalibrationWithTheNextCalibrator() {
        Recipe r = Recipe.newBuilder().build();
        Decision d = DebugPlanner.decide(obs(r, 1, List.of(), List.of("/relu1"), null));
        assertThat(d.route()).isEqualTo(Route.CALIBRATION);
        assertThat(d.recipe().getCalibrator()).isEqualTo("percentile:99.99");
        assertThat(d.diagnosis()).startsWith("calibration issue").contains("/relu1");

        Recipe second = Recipe.newBuilder().setCalibrator("percentile:99.99").build();
        Decision d2 = DebugPlanner.decide(obs(second, 2, List.of(record(1, r, d.diagnosis())), List.of("/relu1"), null));
        assertThat(d2.recipe().getCalibrator()).isEqualTo("entropy");
    }

    @Test
    void whenEveryCalibratorWasTriedSensitiveLayersAreKeptInFp32FewestFirst() {
        List<AttemptRecord> history = List.of(
            record(1, Recipe.newBuilder().setCalibrator("minmax").build(), "calibration issue"),
            record(2, Recipe.newBuilder().setCalibrator("percentile:99.99").build(), "calibration issue"),
            record(3, Recipe.newBuilder().setCalibrator("entropy").build(), "calibration issue"));
        Recipe r = Recipe.newBuilder().setCalibrator("mse").build();
        Decision d = DebugPlanner.decide(obs(r, 4, history, List.of("/relu1"), null));
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        // lowest SQNR first, ties by name: conv2 (18.5) before fc2 (18.5)
        assertThat(d.recipe().getExcludedNodes()).containsExactly("conv2");
        assertThat(d.recipe().getExclusionReasons().get("conv2")).contains("18.5 dB").contains("attempt 4");
    }

    @Test
    void eachSensitiveLayerRetryKeepsOneMoreNode() {
        Recipe first = Recipe.newBuilder().setExcludedNodes(List.of("conv2")).build();
        List<AttemptRecord> history = List.of(record(1, Recipe.newBuilder().build(), "sensitive layers: conv2"));
        Decision d = DebugPlanner.decide(obs(first, 2, history, List.of(), null));
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getExcludedNodes()).containsExactly("conv2", "fc2", "fc1");
    }

    @Test
    void aRuntimeErrorExcludesTheFailingNode() {
        Decision d = DebugPlanner.decide(obs(Recipe.newBuilder().build(), 1, List.of(), List.of("/relu1"), "fc1"));
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getExcludedNodes()).containsExactly("fc1");
        assertThat(d.diagnosis()).startsWith("runtime error");
    }

    @Test
    void bloatForcesInt8Only() {
        Recipe r = Recipe.newBuilder().setExcludedNodes(List.of("fc1")).build();
        Decision d = DebugPlanner.decide(new Observations(r, "static", 2, 5, NOW, null, List.of(), LAYERS, List.of(),
            null, 0.8, 0.5, List.of()));
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getInt8Only()).isTrue();
        assertThat(d.recipe().getExcludedNodes()).isEmpty();
        assertThat(d.diagnosis()).startsWith("model bloat");
    }

    @Test
    void budgetsEndTheLoop() {
        Decision byAttempts = DebugPlanner.decide(new Observations(Recipe.newBuilder().build(), "static", 3, 3, NOW, null,
            List.of(), LAYERS, List.of(), null, 0.26, null, List.of()));
        assertThat(byAttempts.route()).isEqualTo(Route.GIVE_UP);
        assertThat(byAttempts.diagnosis()).contains("attempt budget");
        Decision byTime = DebugPlanner.decide(new Observations(Recipe.newBuilder().build(), "static", 1, 3, NOW,
            NOW.minusSeconds(1), List.of(), LAYERS, List.of(), null, 0.26, null, List.of()));
        assertThat(byTime.diagnosis()).contains("time budget");
    }

    @Test
    void withEveryLayerInFp32TheNextMethodOfThePlanIsTriedElseGiveUp() {
        Recipe all = Recipe.newBuilder().setExcludedNodes(List.of("conv1", "conv2", "fc1", "fc2")).build();
        Decision next = DebugPlanner.decide(new Observations(all, "static", 2, 5, NOW, null, List.of(), LAYERS, List.of(),
            null, 0.9, null, List.of("static", "dynamic")));
        assertThat(next.route()).isEqualTo(Route.METHOD);
        assertThat(next.method()).isEqualTo("dynamic");
        Decision afterTried = DebugPlanner.decide(new Observations(all, "static", 3, 5, NOW, null,
            List.of(AttemptRecord.newBuilder().setAttempt(2).setMethod("dynamic").setRecipe(Recipe.newBuilder().build())
                .setPassed(false).build()),
            LAYERS, List.of(), null, 0.9, null, List.of("dynamic", "fp16")));
        assertThat(afterTried.method()).isEqualTo("fp16");
        Decision none = DebugPlanner.decide(new Observations(all, "static", 2, 5, NOW, null, List.of(), LAYERS, List.of(),
            null, 0.9, null, List.of()));
        assertThat(none.route()).isEqualTo(Route.GIVE_UP);
        assertThat(none.diagnosis()).startsWith("architecture issue");
    }
}
