package dev.quantflow.validator.service;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.Recipe;

/**
 * The debug loop's decision for an attempt that missed its target (the workflow's "meets targets? → debug
 * pipeline" node). Pure: everything it needs comes in as {@link Observations}, so each rule is unit-tested.
 *
 * <p>Rules, first match wins (the spec's troubleshooting table):
 * <ol>
 *   <li><b>budget spent</b> (attempts or time) → give up; the best attempt is exported as best effort;</li>
 *   <li><b>runtime error</b> (an op ONNX Runtime cannot run quantized) → keep that node fp32, back to the quantizer;</li>
 *   <li><b>model bloat</b> (size target missed while nodes are kept fp32) → INT8-only, back to the quantizer;</li>
 *   <li><b>too slow</b> (latency target missed while nodes are kept fp32: each fp32 island costs a dequantize/quantize
 *       pair) → INT8-only, back to the quantizer; with nothing left in fp32 a latency miss cannot be fixed by another
 *       recipe of this method → the next method of the plan, else give up;</li>
 *   <li><b>calibration issue</b> (some activation ranges dominated by outliers) → back to calibration with the next
 *       calibrator not tried yet: minmax → percentile:99.99 → entropy → mse;</li>
 *   <li><b>sensitive layers</b> → keep the lowest-SQNR quantized nodes in fp32, back to the quantizer; the first such
 *       retry keeps one node, the next two more, and so on (fewest nodes first);</li>
 *   <li><b>architecture issue</b> (nothing left to try with this method) → the next method of the plan, else give up.</li>
 * </ol>
 *
 * <p>4-bit LLM jobs (gptq, awq, rtn), after the budget and runtime-error rules: RTN → the next method of the plan
 * (GPTQ, then AWQ); then a smaller block size (128 → 64 → 32); then the layers with the largest relative
 * reconstruction error kept at 8 bits (one more per retry: 1, 2, 3 …); then the next method; else give up.
 *
 * <p>QAT jobs: every miss within the budget goes back to the QAT pool with adjusted training parameters: when the
 * loss diverged, a tenth of the learning rate; otherwise twice the steps and half the learning rate, and learnable
 * (LSQ) scales from the second adjustment on.
 */
public final class DebugPlanner {

    /** Calibrators in the order the loop tries them. */
    public static final List<String> CALIBRATOR_SEQUENCE = List.of("minmax", "percentile:99.99", "entropy", "mse");

    private DebugPlanner() {
    }

    /** A quantized node and how much signal survives at its output. */
    public record LayerSensitivity(String node, double sqnrDb) {
    }

    /**
     * What the validator saw. {@code latencyMs} is the quantized model's batch-1 p50, given only when the quality
     * target was met (see {@link #latencyMissed}); {@code maxLatencyMs} the job's target or null.
     */
    public record Observations(Recipe recipe, String method, int attempt, int maxAttempts, Instant now, Instant deadline,
                               List<AttemptRecord> history, List<LayerSensitivity> layers, List<String> outlierTensors,
                               String runtimeErrorNode, Double sizeRatio, Double maxSizeRatio,
                               List<String> fallbackMethods, TrainingOutcome training, Double latencyMs,
                               Double maxLatencyMs) {


        public Observations(Recipe recipe, String method, int attempt, int maxAttempts, Instant now, Instant deadline,
                            List<AttemptRecord> history, List<LayerSensitivity> layers, List<String> outlierTensors,
                            String runtimeErrorNode, Double sizeRatio, Double maxSizeRatio, List<String> fallbackMethods) {
            this(recipe, method, attempt, maxAttempts, now, deadline, history, layers, outlierTensors, runtimeErrorNode,
                sizeRatio, maxSizeRatio, fallbackMethods, null, null, null);
        }

        public Observations(Recipe recipe, String method, int attempt, int maxAttempts, Instant now, Instant deadline,
                            List<AttemptRecord> history, List<LayerSensitivity> layers, List<String> outlierTensors,
                            String runtimeErrorNode, Double sizeRatio, Double maxSizeRatio, List<String> fallbackMethods,
                            TrainingOutcome training) {
            this(recipe, method, attempt, maxAttempts, now, deadline, history, layers, outlierTensors, runtimeErrorNode,
                sizeRatio, maxSizeRatio, fallbackMethods, training, null, null);
        }

        /**
         * The latency target was set and missed while the quality target was met. When quality missed too, the
         * quality rules come first: a fast model that misses accuracy is of no use.
         */
        boolean latencyMissed() {
            return maxLatencyMs != null && latencyMs != null && latencyMs > maxLatencyMs;
        }
    }

