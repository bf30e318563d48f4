package dev.quantflow.runtime.tune;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.quant.qdq.StaticQuantizationResult;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Measures, for one model on this CPU, which conv rule makes the static INT8 graph faster, instead of trusting a
 * fixed threshold: the candidate graphs (the recipe as given, and the same recipe with every Conv quantized,
 * {@code minConvReduction 0}) are built from the same statistics and timed in ONNX Runtime on a batch of calibration
 * samples, one intra-op thread, all optimizations: after one warm-up run each, {@link Options#rounds()} interleaved
 * rounds in which every graph runs for at least {@link Options#minRoundMs()} (at least once); the median per-run time
 * decides. The recipe as given
 * is kept unless another candidate is faster by more than {@link Options#minGain()} (timing noise on a shared CPU is
 * several percent).
 *
 * <p>Why: {@link StaticQuantRecipe#DEFAULT_MIN_CONV_REDUCTION} was measured on an AVX2 CPU without VNNI, where a
 * short integer reduction is mostly packing; on an AVX-512 VNNI CPU the MobileNetV2-style fixture ran 1.45× faster
 * than fp32 at batch 64 with every conv int8 but 1.04× with the threshold (docs/benchmarks.md, "Coverage on
 * PaddleOCR and MobileNet"). The statistics must cover every candidate: calibrate
 * {@link #tensorsToCalibrate(OnnxModel, StaticQuantRecipe)}.
 */
public final class StaticRecipeTuner {

    /** How long to measure. */
    public record Options(int batch, int rounds, double minRoundMs, double minGain) {

        public Options {
            if (batch < 1 || rounds < 1 || minRoundMs < 0 || minGain < 0) {
                throw new IllegalArgumentException("batch and rounds must be >= 1, minRoundMs and minGain >= 0");
            }
        }

        /**
         * Batch 32, 5 rounds of at least 100 ms per graph, 5% minimum gain: with 3 graphs about 1.5 s plus session
         * creation. Shorter runs mis-chose on a loaded 2-core machine (docs/benchmarks.md).
         */
        public static Options defaults() {
            return new Options(32, 5, 100, 0.05);
        }
    }

    /** One candidate: a name for the report and its recipe. */
    public record Candidate(String name, StaticQuantRecipe recipe) {
    }

    /** What one candidate measured. */
    public record Timing(String candidate, int int8Nodes, double medianMs) {
    }

    /**
     * The chosen quantization and what was measured.
     *
     * @param reason the choice in numbers, for the report
     */
    public record Choice(StaticQuantizationResult result, StaticQuantRecipe recipe, String chosen, double fp32MedianMs,
                         List<Timing> timings, String reason) {
    }

    private StaticRecipeTuner() {
    }

    /** The recipe as given first, then (when it keeps short convs fp32) the same recipe with every Conv int8. */
    public static List<Candidate> candidates(StaticQuantRecipe recipe) {
        List<Candidate> out = new ArrayList<>();
        out.add(new Candidate("minConvReduction " + recipe.minConvReduction(), recipe));
        if (recipe.minConvReduction() > 0) {
            out.add(new Candidate("every conv int8 (minConvReduction 0)", recipe.withMinConvReduction(0)));
        }
        return out;
    }

    /** The tensors whose ranges any candidate needs, in graph order of the first, then the rest. */
    public static List<String> tensorsToCalibrate(OnnxModel fp32, StaticQuantRecipe recipe) {
        Set<String> all = new LinkedHashSet<>();
        for (Candidate c : candidates(recipe)) {
            all.addAll(StaticQdqQuantizer.tensorsToCalibrate(fp32, c.recipe()));
        }
        return List.copyOf(all);
    }

    /**
     * Quantizes {@code fp32} with every candidate, times the graphs on the first {@link Options#batch()} rows of
     * {@code samples} (fewer if it has fewer), and returns the fastest by the rule in the class comment.
     */
    public static Choice choose(OnnxModel fp32, ActivationStatistics stats, StaticQuantRecipe recipe, NpzArchive samples,
                                Options options) {
        Objects.requireNonNull(samples, "samples");
        List<Candidate> candidates = candidates(recipe);
        StaticQdqQuantizer quantizer = new StaticQdqQuantizer();
        List<StaticQuantizationResult> results = new ArrayList<>();
        List<byte[]> models = new ArrayList<>();
        models.add(fp32.toByteArray());
        for (Candidate c : candidates) {
            StaticQuantizationResult r = quantizer.quantize(fp32, stats, c.recipe());
            results.add(r);
            models.add(r.model().toByteArray());
        }
        int rows = dev.quantflow.runtime.dataset.SampleAxes.samples(fp32, samples);
        int batch = Math.min(options.batch(), rows);
        double[] medians = time(models, samples, batch, options);
        List<Timing> timings = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            timings.add(new Timing(candidates.get(i).name(), results.get(i).quantizedNodes().size(), medians[i + 1]));
        }
        int best = pick(timings, options.minGain());
        StringBuilder reason = new StringBuilder(String.format(Locale.ROOT,
            "chose %s: median ms per run at batch %d (%d rounds of >= %.0f ms per graph, 1 thread):",
            candidates.get(best).name(), batch, options.rounds(), options.minRoundMs()));
        reason.append(String.format(Locale.ROOT, " fp32 %.3f", medians[0]));
        for (Timing t : timings) {
            reason.append(String.format(Locale.ROOT, ", %s %.3f (%d int8 nodes)", t.candidate(), t.medianMs(),
                t.int8Nodes()));
        }
        return new Choice(results.get(best), candidates.get(best).recipe(), candidates.get(best).name(), medians[0],
            List.copyOf(timings), reason.toString());
    }

    /**
     * Index of the chosen timing: the first (the recipe as given) unless the fastest one is faster than it by more
     * than {@code minGain} (a fraction of the first's time).
     */
    static int pick(List<Timing> timings, double minGain) {
        int fastest = 0;
        for (int i = 1; i < timings.size(); i++) {
            if (timings.get(i).medianMs() < timings.get(fastest).medianMs()) {
                fastest = i;
            }
        }
        return timings.get(fastest).medianMs() < timings.get(0).medianMs() * (1 - minGain) ? fastest : 0;
    }

    /** Median ms per run of each model, rounds interleaved after one warm-up round. */
    private static double[] time(List<byte[]> models, NpzArchive samples, int batch, Options options) {
        List<OrtSession> sessions = new ArrayList<>();
        List<List<Double>> ms = new ArrayList<>();
        try {
            for (byte[] m : models) {
                sessions.add(OrtModels.createSession(m, 1, OrtSession.SessionOptions.OptLevel.ALL_OPT));
                ms.add(new ArrayList<>());
            }
            try (OrtModels.InputBatch in = OrtModels.feed(sessions.get(0), samples, 0, batch)) {
                for (OrtSession s : sessions) {
                    s.run(in.tensors()).close(); // warm-up
                }
                for (int round = 0; round < options.rounds(); round++) {
                    for (int m = 0; m < sessions.size(); m++) {
                        long roundStart = System.nanoTime();
                        do {
                            long start = System.nanoTime();
                            sessions.get(m).run(in.tensors()).close();
                            ms.get(m).add((System.nanoTime() - start) / 1e6);
                        } while ((System.nanoTime() - roundStart) / 1e6 < options.minRoundMs());
                    }
                }
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed while timing the candidate graphs: " + e.getMessage(), e);
        } finally {
            for (OrtSession s : sessions) {
                try {
                    s.close();
                } catch (OrtException ignored) {
                    // closing a session we no longer use; nothing to recover
                }
            }
        }
        double[] medians = new double[ms.size()];
        for (int m = 0; m < ms.size(); m++) {
            List<Double> s = new ArrayList<>(ms.get(m));
            s.sort(null);
            medians[m] = s.get(s.size() / 2);
        }
        return medians;
    }
}
