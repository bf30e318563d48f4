package dev.quantflow.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaRecipe;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.quant.qdq.StaticQuantizationResult;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.diagnostics.DiagnosticsOptions;
import dev.quantflow.runtime.diagnostics.LayerDiagnostics;
import dev.quantflow.runtime.diagnostics.LayerReport;
import dev.quantflow.runtime.eval.ComparisonOptions;
import dev.quantflow.runtime.eval.ComparisonResult;
import dev.quantflow.runtime.eval.OutputComparison;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.prepare.ModelPreparer;
import dev.quantflow.runtime.prepare.PreparationOptions;
import dev.quantflow.runtime.prepare.PreparedModel;

/**
 * Mean IoU of the PaddleOCR detector's probability map, fp32 against static INT8, on rendered pages: the steps of a
 * {@code --method static --metric iou} job without the services. The original fp32 model is prepared
 * ({@link ModelPreparer}: Constants to initializers, opset upgrade, BN folding), calibrated (MinMax unless named) on
 * {@code det_calib.npz}, quantized by {@link StaticQdqQuantizer} (default recipe), and its map compared with the
 * original model's on {@code det_eval.npz} ({@link OutputComparison}, binarized at {@code value > t}).
 *
 * <p>{@code DetIouBench MODEL DATA_DIR [THREADS] [THRESHOLD] [CALIBRATOR] [rule | sweep [DIAG_PAGES]]}:
 * {@code DATA_DIR} holds {@code det_calib.npz} and {@code det_eval.npz} of
 * {@code dev.quantflow.runtime.ocr.OcrDataRenderer}. {@code rule}: the debug loop's noisy-prefix rule against the
 * default recipe, IoU and b1/b64 latency; {@code sweep}: per-layer SQNR and IoU with layers kept fp32.
 * {@code -Ddet.evalPages=N} compares the first N eval pages only, {@code -Ddet.weights=reduced} forces 7-bit weights.
 */
public final class DetIouBench {

