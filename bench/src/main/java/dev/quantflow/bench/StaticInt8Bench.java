package dev.quantflow.bench;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.TensorRange;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaClass;
import dev.quantflow.quant.isa.IsaRecipe;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Static INT8 on the Fashion-MNIST CNN: calibrates MinMax on calib.npz, quantizes with {@link StaticQdqQuantizer} in
 * several variants, and measures every variant in one process with one intra-op thread: top-1 on eval.npz, file size,
 * and latency at batch 256 and batch 1 (warm-up excluded, median and p95 over repeated runs). Latency samples are
 * taken in interleaved rounds (every variant runs a block in each round), so machine noise spreads over all variants
 * and their ratios stay comparable.
 *
 * <p>{@code --isa}: the ISA choices only ({@link #isa}). {@code --profile}: ONNX Runtime's per-node profile.
 *
 * <p>Arguments: {@code [fixtureDir] [referenceDir]} (defaults fixtures/fashion-cnn, bench/reference). If the reference
 * directory holds {@code fashion-cnn-torch-int8.onnx} it is measured too; {@code torch-results.json} is printed as
 * that script measured it.
 */
public final class StaticInt8Bench {

    private static final int ROUNDS = 5;
    private static final int REPS_256 = 12;
    private static final int REPS_1 = 200;
    private static final int WARMUP_256 = 5;
    private static final int WARMUP_1 = 50;
    private static final int ISA_ROUNDS = 10;
    private static final int ISA_REPS = 30;
    private static final int ISA_WARMUP = 10;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    record Variant(String name, byte[] model, OptLevel level, Map<String, String> config) {
    }

    private static final class Measured {
        final Variant variant;
        final OrtSession session;
        final String input;
        final String output;
        double top1;
        final List<Double> ms256 = new ArrayList<>();
        final List<Double> ms1 = new ArrayList<>();

        Measured(Variant variant, OrtSession session) throws OrtException {
            this.variant = variant;
            this.session = session;
            this.input = session.getInputNames().iterator().next();
            this.output = session.getOutputNames().iterator().next();
        }
    }

    public static void main(String[] args) throws Exception {
        boolean profile = Arrays.asList(args).contains("--profile");
        boolean isa = Arrays.asList(args).contains("--isa");
        List<String> positional = Arrays.stream(args).filter(a -> !a.startsWith("--")).toList();
        Path fixture = Path.of(positional.size() > 0 ? positional.get(0) : "fixtures/fashion-cnn");
        Path reference = Path.of(positional.size() > 1 ? positional.get(1) : "bench/reference");
        if (isa) {
            new StaticInt8Bench().isa(fixture);
        } else if (profile) {
            new StaticInt8Bench().profile(fixture, reference);
        } else {
            new StaticInt8Bench().run(fixture, reference);
        }
    }

    /**
     * Where the time goes: ONNX Runtime's own per-node profile (batch 256, 20 runs after warm-up) of fp32, of the
     * default INT8 model, of the one with every conv in int8 (and of the PyTorch-exported one when present).
     */
    void profile(Path fixture, Path reference) throws Exception {
        byte[] fp32Bytes = Files.readAllBytes(fixture.resolve("model.onnx"));
        OnnxModel fp32 = OnnxModel.parse(fp32Bytes);
        NdArray calib = NpzArchive.read(fixture.resolve("calib.npz")).array("input");
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults();
        StaticQuantRecipe allConvs = recipe.withMinConvReduction(0);
        ActivationStatistics stats = minMax(fp32, tensorsFor(fp32, recipe, allConvs), calib.toFloats(), calib.shape());
        Map<String, byte[]> models = new LinkedHashMap<>();
        models.put("fp32", fp32Bytes);
        models.put("quantflow int8 (default: conv1 fp32, K = 9)",
            new StaticQdqQuantizer().quantize(fp32, stats, recipe).model().toByteArray());
        models.put("quantflow int8, every conv int8 (minConvReduction 0)",
            new StaticQdqQuantizer().quantize(fp32, stats, allConvs).model().toByteArray());
        Path torchModel = reference.resolve("fashion-cnn-torch-int8.onnx");
        if (Files.exists(torchModel)) {
            models.put("torch-exported int8", Files.readAllBytes(torchModel));
        }
        float[] x = Arrays.copyOf(NpzArchive.read(fixture.resolve("eval.npz")).array("input").toFloats(), 256 * 784);
        profileModels(models, x, new long[] {256, 1, 28, 28});
    }

    /**
     * ONNX Runtime's per-node profile of each model on input {@code x} of {@code shape} (one intra-op thread, ALL,
     * 5 warm-up runs in a session of their own, then 25 profiled runs of which the first 5 are dropped): median ms
     * per node per run, and the total.
     */
    void profileModels(Map<String, byte[]> models, float[] x, long[] shape) throws Exception {
        for (Map.Entry<String, byte[]> e : models.entrySet()) {
            Path prefix = Files.createTempDirectory("ortprof").resolve("profile");
            Path file;
            try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                opts.setIntraOpNumThreads(1);
                opts.setInterOpNumThreads(1);
                opts.setOptimizationLevel(OptLevel.ALL_OPT);
                try (OrtSession s = env.createSession(e.getValue(), opts);
                     OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape)) {
                    String in = s.getInputNames().iterator().next();
                    for (int i = 0; i < 5; i++) {
                        s.run(Map.of(in, t)).close();
                    }
                }
                opts.enableProfiling(prefix.toString());
                try (OrtSession s = env.createSession(e.getValue(), opts);
                     OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape)) {
                    String in = s.getInputNames().iterator().next();
                    for (int i = 0; i < 25; i++) {
                        s.run(Map.of(in, t)).close();
                    }
                    file = Path.of(s.endProfiling());
                }
            }
            Map<String, Double> byOp = new LinkedHashMap<>();
            Map<String, List<Double>> byNode = new LinkedHashMap<>();
            for (JsonNode ev : new ObjectMapper().readTree(file.toFile())) {
                if (ev.path("cat").asText().equals("Node") && ev.path("name").asText().endsWith("_kernel_time")) {
                    String node = ev.path("name").asText().replace("_kernel_time", "");
                    String op = ev.path("args").path("op_name").asText();
                    byNode.computeIfAbsent(op + " " + node, k -> new ArrayList<>()).add(ev.path("dur").asDouble() / 1000.0);
                }
            }
            System.out.println();
            System.out.println("ORT profile, " + e.getKey() + ", input " + Arrays.toString(shape)
                + ", median ms per run per node (last 20 of 25 runs):");
            double total = 0;
            for (Map.Entry<String, List<Double>> n : byNode.entrySet()) {
                List<Double> d = n.getValue().subList(Math.min(5, n.getValue().size()), n.getValue().size());
                double med = median(d);
                total += med;
                byOp.merge(n.getKey().split(" ")[0], med, Double::sum);
                System.out.printf("  %-60s %8.3f%n", n.getKey(), med);
            }
            System.out.printf("  %-60s %8.3f%n", "TOTAL", total);
            Files.deleteIfExists(file);
        }
    }

    /**
     * The recipe choices that depend on the CPU, on this CPU: 7-bit vs 8-bit weights and u8 vs s8 activations (the
     * default recipe otherwise), with fp32 as the reference; batch 256, one thread, top-1 on eval.npz, all in one
     * process with interleaved rounds. Marks the variant {@link IsaRecipe#forHost} picks here, and prints the CPU
     * model, its ISA flags and class, and the ONNX Runtime version.
     */
    /** The fashion-CNN fixture as both runs read it: the fp32 model, the calibration images, the eval set. */
    private record Cnn(byte[] fp32Bytes, OnnxModel fp32, NdArray calib, float[] evalX, long[] evalShape, long[] labels) {

        static Cnn load(Path fixture) throws java.io.IOException {
            byte[] bytes = Files.readAllBytes(fixture.resolve("model.onnx"));
            NpzArchive eval = NpzArchive.read(fixture.resolve("eval.npz"));
            return new Cnn(bytes, OnnxModel.parse(bytes), NpzArchive.read(fixture.resolve("calib.npz")).array("input"),
                eval.array("input").toFloats(), eval.array("input").shape(), eval.array("labels").toLongs());
        }
    }

    /** A session per variant, with its top-1 on the fixture's eval set. */
    private List<Measured> sessionsWithTop1(List<Variant> variants, Cnn cnn) throws OrtException {
        List<Measured> measured = new ArrayList<>();
        for (Variant v : variants) {
            Measured m = new Measured(v, session(v));
            m.top1 = top1(m, cnn.evalX(), cnn.evalShape(), cnn.labels());
            measured.add(m);
        }
        return measured;
    }

    void isa(Path fixture) throws Exception {
        Cnn cnn = Cnn.load(fixture);
        OnnxModel fp32 = cnn.fp32();
        StaticQuantRecipe base = StaticQuantRecipe.defaults();
        ActivationStatistics stats = minMax(fp32, tensorsFor(fp32, base), cnn.calib().toFloats(), cnn.calib().shape());
        StaticQdqQuantizer quantizer = new StaticQdqQuantizer();
        CpuFeatures cpu = CpuFeatures.host();
        IsaRecipe chosen = IsaRecipe.forHost(cpu);

        List<Variant> variants = new ArrayList<>();
        Map<String, String> none = Map.of();
        variants.add(new Variant("fp32", cnn.fp32Bytes(), OptLevel.ALL_OPT, none));
        List<String> picked = new ArrayList<>();
        for (ActivationType act : List.of(ActivationType.UINT8, ActivationType.INT8)) {
            for (boolean reduce : List.of(true, false)) {
                StaticQuantRecipe r = base.withActivationType(act).withReduceRangeWeights(reduce);
                String name = (act == ActivationType.INT8 ? "s8" : "u8") + " activations, " + (reduce ? "7" : "8")
                    + "-bit weights";
                variants.add(new Variant(name, quantizer.quantize(fp32, stats, r).model().toByteArray(), OptLevel.ALL_OPT,
                    none));
                if (act == chosen.activationType() && reduce == chosen.reduceRangeWeights()) {
                    picked.add(name);
                }
            }
        }
        List<Measured> measured = sessionsWithTop1(variants, cnn);
        float[] batch256 = Arrays.copyOf(cnn.evalX(), 256 * 784);
        try (OnnxTensor x256 = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch256), new long[] {256, 1, 28, 28})) {
            for (Measured m : measured) {
                time(m, x256, ISA_WARMUP, null);
            }
            for (int round = 0; round < ISA_ROUNDS; round++) {
                for (Measured m : measured) {
                    time(m, x256, ISA_REPS, m.ms256);
                }
            }
        }
        double fp32Median = median(measured.get(0).ms256);
        System.out.println();
        System.out.println("date: " + ZonedDateTime.now() + ", cpu: " + cpu.model() + ", flags: "
            + String.join(" ", cpu.sortedFlags()) + ", class: " + IsaClass.poolName(cpu) + ", ONNX Runtime "
            + env.getVersion() + ", intra-op threads 1, batch 256, " + ISA_WARMUP + " warm-up + " + ISA_ROUNDS + " rounds × "
            + ISA_REPS + " runs per variant");
        System.out.println("this CPU's recipe: " + chosen.headline());
        chosen.reasons().forEach(r -> System.out.println("  " + r));
        System.out.println();
        System.out.println("| variant | top-1 (2000 eval) | batch 256 median ms | p95 | vs fp32 |");
        System.out.println("|---|---|---|---|---|");
        for (Measured m : measured) {
            String name = m.variant.name() + (picked.contains(m.variant.name()) ? " (this CPU's recipe)" : "");
            System.out.printf("| %s | %.2f%% | %.2f | %.2f | %.2f× |%n", name, m.top1, median(m.ms256), p95(m.ms256),
                fp32Median / median(m.ms256));
        }
        for (Measured m : measured) {
            m.session.close();
        }
    }

    void run(Path fixture, Path reference) throws Exception {
        Cnn cnn = Cnn.load(fixture);
        OnnxModel fp32 = cnn.fp32();

        long t0 = System.nanoTime();
        StaticQuantRecipe base = StaticQuantRecipe.defaults();
        // By default the first conv (one input channel, reduction length 9) stays fp32; minConvReduction 0 quantizes it.
        StaticQuantRecipe allConvs = base.withMinConvReduction(0);
        ActivationStatistics stats = minMax(fp32, tensorsFor(fp32, base, allConvs), cnn.calib().toFloats(), cnn.calib().shape());
        long t1 = System.nanoTime();
        StaticQdqQuantizer quantizer = new StaticQdqQuantizer();
        byte[] u8 = quantizer.quantize(fp32, stats, base).model().toByteArray();
        long t2 = System.nanoTime();
        byte[] u8AllConvs = quantizer.quantize(fp32, stats, allConvs).model().toByteArray();
        byte[] s8 = quantizer.quantize(fp32, stats, base.withActivationType(ActivationType.INT8)).model().toByteArray();
        byte[] u8Full = quantizer.quantize(fp32, stats, base.withReduceRangeWeights(false)).model().toByteArray();

        System.out.printf("calibration (%d images, MinMax): %.0f ms; quantization: %.0f ms%n", cnn.calib().shape()[0],
            (t1 - t0) / 1e6, (t2 - t1) / 1e6);

        Map<String, String> none = Map.of();
        Map<String, String> precise = Map.of("session.x64quantprecision", "1");
        List<Variant> variants = new ArrayList<>();
        variants.add(new Variant("fp32 ORT (ALL)", cnn.fp32Bytes(), OptLevel.ALL_OPT, none));
        variants.add(new Variant("fp32 ORT (EXTENDED)", cnn.fp32Bytes(), OptLevel.EXTENDED_OPT, none));
        variants.add(new Variant("quantflow QDQ u8 act, 7-bit w, conv1 fp32 (default), ALL", u8, OptLevel.ALL_OPT, none));
        variants.add(new Variant("quantflow QDQ u8 act, 7-bit w, conv1 fp32 (default), EXTENDED", u8, OptLevel.EXTENDED_OPT, none));
        variants.add(new Variant("quantflow QDQ u8 act, 7-bit w, every conv int8, ALL", u8AllConvs, OptLevel.ALL_OPT, none));
        variants.add(new Variant("quantflow QDQ s8 act, 7-bit w, ALL", s8, OptLevel.ALL_OPT, none));
        variants.add(new Variant("quantflow QDQ u8 act, 8-bit w, ALL (saturates w/o VNNI)", u8Full, OptLevel.ALL_OPT, none));
        variants.add(new Variant("quantflow QDQ u8 act, 8-bit w, ALL + x64quantprecision", u8Full, OptLevel.ALL_OPT, precise));
        Path torchModel = reference.resolve("fashion-cnn-torch-int8.onnx");
        if (Files.exists(torchModel)) {
            byte[] torch = Files.readAllBytes(torchModel);
            variants.add(new Variant("PyTorch-exported QDQ in ORT, ALL", torch, OptLevel.ALL_OPT, none));
            variants.add(new Variant("PyTorch-exported QDQ in ORT, ALL + x64quantprecision", torch, OptLevel.ALL_OPT, precise));
        }

        List<Measured> measured = sessionsWithTop1(variants, cnn);
        float[] batch256 = Arrays.copyOf(cnn.evalX(), 256 * 784);
        float[] batch1 = Arrays.copyOf(cnn.evalX(), 784);
        try (OnnxTensor x256 = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch256), new long[] {256, 1, 28, 28});
             OnnxTensor x1 = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch1), new long[] {1, 1, 28, 28})) {
            for (Measured m : measured) {
                time(m, x256, WARMUP_256, null);
                time(m, x1, WARMUP_1, null);
            }
            for (int round = 0; round < ROUNDS; round++) {
                for (Measured m : measured) {
                    time(m, x256, REPS_256, m.ms256);
                    time(m, x1, REPS_1, m.ms1);
                }
            }
        }

        double fp32Median = median(measured.get(0).ms256);
        StringBuilder table = new StringBuilder();
        table.append("| variant | top-1 (2000 eval) | size (bytes) | batch 256 median ms | p95 | batch 1 median ms | p95 | ")
            .append("speed-up vs fp32 ALL (b256) |\n|---|---|---|---|---|---|---|---|\n");
        for (Measured m : measured) {
            table.append(String.format("| %s | %.2f%% | %d | %.2f | %.2f | %.3f | %.3f | %.2f× |%n", m.variant.name(),
                m.top1, m.variant.model().length, median(m.ms256), p95(m.ms256), median(m.ms1), p95(m.ms1),
                fp32Median / median(m.ms256)));
        }
        System.out.println();
        System.out.println("date: " + ZonedDateTime.now() + ", cpu: " + cpuModel() + ", "
            + Runtime.getRuntime().availableProcessors() + " cpus, intra-op threads 1, " + ROUNDS + " rounds × ("
            + REPS_256 + " runs at batch 256, " + REPS_1 + " at batch 1)");
        System.out.print(table);
        Path torchResults = reference.resolve("torch-results.json");
        if (Files.exists(torchResults)) {
            System.out.println();
            System.out.println("PyTorch numbers as measured by the reference script (" + torchResults + "):");
            printLeaves("", new ObjectMapper().readTree(torchResults.toFile()));
        }
        for (Measured m : measured) {
            m.session.close();
        }
    }

    private OrtSession session(Variant v) throws OrtException {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(v.level());
            for (Map.Entry<String, String> e : v.config().entrySet()) {
                opts.addConfigEntry(e.getKey(), e.getValue());
            }
            return env.createSession(v.model(), opts);
        }
    }

    private void time(Measured m, OnnxTensor x, int reps, List<Double> into) throws OrtException {
        Map<String, OnnxTensor> feed = Map.of(m.input, x);
        for (int i = 0; i < reps; i++) {
            long start = System.nanoTime();
            try (OrtSession.Result r = m.session.run(feed)) {
                long end = System.nanoTime();
                if (into != null) {
                    into.add((end - start) / 1e6);
                }
            }
        }
    }

    private double top1(Measured m, float[] x, long[] shape, long[] labels) throws OrtException {
        int n = (int) shape[0];
        int correct = 0;
        for (int start = 0; start < n; start += 500) {
            int b = Math.min(500, n - start);
            try (OnnxTensor t = slice(x, shape, start, b);
                 OrtSession.Result r = m.session.run(Map.of(m.input, t))) {
                FloatBuffer logits = ((OnnxTensor) r.get(m.output).orElseThrow()).getFloatBuffer();
                int classes = logits.remaining() / b;
                for (int i = 0; i < b; i++) {
                    int arg = 0;
                    for (int c = 1; c < classes; c++) {
                        if (logits.get(i * classes + c) > logits.get(i * classes + arg)) {
                            arg = c;
                        }
                    }
                    if (arg == labels[start + i]) {
                        correct++;
                    }
                }
            }
        }
        return 100.0 * correct / n;
    }

    /** Rows {@code [start, start + rows)} of {@code x} (leading dimension {@code shape[0]}) as a tensor. */
    private OnnxTensor slice(float[] x, long[] shape, int start, int rows) throws OrtException {
        int per = x.length / (int) shape[0];
        long[] s = shape.clone();
        s[0] = rows;
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(Arrays.copyOfRange(x, start * per, (start + rows) * per)), s);
    }

    /** MinMax calibration in batches of 128: the model with the requested tensors added as outputs. */
    private ActivationStatistics minMax(OnnxModel fp32, List<String> tensors, float[] x, long[] shape)
        throws OrtException {
        OnnxModel withOutputs = fp32.withAdditionalOutputs(tensors);
        int n = (int) shape[0];
        Map<String, float[]> ranges = new LinkedHashMap<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(withOutputs.toByteArray(), opts)) {
                String input = fp32.inputs().get(0).name();
                for (int start = 0; start < n; start += 128) {
                    int b = Math.min(128, n - start);
                    try (OnnxTensor t = slice(x, shape, start, b);
                         OrtSession.Result r = s.run(Map.of(input, t))) {
                        for (String name : tensors) {
                            FloatBuffer values = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
                            float[] mm = ranges.computeIfAbsent(name,
                                k -> new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
                            while (values.hasRemaining()) {
                                float v = values.get();
                                mm[0] = Math.min(mm[0], v);
                                mm[1] = Math.max(mm[1], v);
                            }
                        }
                    }
                }
            }
        }
        Map<String, TensorRange> out = new HashMap<>();
        ranges.forEach((k, v) -> out.put(k, new TensorRange(v[0], v[1])));
        return new ActivationStatistics("minmax", n, out);
    }

    /** Union, in order, of the tensors each recipe needs calibrated. */
    private static List<String> tensorsFor(OnnxModel fp32, StaticQuantRecipe... recipes) {
        java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>();
        for (StaticQuantRecipe r : recipes) {
            all.addAll(StaticQdqQuantizer.tensorsToCalibrate(fp32, r));
        }
        return List.copyOf(all);
    }

    private static double median(List<Double> xs) {
        return percentile(xs, 0.5);
    }

    private static double p95(List<Double> xs) {
        return percentile(xs, 0.95);
    }

    /** Nearest-rank percentile. */
    private static double percentile(List<Double> xs, double p) {
        double[] sorted = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static void printLeaves(String path, JsonNode node) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> printLeaves(path.isEmpty() ? e.getKey() : path + "." + e.getKey(), e.getValue()));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                printLeaves(path + "[" + i + "]", node.get(i));
            }
        } else {
            System.out.println("  " + path + " = " + node.asText());
        }
    }

    static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
