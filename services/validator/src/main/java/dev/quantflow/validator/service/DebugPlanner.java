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
 *   <li><b>calibration issue</b> (some activation ranges dominated by outliers) → back to calibration with the next
 *       calibrator not tried yet: minmax → percentile:99.99 → entropy → mse;</li>
 *   <li><b>sensitive layers</b> → keep the lowest-SQNR quantized nodes in fp32, back to the quantizer; the first such
 *       retry keeps one node, the next two more, and so on (fewest nodes first);</li>
 *   <li><b>architecture issue</b> (nothing left to try with this method) → the next method of the plan, else give up.</li>
 * </ol>
 */
public final class DebugPlanner {

    /** Calibrators in the order the loop tries them. */
    public static final List<String> CALIBRATOR_SEQUENCE = List.of("minmax", "percentile:99.99", "entropy", "mse");

    private DebugPlanner() {
    }

    /** A quantized node and how much signal survives at its output. */
    public record LayerSensitivity(String node, double sqnrDb) {
    }

    public record Observations(Recipe recipe, String method, int attempt, int maxAttempts, Instant now, Instant deadline,
                               List<AttemptRecord> history, List<LayerSensitivity> layers, List<String> outlierTensors,
                               String runtimeErrorNode, Double sizeRatio, Double maxSizeRatio,
                               List<String> fallbackMethods) {
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
        if (o.maxSizeRatio() != null && o.sizeRatio() != null && o.sizeRatio() > o.maxSizeRatio()
            && !r.getInt8Only() && !r.getExcludedNodes().isEmpty()) {
            Recipe next = Recipe.newBuilder(r).setInt8Only(true).setExcludedNodes(List.of()).setExclusionReasons(Map.of())
                .setNote("model bloat: force INT8-only").build();
            return new Decision(Route.QUANTIZE, next, null, String.format(
                "model bloat: quantized model is %.0f%% of fp32 (target %.0f%%) with %d node(s) in fp32; forcing INT8-only",
                o.sizeRatio() * 100, o.maxSizeRatio() * 100, r.getExcludedNodes().size()));
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
        for (String m : o.fallbackMethods()) {
            if (!m.equals(o.method()) && o.history().stream().noneMatch(h -> h.getMethod().equals(m))) {
                return new Decision(Route.METHOD, null, m, "architecture issue: " + o.method()
                    + " cannot reach the target with any layer in INT8; switching to " + m);
            }
        }
        return giveUp("architecture issue: nothing left to try with " + o.method() + " and no other method in the plan");
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