    private DetIouBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: DetIouBench MODEL DATA_DIR [THREADS] [THRESHOLD] [CALIBRATOR] [rule | sweep [DIAG_PAGES]]");
            System.exit(2);
        }
        byte[] original = Files.readAllBytes(Path.of(args[0]));
        Path dir = Path.of(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        double threshold = args.length > 3 ? Double.parseDouble(args[3]) : ComparisonOptions.DEFAULT_MAP_THRESHOLD;
        String calibrator = args.length > 4 ? args[4] : CalibrationOptions.defaults().calibrator();
        NpzArchive calib = NpzArchive.read(dir.resolve("det_calib.npz"));
        NpzArchive eval = NpzArchive.read(dir.resolve("det_eval.npz"));
        int evalPages = Integer.getInteger("det.evalPages", 0);
        if (evalPages > 0) {
            eval = eval.slice(eval.names(), 0, evalPages);
        }

        long t0 = System.nanoTime();
        PreparedModel prepared = ModelPreparer.prepare(original, null,
            PreparationOptions.defaults().withInputShape("x", 1, 3, 320, 320));
        byte[] fp32 = prepared.model().toByteArray();
        System.out.printf(Locale.ROOT, "prepared in %.1f s: %s | %s%n", seconds(t0), prepared.report().summary(),
            prepared.check().summary());

        t0 = System.nanoTime();
        // The weight range a job on this host gets (StaticQuantizerStage: IsaRecipe for the host: 8-bit weights with
        // VNNI/AMX, 7-bit without); -Ddet.weights=reduced forces the 7-bit range of StaticQuantRecipe.defaults().
        IsaRecipe isa = IsaRecipe.forHost(CpuFeatures.host());
        boolean reduced = "reduced".equals(System.getProperty("det.weights")) || isa.reduceRangeWeights();
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults().withReduceRangeWeights(reduced);
        System.out.printf(Locale.ROOT, "host %s: %d-bit weights%n", isa.isaClass(), reduced ? 7 : 8);
        ActivationStatistics stats = CalibrationRunner.run(fp32,
            StaticQdqQuantizer.tensorsToCalibrate(prepared.model(), recipe), calib,
            CalibrationOptions.defaults().withIntraOpThreads(threads).withCalibrator(calibrator), ProgressListener.NONE);
        System.out.printf(Locale.ROOT, "calibrated (%s) on %d pages in %.1f s%n", calibrator, stats.samples(),
            seconds(t0));

        t0 = System.nanoTime();
        StaticQuantizationResult int8 = new StaticQdqQuantizer().quantize(OnnxModel.parse(fp32), stats, recipe);
        System.out.printf(Locale.ROOT, "quantized in %.1f s: %d nodes int8, %d kept fp32%n", seconds(t0),
            int8.quantizedNodes().size(), int8.keptFloatNodes().size());

        ComparisonOptions options = ComparisonOptions.defaults().withIntraOpThreads(threads).withBatchSize(8)
            .withMapThreshold(threshold);
        t0 = System.nanoTime();
        print("original fp32 vs prepared fp32", OutputComparison.compare(original, fp32, eval, options), t0);
        t0 = System.nanoTime();
        print("original fp32 vs static int8  ", OutputComparison.compare(original, int8.model().toByteArray(), eval,
            options), t0);
        if (args.length > 5 && args[5].equals("rule")) {
            rule(original, fp32, stats, recipe, int8, calib, eval, options, threads);
        }
        if (args.length > 5 && args[5].equals("sweep")) {
            sweep(original, fp32, stats, recipe, int8, calib, eval, options, threads,
                args.length > 6 ? Integer.parseInt(args[6]) : 16);
        }
    }

    /**
     * The debug loop's noisy-prefix rule ({@link LayerDiagnostics#noisyPrefix}, per-layer SQNR on 8 calibration
     * pages) against the default recipe: IoU on the eval pages, then batch-1 and batch-64 latency of the prepared fp32
     * model, the default int8 and the int8 with the prefix fp32, in one process (1 intra-op thread, ORT ALL, rounds
     * interleaved after a warm-up round; median).
     */
    private static void rule(byte[] original, byte[] fp32, ActivationStatistics stats, StaticQuantRecipe recipe,
                             StaticQuantizationResult int8, NpzArchive calib, NpzArchive eval,
                             ComparisonOptions options, int threads) throws OrtException {
        long t0 = System.nanoTime();
        List<LayerReport> layers = LayerDiagnostics.compare(fp32, int8.model().toByteArray(), calib,
            DiagnosticsOptions.defaults().withMaxSamples(8).withIntraOpThreads(threads));
        Optional<LayerDiagnostics.NoisyPrefix> prefix = LayerDiagnostics.noisyPrefix(layers);
        System.out.printf(Locale.ROOT, "diagnostics in %.1f s; rule: %s%n", seconds(t0),
            prefix.map(LayerDiagnostics.NoisyPrefix::reason).orElse("did not fire"));
        if (prefix.isEmpty()) {
            return;
        }
        Set<String> keep = new LinkedHashSet<>(recipe.excludedNodes());
        keep.addAll(prefix.get().nodes());
        StaticQuantizationResult q = new StaticQdqQuantizer().quantize(OnnxModel.parse(fp32), stats,
            new StaticQuantRecipe(keep, recipe.perChannelWeights(), recipe.activationType(),
                recipe.reduceRangeWeights(), recipe.minConvReduction()));
        System.out.printf(Locale.ROOT, "with the prefix fp32: %d nodes int8, %d kept fp32%n", q.quantizedNodes().size(),
            q.keptFloatNodes().size());
        byte[] ruled = q.model().toByteArray();
        t0 = System.nanoTime();
        print("original fp32 vs int8 + rule  ", OutputComparison.compare(original, ruled, eval, options), t0);
        NdArray x = eval.arrays().iterator().next();
        List<byte[]> models = List.of(fp32, int8.model().toByteArray(), ruled);
        int rounds = Integer.getInteger("det.rounds", 5);
        time("b1 ", models, x.slice(0, 1), 5, rounds);
        time("b64", models, x.slice(0, Math.min(64, x.rows())), 1, rounds);
    }

    private static void time(String what, List<byte[]> models, NdArray x, int reps, int rounds) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<List<Double>> ms = new ArrayList<>();
        List<OrtSession> sessions = new ArrayList<>();
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toFloats()), x.shape())) {
            for (byte[] m : models) {
                try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                    o.setIntraOpNumThreads(1);
                    o.setInterOpNumThreads(1);
                    o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                    sessions.add(env.createSession(m, o));
                }
                ms.add(new ArrayList<>());
            }
            for (int round = -1; round < rounds; round++) {
                for (int m = 0; m < sessions.size(); m++) {
                    Map<String, OnnxTensor> feed = Map.of(sessions.get(m).getInputNames().iterator().next(), t);
                    for (int r = 0; r < reps; r++) {
                        long start = System.nanoTime();
                        sessions.get(m).run(feed).close();
                        if (round >= 0) {
                            ms.get(m).add((System.nanoTime() - start) / 1e6);
                        }
                    }
                }
            }
        } finally {
            for (OrtSession s : sessions) {
                s.close();
            }
        }
        double[] med = new double[ms.size()];
        for (int m = 0; m < ms.size(); m++) {
            List<Double> sorted = new ArrayList<>(ms.get(m));
            sorted.sort(null);
            med[m] = sorted.get(sorted.size() / 2);
        }
        System.out.printf(Locale.ROOT, "%s (median of %d runs): prepared fp32 %.2f ms; int8 default %.2f ms (%.2fx);"
                + " int8 + rule %.2f ms (%.2fx)%n", what, ms.get(0).size(), med[0], med[1], med[0] / med[1], med[2],
            med[0] / med[2]);
    }

    /**
     * Where the IoU is lost: per-layer SQNR ({@link LayerDiagnostics}) of the default int8 model on the first
     * {@code diagPages} calibration pages, the quantized layers ranked by their own SQNR, then the IoU on the eval
     * pages with the lowest 1, 3, 5% and 10% of them kept fp32.
     */
    private static void sweep(byte[] original, byte[] fp32, ActivationStatistics stats, StaticQuantRecipe recipe,
                              StaticQuantizationResult int8, NpzArchive calib, NpzArchive eval,
                              ComparisonOptions options, int threads, int diagPages) {
        long t0 = System.nanoTime();
        List<LayerReport> layers = LayerDiagnostics.compare(fp32, int8.model().toByteArray(), calib,
            DiagnosticsOptions.defaults().withMaxSamples(diagPages).withIntraOpThreads(threads));
        System.out.printf(Locale.ROOT, "diagnostics on %d calib pages in %.1f s%n", diagPages, seconds(t0));
        List<LayerReport> ranked = layers.stream()
            .filter(r -> r.quantized() && r.compared() && r.layerSqnrDb() != null)
            .sorted(Comparator.comparingDouble(LayerReport::layerSqnrDb)).toList();
        for (LayerReport r : layers) {
            if (r.compared()) {
                System.out.printf(Locale.ROOT, "  layer %-40s %-18s q=%-5s out %7.2f in %7.2f own %7.2f%n", r.node(),
                    r.opType(), r.quantized(), r.sqnrDb(), r.inputSqnrDb() == null ? Double.NaN : r.inputSqnrDb(),
                    r.layerSqnrDb() == null ? Double.NaN : r.layerSqnrDb());
            }
        }
        System.out.printf(Locale.ROOT, "%d quantized layers ranked; lowest own SQNR:%n", ranked.size());
        ranked.stream().limit(20).forEach(r -> System.out.printf(Locale.ROOT, "  %-40s %-18s own %7.2f out %7.2f%n",
            r.node(), r.opType(), r.layerSqnrDb(), r.sqnrDb()));
        // Noise amplifiers: layers whose output SQNR is >= 5 dB below their input SQNR. Keeping one fp32 does not
        // help when the noise is in its input; try keeping the whole graph prefix up to it fp32.
        List<String> order = layers.stream().map(LayerReport::node).toList();
        List<LayerReport> amplifiers = layers.stream().filter(r -> r.compared() && r.inputSqnrDb() != null
            && r.inputSqnrDb() - r.sqnrDb() >= 5).limit(3).toList();
        for (LayerReport amp : amplifiers) {
            Set<String> keep = new LinkedHashSet<>(recipe.excludedNodes());
            keep.addAll(order.subList(0, order.indexOf(amp.node()) + 1));
            StaticQuantRecipe variant = new StaticQuantRecipe(keep, recipe.perChannelWeights(), recipe.activationType(),
                recipe.reduceRangeWeights(), recipe.minConvReduction());
            StaticQuantizationResult q = new StaticQdqQuantizer().quantize(OnnxModel.parse(fp32), stats, variant);
            long t1 = System.nanoTime();
            print(String.format(Locale.ROOT, "prefix through %s (%.1f -> %.1f dB, %d nodes) fp32", amp.node(),
                amp.inputSqnrDb(), amp.sqnrDb(), keep.size()),
                OutputComparison.compare(original, q.model().toByteArray(), eval, options), t1);
        }
        int n = ranked.size();
        if (Boolean.getBoolean("det.skipRanked")) {
            return;
        }
        for (int k : new int[] {1, 3, Math.max(1, (int) Math.ceil(0.05 * n)), Math.max(1, (int) Math.ceil(0.10 * n))}) {
            Set<String> keep = new LinkedHashSet<>(recipe.excludedNodes());
            ranked.stream().limit(k).forEach(r -> keep.add(r.node()));
            StaticQuantRecipe variant = new StaticQuantRecipe(keep, recipe.perChannelWeights(), recipe.activationType(),
                recipe.reduceRangeWeights(), recipe.minConvReduction());
            StaticQuantizationResult q = new StaticQdqQuantizer().quantize(OnnxModel.parse(fp32), stats, variant);
            long t1 = System.nanoTime();
            print(String.format(Locale.ROOT, "lowest %3d own-SQNR layers fp32 ", k),
                OutputComparison.compare(original, q.model().toByteArray(), eval, options), t1);
        }
    }

    private static void print(String what, ComparisonResult r, long t0) {
        System.out.printf(Locale.ROOT, "%s: %d pages, map > %.2f: mean IoU %.4f, min IoU %.4f; mean cosine %.5f; "
                + "max |diff| %.4f; fp32 map in [%.4f, %.4f] (%.1f s)%n", what, r.samples(), r.mapThreshold(),
            r.meanIou(), r.minIou(), r.meanCosine(), r.maxAbsDiff(), r.referenceMin(), r.referenceMax(), seconds(t0));
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
