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

    static Observations llm(String method, Recipe r, int attempt, List<AttemptRecord> history, List<String> fallbacks) {
        return new Observations(r, method, attempt, 8, NOW, null, history,
            List.of(new LayerSensitivity("/h.0/mlp/fc2/MatMul", 21.0), new LayerSensitivity("/lm_head/MatMul", 14.0),
                new LayerSensitivity("/h.1/attn/q/MatMul", 30.0)), List.of(), null, 0.2, null, fallbacks);
    }

    static AttemptRecord record(int attempt, String method, Recipe r, String diagnosis) {
        return AttemptRecord.newBuilder(record(attempt, r, diagnosis)).setMethod(method).build();
    }

    @Test
    void llmLoopGoesRtnToGptqThenSmallerBlocksThenEightBitLayersThenAwq() {
        Recipe r = Recipe.newBuilder().setBits(4).setBlockSize(128).build();
        Decision d1 = DebugPlanner.decide(llm("rtn", r, 1, List.of(), List.of("gptq", "awq")));
        assertThat(d1.route()).isEqualTo(Route.METHOD);
        assertThat(d1.method()).isEqualTo("gptq");

        List<AttemptRecord> h = List.of(record(1, "rtn", r, d1.diagnosis()));
        Decision d2 = DebugPlanner.decide(llm("gptq", r, 2, h, List.of("awq")));
        assertThat(d2.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d2.recipe().getBlockSize()).isEqualTo(64);
        Recipe r32 = Recipe.newBuilder(r).setBlockSize(32).build();
        Decision d3 = DebugPlanner.decide(llm("gptq", r32, 3, h, List.of("awq")));
        assertThat(d3.recipe().getHighPrecisionNodes()).containsExactly("/lm_head/MatMul");
        assertThat(d3.diagnosis()).startsWith("sensitive layers").contains("8 bits");
        List<AttemptRecord> h2 = List.of(record(1, "rtn", r, d1.diagnosis()), record(3, "gptq", r32, d3.diagnosis()));
        Decision d4 = DebugPlanner.decide(llm("gptq", d3.recipe(), 4, h2, List.of("awq")));
        assertThat(d4.recipe().getHighPrecisionNodes()).containsExactly("/lm_head/MatMul", "/h.0/mlp/fc2/MatMul", "/h.1/attn/q/MatMul");
        Recipe all = Recipe.newBuilder(r32).setHighPrecisionNodes(d4.recipe().getHighPrecisionNodes()).build();
        Decision d5 = DebugPlanner.decide(llm("gptq", all, 5, h2, List.of("awq")));
        assertThat(d5.route()).isEqualTo(Route.METHOD);
        assertThat(d5.method()).isEqualTo("awq");
        Decision d6 = DebugPlanner.decide(llm("awq", all, 6, List.of(record(5, "gptq", all, "x"), record(6, "awq", all, "y")),
            List.of("gptq")));
        assertThat(d6.route()).isEqualTo(Route.GIVE_UP);
    }

    @Test
    void qatMissAdjustsTrainingParametersEachTime() {
        Recipe r = Recipe.newBuilder().setBits(4).setTraining(dev.quantflow.events.TrainingParams.newBuilder()
            .setSteps(100).setLearningRate(1e-3).build()).build();
        Observations o = new Observations(r, "qat", 1, 3, NOW, null, List.of(), LAYERS, List.of(), null, 0.3, null, List.of());
        Decision d = DebugPlanner.decide(o);
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getTraining().getSteps()).isEqualTo(200);
        assertThat(d.recipe().getTraining().getLearningRate()).isEqualTo(5e-4);
        assertThat(d.recipe().getTraining().getLearnableScales()).isFalse();
        assertThat(d.diagnosis()).startsWith("training").contains("100 → 200");
        Observations o2 = new Observations(d.recipe(), "qat", 2, 3, NOW, null, List.of(record(1, "qat", r, d.diagnosis())),
            LAYERS, List.of(), null, 0.3, null, List.of());
        Decision d2 = DebugPlanner.decide(o2);
        assertThat(d2.recipe().getTraining().getLearnableScales()).isTrue();
        assertThat(d2.diagnosis()).contains("LSQ");
        Observations o3 = new Observations(d2.recipe(), "qat", 3, 3, NOW, null, List.of(), LAYERS, List.of(), null, 0.3, null, List.of());
        assertThat(DebugPlanner.decide(o3).route()).isEqualTo(Route.GIVE_UP);
    }

    @Test
    void divergedQatTrainingLowersTheLearningRateTenfold() {
        Recipe r = Recipe.newBuilder().setBits(4).setTraining(dev.quantflow.events.TrainingParams.newBuilder()
            .setSteps(100).setLearningRate(0.05).build()).build();
        Observations o = new Observations(r, "qat", 1, 3, NOW, null, List.of(), LAYERS, List.of(), null, 0.3, null, List.of(),
            new DebugPlanner.TrainingOutcome(0.8, 3.5));
        Decision d = DebugPlanner.decide(o);
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getTraining().getSteps()).isEqualTo(100);
        assertThat(d.recipe().getTraining().getLearningRate()).isCloseTo(0.005, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(d.diagnosis()).startsWith("training diverged").contains("0.05 → 0.005");
        Observations nan = new Observations(r, "qat", 1, 3, NOW, null, List.of(), LAYERS, List.of(), null, 0.3, null, List.of(),
            new DebugPlanner.TrainingOutcome(0.8, Double.NaN));
        assertThat(DebugPlanner.decide(nan).diagnosis()).startsWith("training diverged");
    }

    @Test
    void aMissedLatencyTargetForcesInt8OnlyThenSwitchesMethodOrGivesUp() {
        Recipe withFp32 = Recipe.newBuilder().setExcludedNodes(List.of("conv1")).build();
        Observations o = new Observations(withFp32, "static", 1, 4, NOW, null, List.of(), LAYERS, List.of(), null, 0.3, null,
            List.of(), null, 2.5, 2.0);
        Decision d = DebugPlanner.decide(o);
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getInt8Only()).isTrue();
        assertThat(d.diagnosis()).startsWith("too slow").contains("2.500 ms").contains("2.000 ms");
        Observations allInt8 = new Observations(d.recipe(), "static", 2, 4, NOW, null, List.of(), LAYERS, List.of(), null, 0.3,
            null, List.of("fp16"), null, 2.4, 2.0);
        Decision d2 = DebugPlanner.decide(allInt8);
        assertThat(d2.route()).isEqualTo(Route.METHOD);
        assertThat(d2.method()).isEqualTo("fp16");
        Observations nothingLeft = new Observations(d.recipe(), "static", 2, 4, NOW, null, List.of(), LAYERS, List.of(), null,
            0.3, null, List.of(), null, 2.4, 2.0);
        assertThat(DebugPlanner.decide(nothingLeft).route()).isEqualTo(Route.GIVE_UP);
        // latency given as null (quality missed): the quality rules apply instead
        Observations qualityMissed = new Observations(withFp32, "static", 1, 4, NOW, null, List.of(), LAYERS, List.of(), null,
            0.3, null, List.of(), null, null, 2.0);
        assertThat(DebugPlanner.decide(qualityMissed).diagnosis()).startsWith("sensitive layers");
    }
}
