package dev.quantflow.profiler.service;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Profiles one model on this host and prints the profile as JSON:
 * <pre>
 *   ProfilerMain model.onnx [--batch N] [--throughput-batch N] [--seq-len N] [--vocab N] [--threads N]
 *                           [--warmup N] [--runs N] [--no-memory] [--features-only]
 * </pre>
 * {@code --features-only} prints just the host's features and format verdicts (no model needed: pass {@code -}).
 */
public final class ProfilerMain {

    private ProfilerMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help")) {
            System.err.println("usage: ProfilerMain model.onnx|- [--batch N] [--throughput-batch N] [--seq-len N] "
                + "[--vocab N] [--threads N] [--warmup N] [--runs N] [--no-memory] [--features-only]");
            System.exit(args.length == 0 ? 2 : 0);
        }
        ProfileOptions o = ProfileOptions.defaults();
        boolean featuresOnly = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--batch" -> o = o.withBatchSize(Integer.parseInt(args[++i]));
                case "--throughput-batch" -> o = o.withThroughputBatchSize(Integer.parseInt(args[++i]));
                case "--seq-len" -> o = o.withSequenceLength(Integer.parseInt(args[++i]));
                case "--vocab" -> o = o.withVocabSize(Integer.parseInt(args[++i]));
                case "--threads" -> o = o.withIntraOpThreads(Integer.parseInt(args[++i]));
                case "--warmup" -> o = o.withRuns(Integer.parseInt(args[++i]), o.measuredRuns());
                case "--runs" -> o = o.withRuns(o.warmupRuns(), Integer.parseInt(args[++i]));
                case "--no-memory" -> o = o.withMeasureMemory(false);
                case "--features-only" -> featuresOnly = true;
                default -> {
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (featuresOnly) {
            HardwareFeatures hw = HardwareFeatures.detect();
            var m = new java.util.LinkedHashMap<String, Object>();
            m.put("hardwareClass", hw.hardwareClass());
            m.put("int8Recipe", hw.isaRecipe().headline());
            m.put("int8RecipeReasons", hw.isaRecipe().reasons());
            m.put("hardware", hw);
            m.put("formats", hw.nativeFormats());
            m.put("energy", EnergyMeter.system().unavailableReason().map(r -> "unavailable: " + r).orElse("RAPL readable"));
            System.out.println(ProfileJson.mapper().writeValueAsString(m));
            return;
        }
        ModelProfile profile = ModelProfiler.forThisHost().profile(Files.readAllBytes(Path.of(args[0])), o);
        System.out.println(ProfileJson.write(profile));
    }
}
