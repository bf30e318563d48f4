package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.validator.service.DebugPlanner.Decision;
import dev.quantflow.validator.service.DebugPlanner.LayerSensitivity;
import dev.quantflow.validator.service.DebugPlanner.Observations;
import dev.quantflow.validator.service.DebugPlanner.Route;

class DebugPlannerTest {

    static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
    static final List<LayerSensitivity> LAYERS = List.of(new LayerSensitivity("conv1", 31.0),
        new LayerSensitivity("conv2", 18.5), new LayerSensitivity("fc1", 22.0), new LayerSensitivity("fc2", 18.5));

    static Observations obs(Recipe r, int attempt, List<AttemptRecord> history, List<String> outliers, String errorNode) {
        return Observations.builder(r, QuantMethod.STATIC, attempt, 5).now(NOW).history(history).layers(LAYERS)
            .outlierTensors(outliers).runtimeErrorNode(errorNode).sizeRatio(0.26).build();
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
    void aNoiseAmplifyingFrontIsKeptFp32OnceBeforeCalibratorsAndSensitiveLayers() {
        Recipe r = Recipe.newBuilder().build();
        DebugPlanner.NoisyPrefix prefix = new DebugPlanner.NoisyPrefix(List.of("conv0", "conv1"),
            "graph prefix kept fp32: conv1 (layer 2 of 40) adds noise at 3.0 dB own SQNR (< 10 dB)");
        Decision d = DebugPlanner.decide(Observations.builder(r, QuantMethod.STATIC, 1, 5).now(NOW).layers(LAYERS)
            .outlierTensors(List.of("/relu1")).noisyPrefix(prefix).build());
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getExcludedNodes()).containsExactly("conv0", "conv1");
        assertThat(d.recipe().getExclusionReasons().get("conv0")).contains("3.0 dB own SQNR");
        assertThat(d.diagnosis()).startsWith("noise-amplifying front").contains("2 node(s)");

        // tried once: the next miss goes on with the other rules (here the calibrators)
        Decision d2 = DebugPlanner.decide(Observations.builder(d.recipe(), QuantMethod.STATIC, 2, 5).now(NOW)
            .history(List.of(record(1, r, d.diagnosis()))).layers(LAYERS).outlierTensors(List.of("/relu1"))
            .noisyPrefix(prefix).build());
        assertThat(d2.route()).isEqualTo(Route.CALIBRATION);
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
        Decision d = DebugPlanner.decide(Observations.builder(r, QuantMethod.STATIC, 2, 5).now(NOW).layers(LAYERS)
            .sizeRatio(0.8).maxSizeRatio(0.5).build());
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getInt8Only()).isTrue();
        assertThat(d.recipe().getExcludedNodes()).isEmpty();
        assertThat(d.diagnosis()).startsWith("model bloat");
    }

    @Test
    void budgetsEndTheLoop() {
        Decision byAttempts = DebugPlanner.decide(Observations.builder(Recipe.newBuilder()
            .build(), QuantMethod.STATIC, 3, 3).now(NOW).layers(LAYERS).sizeRatio(0.26).build());
        assertThat(byAttempts.route()).isEqualTo(Route.GIVE_UP);
        assertThat(byAttempts.diagnosis()).contains("attempt budget");
        Decision byTime = DebugPlanner.decide(Observations.builder(Recipe.newBuilder().build(), QuantMethod.STATIC, 1, 3)
            .now(NOW).deadline(NOW.minusSeconds(1)).layers(LAYERS).sizeRatio(0.26).build());
        assertThat(byTime.diagnosis()).contains("time budget");
    }

    @Test
    void withEveryLayerInFp32TheNextMethodOfThePlanIsTriedElseGiveUp() {
        Recipe all = Recipe.newBuilder().setExcludedNodes(List.of("conv1", "conv2", "fc1", "fc2")).build();
        Decision next = DebugPlanner.decide(Observations.builder(all, QuantMethod.STATIC, 2, 5).now(NOW)
            .layers(LAYERS).sizeRatio(0.9).fallbackMethods(List.of(QuantMethod.STATIC, QuantMethod.DYNAMIC)).build());
        assertThat(next.route()).isEqualTo(Route.METHOD);
        assertThat(next.method()).isEqualTo(QuantMethod.DYNAMIC);
        Decision afterTried = DebugPlanner.decide(Observations.builder(all, QuantMethod.STATIC, 3, 5).now(NOW)
            .history(List.of(AttemptRecord.newBuilder().setAttempt(2).setMethod("dynamic").setRecipe(Recipe.newBuilder().build())
                .setPassed(false).build()))
            .layers(LAYERS).sizeRatio(0.9).fallbackMethods(List.of(QuantMethod.DYNAMIC, QuantMethod.FP16)).build());
        assertThat(afterTried.method()).isEqualTo(QuantMethod.FP16);
        Decision none = DebugPlanner.decide(Observations.builder(all, QuantMethod.STATIC, 2, 5).now(NOW)
            .layers(LAYERS).sizeRatio(0.9).build());
        assertThat(none.route()).isEqualTo(Route.GIVE_UP);
        assertThat(none.diagnosis()).startsWith("architecture issue");
    }

    static Observations llm(String method, Recipe r, int attempt, List<AttemptRecord> history, List<String> fallbacks) {
        return Observations.builder(r, QuantMethod.fromPlan(method), attempt, 8).now(NOW).history(history)
            .layers(List.of(new LayerSensitivity("/h.0/mlp/fc2/MatMul", 21.0), new LayerSensitivity("/lm_head/MatMul", 14.0),
                new LayerSensitivity("/h.1/attn/q/MatMul", 30.0))).sizeRatio(0.2).fallbackMethods(methods(fallbacks)).build();
    }

    static List<QuantMethod> methods(List<String> names) {
        return names.stream().map(QuantMethod::fromPlan).toList();
    }

    static AttemptRecord record(int attempt, String method, Recipe r, String diagnosis) {
        return AttemptRecord.newBuilder(record(attempt, r, diagnosis)).setMethod(method).build();
    }

    @Test
    void llmLoopTriesEveryMethodAtTheJobsBitsThenSmallerBlocksThenEightBitLayers() {
        List<String> plan = List.of("gptq", "awq"); // the fallbacks intake planned for an rtn job with calibration text
        Recipe r = Recipe.newBuilder().setBits(4).setBlockSize(128).build();
        Decision d1 = DebugPlanner.decide(llm("rtn", r, 1, List.of(), plan));
        assertThat(d1.route()).isEqualTo(Route.METHOD);
        assertThat(d1.method()).isEqualTo(QuantMethod.GPTQ);
        assertThat(d1.recipe().getBits()).as("the job's 4 bits carry over to the next method").isEqualTo(4);
        assertThat(d1.recipe().getBlockSize()).isEqualTo(128);

        List<AttemptRecord> h1 = List.of(record(1, "rtn", r, d1.diagnosis()));
        Decision d2 = DebugPlanner.decide(llm("gptq", d1.recipe(), 2, h1, plan));
        assertThat(d2.route()).as("another method before spending size on smaller blocks").isEqualTo(Route.METHOD);
        assertThat(d2.method()).isEqualTo(QuantMethod.AWQ);
        assertThat(d2.recipe().getBits()).isEqualTo(4);
        assertThat(d2.diagnosis()).contains("gptq misses the perplexity budget at 4 bits");

        List<AttemptRecord> h2 = List.of(h1.get(0), record(2, "gptq", d1.recipe(), d2.diagnosis()));
        Decision d3 = DebugPlanner.decide(llm("awq", d2.recipe(), 3, h2, plan));
        assertThat(d3.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d3.recipe().getBlockSize()).isEqualTo(64);
        Recipe r32 = Recipe.newBuilder(d2.recipe()).setBlockSize(32).build();
        Decision d4 = DebugPlanner.decide(llm("awq", r32, 4, h2, plan));
        assertThat(d4.recipe().getHighPrecisionNodes()).containsExactly("/lm_head/MatMul");
        assertThat(d4.diagnosis()).startsWith("sensitive layers").contains("8 bits");
        List<AttemptRecord> h4 = List.of(h2.get(0), h2.get(1), record(4, "awq", r32, d4.diagnosis()));
        Decision d5 = DebugPlanner.decide(llm("awq", d4.recipe(), 5, h4, plan));
        assertThat(d5.recipe().getHighPrecisionNodes())
            .containsExactly("/lm_head/MatMul", "/h.0/mlp/fc2/MatMul", "/h.1/attn/q/MatMul");
        Recipe all = Recipe.newBuilder(r32).setHighPrecisionNodes(d5.recipe().getHighPrecisionNodes()).build();
        Decision d6 = DebugPlanner.decide(llm("awq", all, 6, h4, plan));
        assertThat(d6.route()).isEqualTo(Route.GIVE_UP);
        assertThat(d6.diagnosis()).contains("every method of the plan tried");
    }

    @Test
    void aSwitchFromASmallerBlockAttemptGoesBackToTheJobsOwnBlockSize() {
        Recipe own = Recipe.newBuilder().setBits(4).setBlockSize(128).build();
        Recipe shrunk = Recipe.newBuilder(own).setBlockSize(32).setHighPrecisionNodes(List.of("/lm_head/MatMul")).build();
        // a gptq job whose plan lists awq, met again after awq was added by a later plan (no awq attempt yet)
        Decision d = DebugPlanner.decide(llm("gptq", shrunk, 3, List.of(record(1, "gptq", own, "x")), List.of("awq")));
        assertThat(d.method()).isEqualTo(QuantMethod.AWQ);
        assertThat(d.recipe().getBlockSize()).as("the job's own block size, not the loop's 32").isEqualTo(128);
        assertThat(d.recipe().getHighPrecisionNodes()).as("8-bit layers were GPTQ's fix, not the job's").isEmpty();
    }

    @Test
    void aMethodSwitchStartsFromTheJobsOwnOptionsAndFixesBitsTheNewMethodCannotProduce() {
        Recipe own = Recipe.newBuilder().setExcludedNodes(List.of("fc2")).setExclusionReasons(java.util.Map.of("fc2", "user"))
            .setNote("nodes excluded by the request").build();
        Recipe changed = Recipe.newBuilder(own).setExcludedNodes(List.of("fc2", "conv1", "conv2", "fc1"))
            .setCalibrator("mse").build();
        Decision d = DebugPlanner.decide(Observations.builder(changed, QuantMethod.STATIC, 2, 5).now(NOW)
            .history(List.of(record(1, "static", own, "sensitive layers")))
            .layers(LAYERS).fallbackMethods(List.of(QuantMethod.FP16)).build());
        assertThat(d.route()).isEqualTo(Route.METHOD);
        assertThat(d.method()).isEqualTo(QuantMethod.FP16);
        assertThat(d.recipe().getExcludedNodes()).containsExactly("fc2");
        assertThat(d.recipe().getCalibrator()).isEqualTo("minmax");
        assertThat(d.recipe().getBits()).as("fp16 produces 16-bit weights, not the static 8").isEqualTo(16);
        assertThat(d.recipe().getNote()).contains("fp16");
    }

    @Test
    void qatMissAdjustsTrainingParametersEachTime() {
        Recipe r = Recipe.newBuilder().setBits(4).setTraining(dev.quantflow.events.TrainingParams.newBuilder()
            .setSteps(100).setLearningRate(1e-3).build()).build();
        Observations o = Observations.builder(r, QuantMethod.QAT, 1, 3).now(NOW).layers(LAYERS).sizeRatio(0.3).build();
        Decision d = DebugPlanner.decide(o);
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getTraining().getSteps()).isEqualTo(200);
        assertThat(d.recipe().getTraining().getLearningRate()).isEqualTo(5e-4);
        assertThat(d.recipe().getTraining().getLearnableScales()).isFalse();
        assertThat(d.diagnosis()).startsWith("training").contains("100 → 200");
        Observations o2 = Observations.builder(d.recipe(), QuantMethod.QAT, 2, 3).now(NOW)
            .history(List.of(record(1, "qat", r, d.diagnosis()))).layers(LAYERS).sizeRatio(0.3).build();
        Decision d2 = DebugPlanner.decide(o2);
        assertThat(d2.recipe().getTraining().getLearnableScales()).isTrue();
        assertThat(d2.diagnosis()).contains("LSQ");
        Observations o3 = Observations.builder(d2.recipe(), QuantMethod.QAT, 3, 3).now(NOW).layers(LAYERS)
            .sizeRatio(0.3).build();
        assertThat(DebugPlanner.decide(o3).route()).isEqualTo(Route.GIVE_UP);
    }

    @Test
    void divergedQatTrainingLowersTheLearningRateTenfold() {
        Recipe r = Recipe.newBuilder().setBits(4).setTraining(dev.quantflow.events.TrainingParams.newBuilder()
            .setSteps(100).setLearningRate(0.05).build()).build();
        Observations o = Observations.builder(r, QuantMethod.QAT, 1, 3).now(NOW).layers(LAYERS).sizeRatio(0.3)
            .training(new DebugPlanner.TrainingOutcome(0.8, 3.5)).build();
        Decision d = DebugPlanner.decide(o);
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getTraining().getSteps()).isEqualTo(100);
        assertThat(d.recipe().getTraining().getLearningRate()).isCloseTo(0.005, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(d.diagnosis()).startsWith("training diverged").contains("0.05 → 0.005");
        Observations nan = Observations.builder(r, QuantMethod.QAT, 1, 3).now(NOW).layers(LAYERS).sizeRatio(0.3)
            .training(new DebugPlanner.TrainingOutcome(0.8, Double.NaN)).build();
        assertThat(DebugPlanner.decide(nan).diagnosis()).startsWith("training diverged");
    }

    @Test
    void aMissedLatencyTargetForcesInt8OnlyThenSwitchesMethodOrGivesUp() {
        Recipe withFp32 = Recipe.newBuilder().setExcludedNodes(List.of("conv1")).build();
        Observations o = Observations.builder(withFp32, QuantMethod.STATIC, 1, 4).now(NOW).layers(LAYERS)
            .sizeRatio(0.3).latencyMs(2.5).maxLatencyMs(2.0).build();
        Decision d = DebugPlanner.decide(o);
        assertThat(d.route()).isEqualTo(Route.QUANTIZE);
        assertThat(d.recipe().getInt8Only()).isTrue();
        assertThat(d.diagnosis()).startsWith("too slow").contains("2.500 ms").contains("2.000 ms");
        Observations allInt8 = Observations.builder(d.recipe(), QuantMethod.STATIC, 2, 4).now(NOW).layers(LAYERS)
            .sizeRatio(0.3).fallbackMethods(List.of(QuantMethod.FP16)).latencyMs(2.4).maxLatencyMs(2.0).build();
        Decision d2 = DebugPlanner.decide(allInt8);
        assertThat(d2.route()).isEqualTo(Route.METHOD);
        assertThat(d2.method()).isEqualTo(QuantMethod.FP16);
        Observations nothingLeft = Observations.builder(d.recipe(), QuantMethod.STATIC, 2, 4).now(NOW).layers(LAYERS)
            .sizeRatio(0.3).latencyMs(2.4).maxLatencyMs(2.0).build();
        assertThat(DebugPlanner.decide(nothingLeft).route()).isEqualTo(Route.GIVE_UP);
        // latency given as null (quality missed): the quality rules apply instead
        Observations qualityMissed = Observations.builder(withFp32, QuantMethod.STATIC, 1, 4).now(NOW).layers(LAYERS)
            .sizeRatio(0.3).maxLatencyMs(2.0).build();
        assertThat(DebugPlanner.decide(qualityMissed).diagnosis()).startsWith("sensitive layers");
    }
}
