package dev.quantflow.bench;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.eval.EvalOptions;
import dev.quantflow.runtime.eval.ModelEvaluator;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.prepare.ModelPreparer;
import dev.quantflow.runtime.prepare.PreparationOptions;
import dev.quantflow.runtime.prepare.PreparedModel;

/**
 * The Fashion-MNIST CNN exported with BatchNormalization and ReLU6 kept (fixtures/legacy, opset 9 and 11, weights as
 * initializers or as Constant nodes) against its BN-folded twin (the same network as torch's default export writes
 * it, Conv+BN folded, opset 13): each model goes the way a job does — model preparation, MinMax calibration on
 * calib.npz, static INT8 with the default recipe — and is measured side by side in one process: top-1 on the 2000
 * eval images, batch-64 latency (1 thread, rounds interleaved across models, median of all runs).
 *
 * <pre>bench/run-bn-kept.sh</pre>
 */
public final class BnKeptBench {

    private static final int ROUNDS = 7;
    private static final int REPS = 30;
    private static final int BATCH = 64;

    private BnKeptBench() {
    }

    private record Row(String name, byte[] model, double top1, List<Double> ms) {
    }

    public static void main(String[] args) throws Exception {
        Path legacy = Path.of("fixtures/legacy");
        Path fixture = Path.of("fixtures/fashion-cnn");
        NpzArchive calib = NpzArchive.read(fixture.resolve("calib.npz"));
        NpzArchive eval = NpzArchive.read(fixture.resolve("eval.npz"));
        String[][] models = {
            {"fixture CNN (ReLU, no BN; fixtures/fashion-cnn)", "../fashion-cnn/model.onnx"},
            {"BN-folded twin (torch default export, opset 13)", "cnn_bn_folded_opset13.onnx"},
            {"BN kept, opset 9", "cnn_bn_opset9.onnx"},
            {"BN kept, opset 11", "cnn_bn_opset11.onnx"},
            {"BN kept, opset 9, weights as Constant nodes", "cnn_bn_opset9_constants.onnx"},
        };
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<Row> rows = new ArrayList<>();
        for (String[] m : models) {
            Path file = legacy.resolve(m[1]);
            if (!Files.exists(file)) {
                System.out.println(m[0] + ": " + file + " missing (fixtures/legacy/export_legacy.py writes it)");
                continue;
            }
            byte[] original = Files.readAllBytes(file);
            PreparedModel prepared = ModelPreparer.prepare(original, calib, PreparationOptions.defaults());
            byte[] fp32 = prepared.model().toByteArray();
            StaticQuantRecipe recipe = StaticQuantRecipe.defaults();
            ActivationStatistics stats = CalibrationRunner.run(fp32,
                StaticQdqQuantizer.tensorsToCalibrate(prepared.model(), recipe), calib, CalibrationOptions.defaults(),
                dev.quantflow.runtime.calib.ProgressListener.NONE);
            var result = new StaticQdqQuantizer().quantize(prepared.model(), stats, recipe);
            long int8Nodes = result.decisions().stream().filter(dev.quantflow.quant.qdq.NodeDecision::quantized).count();
            System.out.printf(Locale.ROOT, "%s: %s; int8 %d of %d decided nodes%n", m[0], prepared.report().summary(),
                int8Nodes, result.decisions().size());
            rows.add(new Row(m[0] + " — fp32 as given", original, top1(original, eval), new ArrayList<>()));
            byte[] int8 = result.model().toByteArray();
            if (System.getenv("BN_KEPT_DUMP") != null) {
                Files.write(Path.of(System.getenv("BN_KEPT_DUMP"), file.getFileName().toString().replace(".onnx", "-int8.onnx")), int8);
                Files.write(Path.of(System.getenv("BN_KEPT_DUMP"), file.getFileName().toString().replace(".onnx", "-prepared.onnx")), fp32);
            }
            rows.add(new Row(m[0] + " — int8", int8, top1(int8, eval), new ArrayList<>()));
        }
        time(env, rows, eval.array("input"));

        double twinInt8 = rows.size() > 3 ? median(rows.get(3).ms()) : Double.NaN;
        StringBuilder table = new StringBuilder("| model | top-1 (2000 eval) | b64 median ms | vs twin int8 |\n|---|---|---|---|\n");
        for (Row r : rows) {
            table.append(String.format(Locale.ROOT, "| %s | %.2f%% | %.3f | %.2f× |%n", r.name(), r.top1(),
                median(r.ms()), median(r.ms()) / twinInt8));
        }
        System.out.println();
        System.out.println("date " + LocalDate.now() + ", ORT " + env.getVersion() + ", cpu " + StaticInt8Bench.cpuModel()
            + ", " + Runtime.getRuntime().availableProcessors() + " cpus, 1 intra-op thread, " + ROUNDS + " rounds × "
            + REPS + " runs at batch " + BATCH + " (interleaved)");
        System.out.print(table);
    }

    private static double top1(byte[] model, NpzArchive eval) {
        Double accuracy = ModelEvaluator.evaluate(model, eval, EvalOptions.defaults().withLatency(List.of())
            .withOutputName("logits")).accuracy();
        return 100 * accuracy;
    }

    private static void time(OrtEnvironment env, List<Row> rows, NdArray x) throws OrtException {
        float[] batch = Arrays.copyOf(x.toFloats(), BATCH * 784);
        List<OrtSession> sessions = new ArrayList<>();
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch), new long[] {BATCH, 1, 28, 28})) {
            for (Row r : rows) {
                try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                    o.setIntraOpNumThreads(1);
                    o.setInterOpNumThreads(1);
                    o.setOptimizationLevel(OptLevel.ALL_OPT);
                    sessions.add(env.createSession(r.model(), o));
                }
            }
            for (int round = -1; round < ROUNDS; round++) {     // round -1 warms up
                for (int i = 0; i < rows.size(); i++) {
                    OrtSession s = sessions.get(i);
                    Map<String, OnnxTensor> feed = Map.of(s.getInputNames().iterator().next(), t);
                    for (int rep = 0; rep < REPS; rep++) {
                        long start = System.nanoTime();
                        s.run(feed).close();
                        if (round >= 0) {
                            rows.get(i).ms().add((System.nanoTime() - start) / 1e6);
                        }
                    }
                }
            }
        } finally {
            for (OrtSession s : sessions) {
                s.close();
            }
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        return s.isEmpty() ? Double.NaN : s.get(s.size() / 2);
    }
}
