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
import dev.quantflow.pipeline.QuantMethod;

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
 *   <li><b>noise-amplifying front</b> (per-layer diagnostics found a quantized layer in the first 10% of the graph
 *       whose own SQNR is below 10 dB: {@code LayerDiagnostics.noisyPrefix}) → keep that layer and every node before
 *       it fp32, back to the quantizer, once. Before the calibrator rule: such a layer amplifies the quantization
 *       noise of its input, which no calibrator removes (PP-OCRv4 det: percentile 0.934 mean IoU, the prefix 0.96;
 *       docs/benchmarks.md); and before "sensitive layers", which would keep the layer alone fp32 and change nothing;</li>
 *   <li><b>calibration issue</b> (some activation ranges dominated by outliers) → back to calibration with the next
 *       calibrator not tried yet: minmax → percentile:99.99 → entropy → mse;</li>
 *   <li><b>sensitive layers</b> → keep the lowest-SQNR quantized nodes in fp32, back to the quantizer; the first such
 *       retry keeps one node, the next two more, and so on (fewest nodes first);</li>
 *   <li><b>architecture issue</b> (nothing left to try with this method) → the next method of the plan, else give up.</li>
 * </ol>
 *
 * <p>4-bit LLM jobs (gptq, awq, rtn), after the budget and runtime-error rules: first the methods of the plan not
 * tried yet (RTN → GPTQ → AWQ), each at the job's own bits and block size, since another method keeps the model's
 * size; then, with the last method, a smaller block size (128 → 64 → 32); then the layers with the largest relative
 * reconstruction error kept at 8 bits (one more per retry: 1, 2, 3 …); else give up.
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

    /** The graph prefix to keep fp32 (its nodes in graph order) and the rule's reason in numbers. */
    public record NoisyPrefix(List<String> nodes, String reason) {
        public NoisyPrefix {
            nodes = List.copyOf(nodes);
        }
    }

    /** A quantized node and how much signal survives at its output. */
    public record LayerSensitivity(String node, double sqnrDb) {
    }

    /**
     * What the validator saw. {@code latencyMs} is the quantized model's batch-1 p50, given only when the quality
     * target was met (see {@link #latencyMissed}); {@code maxLatencyMs} the job's target or null. Built with
     * {@link #builder}: only the recipe, method and attempt counters are required; lists default to empty.
     */
    public record Observations(Recipe recipe, QuantMethod method, int attempt, int maxAttempts, Instant now, Instant deadline,
                               List<AttemptRecord> history, List<LayerSensitivity> layers, List<String> outlierTensors,
                               String runtimeErrorNode, Double sizeRatio, Double maxSizeRatio,
                               List<QuantMethod> fallbackMethods, TrainingOutcome training, Double latencyMs,
                               Double maxLatencyMs, NoisyPrefix noisyPrefix) {

        public Observations {
            history = history == null ? List.of() : List.copyOf(history);
            layers = layers == null ? List.of() : List.copyOf(layers);
            outlierTensors = outlierTensors == null ? List.of() : List.copyOf(outlierTensors);
            fallbackMethods = fallbackMethods == null ? List.of() : List.copyOf(fallbackMethods);
            now = now == null ? Instant.now() : now;
        }

        public static Builder builder(Recipe recipe, QuantMethod method, int attempt, int maxAttempts) {
            return new Builder(recipe, method, attempt, maxAttempts);
        }

        /**
         * The latency target was set and missed while the quality target was met. When quality missed too, the
         * quality rules come first: a fast model that misses accuracy is of no use.
         */
        boolean latencyMissed() {
            return maxLatencyMs != null && latencyMs != null && latencyMs > maxLatencyMs;
        }

        /** The recipe of the job's first attempt: the job's own options, before any debug-loop change. */
        Recipe originalRecipe() {
            return history.stream().min(Comparator.comparingInt(AttemptRecord::getAttempt))
                .map(AttemptRecord::getRecipe).orElse(recipe);
        }

        /** Fluent construction of {@link Observations}. */
        public static final class Builder {
            private final Recipe recipe;
            private final QuantMethod method;
            private final int attempt;
            private final int maxAttempts;
            private Instant now;
            private Instant deadline;
            private List<AttemptRecord> history;
            private List<LayerSensitivity> layers;
            private List<String> outlierTensors;
            private String runtimeErrorNode;
            private Double sizeRatio;
            private Double maxSizeRatio;
            private List<QuantMethod> fallbackMethods;
            private TrainingOutcome training;
            private Double latencyMs;
            private Double maxLatencyMs;
            private NoisyPrefix noisyPrefix;

            private Builder(Recipe recipe, QuantMethod method, int attempt, int maxAttempts) {
                this.recipe = recipe;
                this.method = method;
                this.attempt = attempt;
                this.maxAttempts = maxAttempts;
            }

            public Builder now(Instant v) { now = v; return this; }
            public Builder deadline(Instant v) { deadline = v; return this; }
            public Builder history(List<AttemptRecord> v) { history = v; return this; }
            public Builder layers(List<LayerSensitivity> v) { layers = v; return this; }
            public Builder outlierTensors(List<String> v) { outlierTensors = v; return this; }
            public Builder runtimeErrorNode(String v) { runtimeErrorNode = v; return this; }
            public Builder sizeRatio(Double v) { sizeRatio = v; return this; }
            public Builder maxSizeRatio(Double v) { maxSizeRatio = v; return this; }
            public Builder fallbackMethods(List<QuantMethod> v) { fallbackMethods = v; return this; }
            public Builder training(TrainingOutcome v) { training = v; return this; }
            public Builder latencyMs(Double v) { latencyMs = v; return this; }
            public Builder maxLatencyMs(Double v) { maxLatencyMs = v; return this; }
            public Builder noisyPrefix(NoisyPrefix v) { noisyPrefix = v; return this; }

            public Observations build() {
                return new Observations(recipe, method, attempt, maxAttempts, now, deadline, history, layers, outlierTensors,
                    runtimeErrorNode, sizeRatio, maxSizeRatio, fallbackMethods, training, latencyMs, maxLatencyMs, noisyPrefix);
            }
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
     * @param recipe    the next attempt's recipe (for CALIBRATION, QUANTIZE and METHOD)
     * @param method    the next method (for METHOD)
     * @param diagnosis what was found, in words for the report
     */
    public record Decision(Route route, Recipe recipe, QuantMethod method, String diagnosis) {
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
        if (o.method().isLlm()) {
            return decideLlm(o, r);
        }
        if (o.method().family() == QuantMethod.Family.QAT) {
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
        NoisyPrefix prefix = o.noisyPrefix();
        boolean prefixTried = o.history().stream().anyMatch(h -> h.getDiagnosis().startsWith("noise-amplifying front"));
        if (prefix != null && !prefixTried && !r.getExcludedNodes().containsAll(prefix.nodes())) {
            Map<String, String> reasons = new LinkedHashMap<>();
            prefix.nodes().forEach(n -> reasons.put(n, prefix.reason()));
            Recipe nr = excludeWithReasons(r, reasons, "noise-amplifying front: keep the first " + prefix.nodes().size()
                + " node(s) in fp32");
            return new Decision(Route.QUANTIZE, nr, null, "noise-amplifying front: " + prefix.reason() + "; keeping "
                + prefix.nodes().size() + " node(s) in fp32");
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

    /** Smallest block size the loop goes down to. */
    static final int MIN_BLOCK_SIZE = 32;

    private static Decision decideLlm(Observations o, Recipe r) {
        // Another method first: it keeps the model's size; smaller blocks and 8-bit layers each cost size.
        Decision other = nextMethod(o, (o.method() == QuantMethod.RTN ? "round-to-nearest" : o.method().toString())
            + " misses the perplexity budget at " + r.getBits() + " bits, blocks of " + r.getBlockSize());
        if (other != null) {
            return other;
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
        return giveUp("nothing left to try with " + o.method() + " (smallest blocks, sensitive layers at 8 bits) "
            + "and every method of the plan tried");
    }

    /**
     * The first fallback method of the plan not tried yet. The next attempt starts from the job's own options (the
     * first attempt's recipe: bits, block size, excluded nodes, training parameters), not from what the debug loop
     * changed for the previous method; bits the new method cannot produce become its default.
     */
    private static Decision nextMethod(Observations o, String why) {
        for (QuantMethod m : o.fallbackMethods()) {
            if (m != o.method() && o.history().stream().noneMatch(h -> m.wireName().equals(h.getMethod()))) {
                return new Decision(Route.METHOD, switchedRecipe(o.originalRecipe(), m), m,
                    "architecture issue: " + why + "; switching to " + m);
            }
        }
        return null;
    }

    static Recipe switchedRecipe(Recipe original, QuantMethod next) {
        Recipe.Builder b = Recipe.newBuilder(original).setHighPrecisionNodes(List.of()).setInt8Only(false)
            .setNote("method switched to " + next + " (the job's own options carried over)");
        if (!next.allowsBits(original.getBits())) {
            b.setBits(next.defaultBits());
        }
        if (next.defaultBlockSize() > 0 && original.getBlockSize() <= 0) {
            b.setBlockSize(next.defaultBlockSize());
        }
        return b.build();
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