    /** QAT: the loss of the first and of the last training step of the attempt. */
    public record TrainingOutcome(double firstLoss, double finalLoss) {
        /** The loss went up (or became NaN/∞) over the run: the learning rate is too high. */
        public boolean diverged() {
            return !Double.isFinite(finalLoss) || finalLoss > firstLoss;
        }
    }

    public enum Route {
        CALIBRATION, QUANTIZE, METHOD, GIVE_UP
    }

    /**
     * @param route     where the job goes next
     * @param recipe    the next attempt's recipe (for CALIBRATION and QUANTIZE)
     * @param method    the next method (for METHOD)
     * @param diagnosis what was found, in words for the report
     */
    public record Decision(Route route, Recipe recipe, String method, String diagnosis) {
    }

    public static Decision decide(Observations o) {
        if (o.attempt() >= o.maxAttempts()) {
            return giveUp("attempt budget spent (" + o.maxAttempts() + " attempt(s))");
        }
        if (o.deadline() != null && !o.now().isBefore(o.deadline())) {
            return giveUp("time budget spent (deadline " + o.deadline() + ")");
        }
        Recipe r = o.recipe();
        if (o.runtimeErrorNode() != null) {
            if (r.getExcludedNodes().contains(o.runtimeErrorNode())) {
                return giveUp("runtime error in " + o.runtimeErrorNode() + ", which is already kept in fp32");
            }
            return new Decision(Route.QUANTIZE, exclude(r, List.of(o.runtimeErrorNode()),
                "ONNX Runtime could not run it quantized"), null,
                "runtime error: ONNX Runtime cannot run node " + o.runtimeErrorNode() + " quantized; keeping it in fp32");
        }
        if (LLM_METHODS.contains(o.method())) {
            return decideLlm(o, r);
        }
        if ("qat".equals(o.method())) {
            return decideQat(o, r);
        }
        if (o.maxSizeRatio() != null && o.sizeRatio() != null && o.sizeRatio() > o.maxSizeRatio()
            && !r.getInt8Only() && !r.getExcludedNodes().isEmpty()) {
            Recipe next = Recipe.newBuilder(r).setInt8Only(true).setExcludedNodes(List.of()).setExclusionReasons(Map.of())
                .setNote("model bloat: force INT8-only").build();
            return new Decision(Route.QUANTIZE, next, null, String.format(
                "model bloat: quantized model is %.0f%% of fp32 (target %.0f%%) with %d node(s) in fp32; forcing INT8-only",
                o.sizeRatio() * 100, o.maxSizeRatio() * 100, r.getExcludedNodes().size()));
        }
        if (o.latencyMissed()) {
            String why = String.format(java.util.Locale.ROOT, "too slow: batch-1 latency %.3f ms misses the %.3f ms target",
                o.latencyMs(), o.maxLatencyMs());
            if (!r.getInt8Only() && !r.getExcludedNodes().isEmpty()) {
                Recipe next = Recipe.newBuilder(r).setInt8Only(true).setExcludedNodes(List.of()).setExclusionReasons(Map.of())
                    .setNote("latency target: force INT8-only").build();
                return new Decision(Route.QUANTIZE, next, null, why + " with " + r.getExcludedNodes().size()
                    + " node(s) in fp32; forcing INT8-only");
            }
            Decision switched = nextMethod(o, why + " with every supported node quantized");
            return switched != null ? switched : giveUp(why + "; no recipe of " + o.method() + " is faster and no other method "
                + "is in the plan");
        }
        if (!o.outlierTensors().isEmpty()) {
            String next = nextCalibrator(o.history(), r.getCalibrator());
            if (next != null) {
                Recipe nr = Recipe.newBuilder(r).setCalibrator(next)
                    .setNote("calibration issue: switch to the " + next + " calibrator").build();
                return new Decision(Route.CALIBRATION, nr, null, "calibration issue: the ranges of "
                    + describe(o.outlierTensors()) + " are dominated by outliers; recalibrating with " + next);
            }
        }
        List<LayerSensitivity> candidates = o.layers().stream()
            .filter(l -> !r.getExcludedNodes().contains(l.node()))
            .sorted(Comparator.comparingDouble(LayerSensitivity::sqnrDb).thenComparing(LayerSensitivity::node))
            .toList();
        if (!candidates.isEmpty()) {
            int previous = (int) o.history().stream().filter(h -> h.getDiagnosis().startsWith("sensitive layers")).count();
            int take = Math.min(candidates.size(), previous + 1);
            List<LayerSensitivity> chosen = candidates.subList(0, take);
            List<String> nodes = chosen.stream().map(LayerSensitivity::node).toList();
            Map<String, String> reasons = new LinkedHashMap<>();
            for (LayerSensitivity l : chosen) {
                reasons.put(l.node(), String.format("lowest SQNR (%.1f dB) in attempt %d", l.sqnrDb(), o.attempt()));
            }
            Recipe nr = excludeWithReasons(r, reasons, "sensitive layers: keep " + String.join(", ", nodes) + " in fp32");
            return new Decision(Route.QUANTIZE, nr, null, "sensitive layers: " + chosen.stream()
                .map(l -> String.format("%s (%.1f dB)", l.node(), l.sqnrDb())).reduce((a, b) -> a + ", " + b).orElse("")
                + " have the lowest SQNR; keeping " + (take == 1 ? "it" : "them") + " in fp32");
        }
        Decision switched = nextMethod(o, o.method() + " cannot reach the target with any layer in INT8");
        if (switched != null) {
            return switched;
        }
        return giveUp("architecture issue: nothing left to try with " + o.method() + " and no other method in the plan");
    }

