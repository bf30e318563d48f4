package dev.quantflow.bench.gptq;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.llm.BlockQuantGrid;
import dev.quantflow.quant.llm.GptqQuantizer;
import dev.quantflow.quant.llm.LayerInputStats;
import dev.quantflow.quant.llm.ReconstructionError;
import dev.quantflow.quant.llm.RtnQuantizer;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.npz.NpzWriter;

/**
 * Our Java GPTQ ({@link GptqQuantizer}) against a PyTorch transcription of the published algorithm
 * ({@code bench/gptq/gptq_reference.py}) on the same layers and the same Hessians, in one run.
 *
 * <p>Steps: (1) the layers ({@code W [K, N]}, {@code H [K, K]}) are written as npz files with a config.json to the
 * work directory; (2) Java quantizes every layer once untimed (JIT warm-up), then again timed, one thread, one layer
 * at a time ({@code System.nanoTime} and the calling thread's CPU time around {@code GptqQuantizer.quantize}, from
 * the in-memory W and H, the minimum over {@code --repeats} passes); (3) the PyTorch reference runs on the directory
 * (one thread, one untimed warm-up layer, timed per layer the same way: perf_counter and thread_time, minimum over
 * the same number of passes). CPU time is reported next to wall time because a shared machine's load moves wall
 * time by factors; both sides are single-threaded, so CPU time is the work each did;
 * (4) both quantized weights are scored with the same formula, {@link ReconstructionError#relative}
 * {@code tr((W−Q)ᵀH(W−Q)) / tr(WᵀHW)}, in Java, next to RTN's; a table is printed and JSON written.
 *
 * <p>Layers: {@code --random} (default): 4 transformer layers of the fixture's shapes, q/k/v/o 256×256 (q, k, v
 * share one input), fc1 256×1024, fc2 1024×256, weights Gaussian, inputs correlated (low-rank plus per-channel
 * scale plus a few large channels, {@code --rows} tokens, seed fixed). Or {@code --fixture DIR} (e.g. fixtures/gpt):
 * every weight MatMul of {@code DIR/model.onnx} with the Hessians the calibration stage's code collects on
 * {@code DIR/calib.npz}. Or {@code --model FILE --stats FILE}: the same from a stored calibration artifact
 * ({@code layer-inputs.bin}).
 *
 * <p>Options: {@code --bits 4 --group 128 --sym --act-order --percdamp 0.01 --rows 2048 --repeats 3 --work DIR
 * --python /usr/bin/python3 --json FILE}.
 */
public final class GptqBench {

    /** One layer to quantize: the ONNX weight {@code [k, n]} and the Hessian of its input. */
    public record Layer(String name, float[] w, int k, int n, double[] h) {
    }

    /** Times in seconds: wall clock and the quantizing thread's CPU time, each the minimum over the repeats. */
    record Row(String name, int k, int n, double oursSeconds, double refSeconds, double oursCpuSeconds,
               double refCpuSeconds, double oursError, double refError, double rtnError) {
    }