    /** Methods of the 4-bit weight-only LLM path. */
    public static final Set<String> LLM_METHODS = Set.of("gptq", "awq", "rtn");
    /** Smallest block size the loop goes down to. */
    static final int MIN_BLOCK_SIZE = 32;

    private static Decision decideLlm(Observations o, Recipe r) {
        if (o.method().equals("rtn")) {
            Decision switched = nextMethod(o, "round-to-nearest misses the perplexity budget");
            if (switched != null) {
                return switched;
            }
        }
        if (r.getBlockSize() > MIN_BLOCK_SIZE) {
            int next = r.getBlockSize() / 2;
            Recipe nr = Recipe.newBuilder(r).setBlockSize(next)
                .setNote("smaller blocks: " + r.getBlockSize() + " → " + next + " rows per scale").build();
            return new Decision(Route.QUANTIZE, nr, null, "quantization error: blocks of " + r.getBlockSize()
                + " rows share one scale; retrying with blocks of " + next);
        }
        List<LayerSensitivity> candidates = o.layers().stream()
            .filter(l -> !r.getHighPrecisionNodes().contains(l.node()) && !r.getExcludedNodes().contains(l.node()))
            .sorted(Comparator.comparingDouble(LayerSensitivity::sqnrDb).thenComparing(LayerSensitivity::node))
            .toList();
        if (r.getBits() < 8 && !candidates.isEmpty()) {
            int previous = (int) o.history().stream().filter(h -> h.getDiagnosis().startsWith("sensitive layers")).count();
            List<LayerSensitivity> chosen = candidates.subList(0, Math.min(candidates.size(), previous + 1));
            List<String> high = new ArrayList<>(r.getHighPrecisionNodes());
            chosen.forEach(l -> high.add(l.node()));
            Recipe nr = Recipe.newBuilder(r).setHighPrecisionNodes(high)
                .setNote("sensitive layers at 8 bits: " + String.join(", ", high)).build();
            return new Decision(Route.QUANTIZE, nr, null, "sensitive layers: " + chosen.stream()
                .map(l -> String.format("%s (%.1f dB)", l.node(), l.sqnrDb())).reduce((a, b) -> a + ", " + b).orElse("")
                + " lose the most at " + r.getBits() + " bits; keeping " + (chosen.size() == 1 ? "it" : "them") + " at 8 bits");
        }
        Decision switched = nextMethod(o, o.method() + " cannot reach the perplexity budget");
        return switched != null ? switched
            : giveUp("nothing left to try with " + o.method() + " (smallest blocks, sensitive layers at 8 bits) "
                + "and no other method in the plan");
    }