    private GptqBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--sym") || a.equals("--act-order") || a.equals("--random")) {
                opt.put(a, "true");
            } else if (a.startsWith("--") && i + 1 < args.length) {
                opt.put(a, args[++i]);
            } else {
                throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        int bits = Integer.parseInt(opt.getOrDefault("--bits", "4"));
        int group = Integer.parseInt(opt.getOrDefault("--group", "128"));
        boolean sym = opt.containsKey("--sym");
        boolean actOrder = opt.containsKey("--act-order");
        double percDamp = Double.parseDouble(opt.getOrDefault("--percdamp", "0.01"));
        int rows = Integer.parseInt(opt.getOrDefault("--rows", "2048"));
        int repeats = Integer.parseInt(opt.getOrDefault("--repeats", "3"));
        Path work = Path.of(opt.getOrDefault("--work", "bench/target/gptq"));
        String python = opt.getOrDefault("--python", "/usr/bin/python3");
        Path json = Path.of(opt.getOrDefault("--json", work.resolve("gptq-bench.json").toString()));

        List<Layer> layers;
        String source;
        if (opt.containsKey("--fixture")) {
            Path dir = Path.of(opt.get("--fixture"));
            byte[] bytes = Files.readAllBytes(dir.resolve("model.onnx"));
            var calibration = dev.quantflow.runtime.llm.LlmCalibration.run(bytes,
                dev.quantflow.runtime.npz.NpzArchive.read(dir.resolve("calib.npz")),
                dev.quantflow.runtime.llm.LlmCalibrationOptions.defaults(), (d, t) -> { });
            layers = layersOf(OnnxModel.parse(bytes), calibration.stats());
            source = dir.resolve("model.onnx") + ": every weight MatMul, Hessians from calib.npz (" + calibration.tokens()
                + " tokens, the calibration stage's code)";
        } else if (opt.containsKey("--model")) {
            OnnxModel model = OnnxModel.parse(Files.readAllBytes(Path.of(opt.get("--model"))));
            layers = layersOf(model, readStats(Path.of(opt.get("--stats"))));
            source = opt.get("--model");
        } else {
            layers = randomLayers(rows, 20260101L);
            source = "random: 4 layers × (q,k,v,o 256×256, fc1 256×1024, fc2 1024×256), " + rows + " correlated rows";
        }
        Path in = work.resolve("layers");
        Path out = work.resolve("reference");
        writeLayers(layers, in, bits, group, sym, actOrder, percDamp, repeats);

        BlockQuantGrid grid = new BlockQuantGrid(bits, sym);
        GptqQuantizer gptq = new GptqQuantizer(grid, group, percDamp, actOrder);
        for (Layer l : layers) {
            gptq.quantize(l.w(), l.k(), l.n(), l.h()); // warm-up, not timed
        }
        Map<String, float[]> ours = new LinkedHashMap<>();
        Map<String, Double> oursTime = new LinkedHashMap<>();
        Map<String, Double> oursCpu = new LinkedHashMap<>();
        var threads = ManagementFactory.getThreadMXBean();
        for (int rep = 0; rep < repeats; rep++) {
            for (Layer l : layers) {
                long c0 = threads.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                var q = gptq.quantize(l.w(), l.k(), l.n(), l.h());
                long t1 = System.nanoTime();
                long c1 = threads.getCurrentThreadCpuTime();
                oursTime.merge(l.name(), (t1 - t0) / 1e9, Math::min);
                oursCpu.merge(l.name(), (c1 - c0) / 1e9, Math::min);
                ours.putIfAbsent(l.name(), q.dequantize());
            }
        }

        Path script = Path.of(opt.getOrDefault("--reference", "bench/gptq/gptq_reference.py"));
        Process p = new ProcessBuilder(python, script.toString(), in.toString(), out.toString()).inheritIO()
            .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("the PyTorch reference failed (exit " + p.exitValue() + ")");
        }
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Number>> refTimes = new ObjectMapper().readValue(out.resolve("times.json").toFile(),
            Map.class);

        List<Row> table = new ArrayList<>();
        RtnQuantizer rtn = new RtnQuantizer(grid, group);
        for (Layer l : layers) {
            float[] refQ = NpzArchive.read(out.resolve(l.name() + ".npz")).array("Q").toFloats();
            table.add(new Row(l.name(), l.k(), l.n(), oursTime.get(l.name()),
                refTimes.get("wall").get(l.name()).doubleValue(), oursCpu.get(l.name()),
                refTimes.get("cpu").get(l.name()).doubleValue(),
                ReconstructionError.relative(l.w(), ours.get(l.name()), l.k(), l.n(), l.h()),
                ReconstructionError.relative(l.w(), refQ, l.k(), l.n(), l.h()),
                ReconstructionError.relative(l.w(), rtn.quantize(l.w(), l.k(), l.n()).dequantize(), l.k(), l.n(),
                    l.h())));
        }
        print(table, source, bits, group, sym, actOrder, percDamp);
        writeJson(json, table, source, bits, group, sym, actOrder, percDamp);
    }

    private static void print(List<Row> table, String source, int bits, int group, boolean sym, boolean actOrder,
                              double percDamp) {
        System.out.printf(Locale.ROOT, "GPTQ %d-bit, group %d, %s, act-order %s, percdamp %.3g; %s%n", bits, group,
            sym ? "symmetric" : "asymmetric", actOrder, percDamp, source);
        System.out.printf(Locale.ROOT, "%-10s %5s %5s %8s %8s %6s %8s %8s %6s %11s %11s %11s%n", "layer", "K", "N",
            "java s", "torch s", "ratio", "java cpu", "torch cpu", "ratio", "java err", "torch err", "rtn err");
        double to = 0;
        double tr = 0;
        double co = 0;
        double cr = 0;
        int notWorse = 0;
        for (Row r : table) {
            System.out.printf(Locale.ROOT, "%-10s %5d %5d %8.4f %8.4f %6.3f %8.4f %8.4f %6.3f %11.5g %11.5g %11.5g%n",
                r.name(), r.k(), r.n(), r.oursSeconds(), r.refSeconds(), r.oursSeconds() / r.refSeconds(),
                r.oursCpuSeconds(), r.refCpuSeconds(), r.oursCpuSeconds() / r.refCpuSeconds(), r.oursError(),
                r.refError(), r.rtnError());
            to += r.oursSeconds();
            tr += r.refSeconds();
            co += r.oursCpuSeconds();
            cr += r.refCpuSeconds();
            if (r.oursError() <= r.refError()) {
                notWorse++;
            }
        }
        double meanOurs = table.stream().mapToDouble(Row::oursError).average().orElse(0);
        double meanRef = table.stream().mapToDouble(Row::refError).average().orElse(0);
        System.out.printf(Locale.ROOT, "total wall: java %.3f s, torch %.3f s, ratio %.3f; total cpu: java %.3f s, torch"
            + " %.3f s, ratio %.3f%nmean error java %.6g, torch %.6g; java error <= torch error on %d of %d layers%n",
            to, tr, to / tr, co, cr, co / cr, meanOurs, meanRef, notWorse, table.size());
    }

    /** The {@code --json} file: the settings, how it was timed and judged, the totals and one row per layer. */
    record Report(String benchmark, String source, int bits, int groupSize, boolean symmetric, boolean actOrder,
                  double percDamp, int threads, String timing, String error, double javaSeconds, double torchSeconds,
                  double javaCpuSeconds, double torchCpuSeconds, double meanJavaError, double meanTorchError,
                  List<Row> layers) {
    }

    private static void writeJson(Path json, List<Row> table, String source, int bits, int group, boolean sym,
                                  boolean actOrder, double percDamp) throws IOException {
        Report doc = new Report("gptq-java-vs-pytorch", source, bits, group, sym, actOrder, percDamp, 1,
            "per layer, in-memory W and H to quantized weights, wall clock and the thread's CPU time, minimum"
                + " over the repeats, warm-up excluded (java: one full untimed pass; torch: one untimed layer)",
            "tr((W-Q)^T H (W-Q)) / tr(W^T H W), undamped H, computed in Java for both",
            table.stream().mapToDouble(Row::oursSeconds).sum(), table.stream().mapToDouble(Row::refSeconds).sum(),
            table.stream().mapToDouble(Row::oursCpuSeconds).sum(), table.stream().mapToDouble(Row::refCpuSeconds).sum(),
            table.stream().mapToDouble(Row::oursError).average().orElse(0),
            table.stream().mapToDouble(Row::refError).average().orElse(0), table);
        Files.createDirectories(json.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), doc);
        System.out.println("wrote " + json);
    }

    /** Writes {@code <name>.npz} (W float32 [K, N], H float64 [K, K]) per layer and config.json to {@code dir}. */
    public static void writeLayers(List<Layer> layers, Path dir, int bits, int group, boolean sym, boolean actOrder,
                                   double percDamp, int repeats) throws IOException {
        Files.createDirectories(dir);
        List<String> names = new ArrayList<>();
        for (Layer l : layers) {
            NpzWriter.write(dir.resolve(l.name() + ".npz"), List.of(NdArray.ofFloats("W", l.w(), l.k(), l.n()),
                NdArray.ofDoubles("H", l.h(), l.k(), l.k())), false);
            names.add(l.name());
        }
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("bits", bits);
        cfg.put("group_size", group);
        cfg.put("symmetric", sym);
        cfg.put("act_order", actOrder);
        cfg.put("percdamp", percDamp);
        cfg.put("repeats", repeats);
        cfg.put("layers", names);
        new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), cfg);
    }

    /**
     * The layers of {@code model}: every default-domain MatMul whose second input is a constant 2-D float weight and
     * whose first input has statistics in {@code stats} (keyed by that input tensor's name), named by the node.
     */
    public static List<Layer> layersOf(OnnxModel model, Map<String, LayerInputStats> stats) {
        Map<String, OnnxMl.TensorProto> inits = model.initializers();
        Map<String, double[]> hessians = new LinkedHashMap<>();
        List<Layer> layers = new ArrayList<>();
        for (OnnxMl.NodeProto node : model.graph().getNodeList()) {
            if (!node.getOpType().equals("MatMul") || !node.getDomain().isEmpty() || node.getInputCount() != 2) {
                continue;
            }
            OnnxMl.TensorProto w = inits.get(node.getInput(1));
            LayerInputStats s = stats.get(node.getInput(0));
            if (w == null || s == null || w.getDataType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE
                || w.getDimsCount() != 2 || w.getDims(0) != s.k()) {
                continue;
            }
            double[] h = hessians.computeIfAbsent(node.getInput(0), t -> s.hessian());
            String name = node.getName().isEmpty() ? "matmul_" + layers.size() : node.getName();
            layers.add(new Layer(name.replaceAll("[^A-Za-z0-9_.-]", "_"), Tensors.toFloatArray(w),
                (int) w.getDims(0), (int) w.getDims(1), h));
        }
        return layers;
    }

    /** Reads a calibration artifact as the calibration stage stores it ({@code layer-inputs.bin}). */
    public static Map<String, LayerInputStats> readStats(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return dev.quantflow.runtime.llm.LlmCalibrationArtifact.read(in).stats();
        }
    }

    /** 4 transformer layers of the fixture's shapes with correlated random inputs (seeded). */
    static List<Layer> randomLayers(int rows, long seed) {
        Random r = new Random(seed);
        List<Layer> layers = new ArrayList<>();
        for (int layer = 0; layer < 4; layer++) {
            double[] hAttn = hessian(correlatedRows(r, rows, 256), rows, 256);
            double[] hO = hessian(correlatedRows(r, rows, 256), rows, 256);
            double[] hFc1 = hessian(correlatedRows(r, rows, 256), rows, 256);
            double[] hFc2 = hessian(correlatedRows(r, rows, 1024), rows, 1024);
            for (String p : List.of("q", "k", "v")) {
                layers.add(new Layer("l" + layer + "_" + p, gaussian(r, 256 * 256, 0.06f), 256, 256, hAttn));
            }
            layers.add(new Layer("l" + layer + "_o", gaussian(r, 256 * 256, 0.06f), 256, 256, hO));
            layers.add(new Layer("l" + layer + "_fc1", gaussian(r, 256 * 1024, 0.06f), 256, 1024, hFc1));
            layers.add(new Layer("l" + layer + "_fc2", gaussian(r, 1024 * 256, 0.03f), 1024, 256, hFc2));
        }
        return layers;
    }

    private static double[] hessian(float[] x, int rows, int k) {
        LayerInputStats s = new LayerInputStats("x", k, 0, 1L);
        s.accumulate(x, 0, rows);
        return s.hessian();
    }

    /**
     * {@code rows × k}: per token a rank-16 mixture of fixed random directions plus independent noise, channel
     * {@code j} scaled by {@code 0.3 + u_j}, and 1% of the channels 10× larger (LLM activations' outliers).
     */
    static float[] correlatedRows(Random r, int rows, int k) {
        int rank = 16;
        float[] dirs = gaussian(r, rank * k, 1f);
        float[] scale = new float[k];
        for (int j = 0; j < k; j++) {
            scale[j] = (0.3f + r.nextFloat()) * (r.nextInt(100) == 0 ? 10f : 1f);
        }
        float[] x = new float[rows * k];
        float[] coef = new float[rank];
        for (int row = 0; row < rows; row++) {
            for (int t = 0; t < rank; t++) {
                coef[t] = (float) r.nextGaussian();
            }
            int base = row * k;
            for (int j = 0; j < k; j++) {
                float v = 0.5f * (float) r.nextGaussian();
                for (int t = 0; t < rank; t++) {
                    v += coef[t] * dirs[t * k + j];
                }
                x[base + j] = v * scale[j];
            }
        }
        return x;
    }

    private static float[] gaussian(Random r, int count, float std) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) r.nextGaussian() * std;
        }
        return a;
    }
}