    private static Decision nextMethod(Observations o, String why) {
        for (String m : o.fallbackMethods()) {
            if (!m.equals(o.method()) && o.history().stream().noneMatch(h -> h.getMethod().equals(m))) {
                return new Decision(Route.METHOD, null, m, "architecture issue: " + why + "; switching to " + m);
            }
        }
        return null;
    }

    private static Decision decideQat(Observations o, Recipe r) {
        dev.quantflow.events.TrainingParams t = r.getTraining() == null
            ? dev.quantflow.events.TrainingParams.newBuilder().build() : r.getTraining();
        int adjustments = (int) o.history().stream().filter(h -> h.getDiagnosis().startsWith("training")).count();
        if (o.training() != null && o.training().diverged()) {
            dev.quantflow.events.TrainingParams slower = dev.quantflow.events.TrainingParams.newBuilder(t)
                .setLearningRate(t.getLearningRate() / 10).build();
            Recipe nr = Recipe.newBuilder(r).setTraining(slower).setNote(String.format(java.util.Locale.ROOT,
                "adjusted training: learning rate %.2g", slower.getLearningRate())).build();
            return new Decision(Route.QUANTIZE, nr, null, String.format(java.util.Locale.ROOT,
                "training diverged (loss %.4g → %.4g); adjusting training parameters: learning rate %s → %s",
                o.training().firstLoss(), o.training().finalLoss(), lr(t.getLearningRate()), lr(slower.getLearningRate())));
        }
        dev.quantflow.events.TrainingParams next = dev.quantflow.events.TrainingParams.newBuilder(t)
            .setSteps(t.getSteps() * 2)
            .setLearningRate(t.getLearningRate() / 2)
            .setLearnableScales(t.getLearnableScales() || adjustments >= 1)
            .build();
        Recipe nr = Recipe.newBuilder(r).setTraining(next).setNote(String.format(java.util.Locale.ROOT,
            "adjusted training: %d steps, learning rate %.2g%s", next.getSteps(), next.getLearningRate(),
            next.getLearnableScales() ? ", learnable scales" : "")).build();
        return new Decision(Route.QUANTIZE, nr, null, String.format(java.util.Locale.ROOT,
            "training did not recover enough accuracy; adjusting training parameters: steps %d → %d, learning rate "
                + "%s → %s%s", t.getSteps(), next.getSteps(), lr(t.getLearningRate()), lr(next.getLearningRate()),
            next.getLearnableScales() && !t.getLearnableScales() ? ", unfreezing the quantization scales (LSQ)" : ""));
    }

    /** A learning rate as written by people: 0.005, 5e-05 → "0.00005". */
    private static String lr(double v) {
        return new java.math.BigDecimal(v).round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString();
    }

    /** The first calibrator of the sequence that no attempt (nor the current recipe) has used. */
    static String nextCalibrator(List<AttemptRecord> history, String current) {
        Set<String> tried = new LinkedHashSet<>();
        tried.add(current);
        history.forEach(h -> tried.add(h.getRecipe().getCalibrator()));
        return CALIBRATOR_SEQUENCE.stream().filter(c -> !tried.contains(c)).findFirst().orElse(null);
    }

    private static Recipe exclude(Recipe r, List<String> nodes, String why) {
        Map<String, String> reasons = new LinkedHashMap<>();
        nodes.forEach(n -> reasons.put(n, why));
        return excludeWithReasons(r, reasons, why + ": keep " + String.join(", ", nodes) + " in fp32");
    }

    private static Recipe excludeWithReasons(Recipe r, Map<String, String> reasons, String note) {
        List<String> excluded = new ArrayList<>(r.getExcludedNodes());
        Map<String, String> all = new LinkedHashMap<>(r.getExclusionReasons());
        reasons.forEach((node, why) -> {
            if (!excluded.contains(node)) {
                excluded.add(node);
            }
            all.put(node, why);
        });
        return Recipe.newBuilder(r).setExcludedNodes(excluded).setExclusionReasons(all).setInt8Only(false).setNote(note).build();
    }

    private static String describe(List<String> tensors) {
        return tensors.size() <= 3 ? String.join(", ", tensors) : String.join(", ", tensors.subList(0, 3)) + " and "
            + (tensors.size() - 3) + " more";
    }

    private static Decision giveUp(String why) {
        return new Decision(Route.GIVE_UP, null, null, why);
    }
}
