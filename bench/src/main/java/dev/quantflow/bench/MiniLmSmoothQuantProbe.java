package dev.quantflow.bench;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.bench.MiniLmDynamicBench.Tokens;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.HalfTensors;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.dynamic.DynamicGraphForm;
import dev.quantflow.quant.dynamic.DynamicQuantRecipe;
import dev.quantflow.quant.dynamic.DynamicQuantizer;

/**
 * Probe: SmoothQuant-style smoothing (Xiao et al. 2022) of all-MiniLM-L6-v2 before {@link DynamicQuantizer}'s
 * default dynamic INT8 recipe, to see whether it lifts the worst-case sentence cosine (issue 4).
 *
 * <p><b>Math.</b> For a weight MatMul {@code Y = X·W} with {@code X} of shape {@code [T, C]} and {@code W} of shape
 * {@code [C, N]}, and for a calibration estimate {@code a_j = max_t |X[t, j]|} (fp32 model, the first
 * {@value #CALIBRATION_SENTENCES} sentences, all tokens), the per-input-channel smoothing factor is
 * <pre>
 *   s_j = max(a_j, ε)^α / max(w_j, ε)^(1−α),   w_j = max_k |W[j, k]|   (max over all MatMuls reading X)
 * </pre>
 * and {@code Y = (X·diag(1/s))·(diag(s)·W)} exactly. The weight rows are scaled by {@code s} in fp32 before
 * quantization (the quantizer then sets its per-output-column scales as usual); the activation division by
 * {@code s} is placed where it is cheapest:
 * <ul>
 *   <li>Q/K/V and FFN-up (input = a LayerNorm output, which also feeds the residual Add, so the LayerNorm's gamma
 *       and beta cannot take it): an explicit {@code Mul(X, 1/s)} read by the MatMuls only;</li>
 *   <li>attention output projection (input = softmax·V, head-reshaped): folded into the columns of the value
 *       projection's weight and bias ({@code W_v[:, j] /= s_j}, {@code b_v[j] /= s_j}), free, exact because the
 *       attention context is linear in V per channel;</li>
 *   <li>FFN-down (input = GELU output {@code 0.5·h·(1+erf(h/√2))}): an explicit {@code Mul}, or folded into the
 *       GELU's final constant 0.5 (replaced by the vector {@code 0.5/s}); the latter costs nothing in the graph
 *       but may stop ONNX Runtime from fusing the decomposed GELU.</li>
 * </ul>
 * Smoothing never changes the fp32 function (checked: the smoothed fp32 model is compared with fp32 in every run).
 *
 * <p>Accuracy: cosine of the L2-normalised mean-pooled embedding to fp32, over all sentences, and separately over
 * the held-out ones (those after the calibration sentences). Latency as in {@link MiniLmDynamicBench}: interleaved
 * rounds in one process, one thread, median of {@code session.run}.
 *
 * <p>Arguments: {@code --sweep} accuracy only for a grid of α and MatMul sets; without it, the chosen variants with
 * size and latency against the reference and quantflow's default; {@code --rounds N} latency rounds (default
 * {@value #DEFAULT_ROUNDS}); {@code --only TEXT} keeps the smoothing variants whose name contains TEXT.
 */
public final class MiniLmSmoothQuantProbe {

    static final int CALIBRATION_SENTENCES = 100;
    private static final double EPS = 1e-5;
    private static final int DEFAULT_ROUNDS = 30;
    private static final int SENTENCES_PER_ROUND = 10;
    private static final Pattern WEIGHT_MATMUL = Pattern.compile(
        "/encoder/layer\\.(\\d+)/(attention/self/(?:query|key|value)|attention/output/dense|intermediate/dense"
            + "|output/dense)/MatMul");

    /** Where the MatMul group sits in a BERT layer. */
    enum Site { QKV, ATTN_OUT, FFN_UP, FFN_DOWN }

    /** MatMuls of one layer that read the same activation tensor. */
    record Group(int layer, Site site, String input, List<String> matMuls) {
    }

    /**
     * One smoothing recipe: {@code sites} smoothed (in {@code layers}, empty = all), FFN-down's division placed in
     * the GELU constant when {@code downInGelu}.
     */
    record Smoothing(String name, double alpha, Set<Site> sites, Set<Integer> layers, boolean downInGelu,
        DynamicGraphForm form, boolean halfVectors) {

        Smoothing(String name, double alpha, Set<Site> sites, Set<Integer> layers, boolean downInGelu) {
            this(name, alpha, sites, layers, downInGelu, DynamicGraphForm.INTEGER_OPS, false);
        }

        Smoothing(String name, double alpha, Set<Site> sites, Set<Integer> layers, boolean downInGelu,
            DynamicGraphForm form) {
            this(name, alpha, sites, layers, downInGelu, form, false);
        }
    }

    record Smoothed(OnnxModel model, int explicitMuls) {
    }

    private final MiniLmDynamicBench bench = new MiniLmDynamicBench();
    private final int rounds;

    MiniLmSmoothQuantProbe(int rounds) {
        this.rounds = rounds;
    }

    public static void main(String[] args) throws Exception {
        List<String> a = Arrays.asList(args);
        int rounds = a.contains("--rounds") ? Integer.parseInt(a.get(a.indexOf("--rounds") + 1)) : DEFAULT_ROUNDS;
        String only = a.contains("--only") ? a.get(a.indexOf("--only") + 1) : "";
        new MiniLmSmoothQuantProbe(rounds).run(a.contains("--sweep"), only);
    }

    void run(boolean sweep, String only) throws Exception {
        byte[] fp32Bytes = MiniLmDynamicBench.resource(MiniLmDynamicBench.FP32_RESOURCE);
        byte[] referenceBytes = MiniLmDynamicBench.resource(MiniLmDynamicBench.REFERENCE_RESOURCE);
        OnnxModel fp32 = OnnxModel.parse(fp32Bytes);
        Path sentencesFile = Path.of("fixtures/text/sentences.txt");
        List<String> sentences = Files.exists(sentencesFile)
            ? Files.readAllLines(sentencesFile).stream().map(String::strip).filter(s -> !s.isEmpty()).toList()
            : MiniLmDynamicBench.generatedSentences(400, 20260);
        List<Tokens> tokens = MiniLmDynamicBench.tokenize(sentences);
        List<Group> groups = groups(fp32);
        Map<String, float[]> actMax = calibrate(fp32, groups, tokens.subList(0, CALIBRATION_SENTENCES));

        float[][] fp32Emb;
        try (OrtSession s = bench.session(fp32Bytes)) {
            fp32Emb = embedAll(s, tokens);
        }
        System.out.printf("date %s, ORT %s, %d sentences (%s), calibration on the first %d, held out %d%n",
            ZonedDateTime.now().toLocalDate(), OrtEnvironment.getEnvironment().getVersion(),
            sentences.size(), Files.exists(sentencesFile) ? sentencesFile : "generated", CALIBRATION_SENTENCES,
            sentences.size() - CALIBRATION_SENTENCES);

        List<Smoothing> list = (sweep ? sweepList() : chosenList()).stream()
            .filter(sm -> sm.name().contains(only)).toList();
        DynamicQuantRecipe defaults = DynamicQuantRecipe.defaults();
        Map<String, byte[]> models = new LinkedHashMap<>();
        Map<String, Integer> muls = new HashMap<>();
        models.put("reference: ORT quantize_dynamic", referenceBytes);
        models.put("quantflow default (no smoothing)",
            new DynamicQuantizer().quantize(fp32, defaults).model().toByteArray());
        if (!sweep) {
            models.put("ORT_CONTRIB default (no smoothing)", new DynamicQuantizer()
                .quantize(fp32, defaults.withGraphForm(DynamicGraphForm.ORT_CONTRIB)).model().toByteArray());
        }
        for (Smoothing sm : list) {
            Smoothed smoothed = smooth(fp32, groups, actMax, sm);
            models.put(sm.name(), new DynamicQuantizer().quantize(smoothed.model(), defaults.withGraphForm(sm.form()))
                .model().toByteArray());
            muls.put(sm.name(), smoothed.explicitMuls());
        }
        // The smoothing must not change the fp32 function: check the first and the last variant.
        for (Smoothing sm : List.of(list.get(0), list.get(list.size() - 1))) {
            try (OrtSession s = bench.session(smooth(fp32, groups, actMax, sm).model().toByteArray())) {
                double[] c = MiniLmDynamicBench.cosines(fp32Emb, embedAll(s, tokens));
                System.out.printf("fp32 smoothed (%s) vs fp32: min cosine %.6f%n", sm.name(),
                    Arrays.stream(c).min().orElseThrow());
            }
        }

        Map<String, double[]> cos = new LinkedHashMap<>();
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : models.entrySet()) {
            OrtSession s = bench.session(e.getValue());
            cos.put(e.getKey(), MiniLmDynamicBench.cosines(fp32Emb, embedAll(s, tokens)));
            if (sweep) {
                s.close();
                print(e.getKey(), e.getValue().length, referenceBytes.length, Double.NaN, Double.NaN,
                    muls.get(e.getKey()), cos.get(e.getKey()));
            } else {
                sessions.put(e.getKey(), s);
            }
        }
        if (sweep) {
            return;
        }
        Map<String, List<Double>> ms = latency(sessions, tokens);
        double refMedian = MiniLmDynamicBench.percentile(ms.get("reference: ORT quantize_dynamic"), 0.5);
        System.out.println();
        System.out.println("| variant | explicit Mul | size (bytes) | size vs ref | median ms | latency vs ref "
            + "| cos mean (400) | cos min (400) | cos mean (held-out) | cos min (held-out) | cos min (calib) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        for (Map.Entry<String, byte[]> e : models.entrySet()) {
            double median = MiniLmDynamicBench.percentile(ms.get(e.getKey()), 0.5);
            print(e.getKey(), e.getValue().length, referenceBytes.length, median, median / refMedian,
                muls.get(e.getKey()), cos.get(e.getKey()));
        }
        System.out.println();
        System.out.println("ONNX Runtime's optimized graphs (ALL), op counts:");
        for (Map.Entry<String, byte[]> e : models.entrySet()) {
            System.out.println("  " + e.getKey() + ": " + bench.optimizedOps(e.getValue()) + ", Cast×"
                + castCount(e.getValue()));
        }
        for (OrtSession s : sessions.values()) {
            s.close();
        }
    }

    private static void print(String name, int size, int refSize, double median, double latencyRatio, Integer muls,
        double[] c) {
        double[] heldOut = Arrays.copyOfRange(c, CALIBRATION_SENTENCES, c.length);
        double calibMin = Arrays.stream(c, 0, CALIBRATION_SENTENCES).min().orElseThrow();
        System.out.printf("| %s | %s | %d | %.4f× | %.2f | %.2f× | %.4f | %.4f | %.4f | %.4f | %.4f |%n", name,
            muls == null ? "-" : muls.toString(), size, size / (double) refSize, median, latencyRatio,
            Arrays.stream(c).average().orElseThrow(), Arrays.stream(c).min().orElseThrow(),
            Arrays.stream(heldOut).average().orElseThrow(), Arrays.stream(heldOut).min().orElseThrow(), calibMin);
    }

    private static List<Smoothing> sweepList() {
        List<Smoothing> out = new ArrayList<>();
        Set<Site> all = EnumSet.allOf(Site.class);
        for (double alpha : new double[] {0.3, 0.5, 0.7, 0.8, 0.85, 0.9}) {
            out.add(new Smoothing("all sites, α=" + alpha, alpha, all, Set.of(), true));
            out.add(new Smoothing("FFN-down all layers (GELU fold), α=" + alpha, alpha, EnumSet.of(Site.FFN_DOWN),
                Set.of(), true));
            out.add(new Smoothing("FFN-down layer 0 (GELU fold), α=" + alpha, alpha, EnumSet.of(Site.FFN_DOWN),
                Set.of(0), true));
            out.add(new Smoothing("QKV+FFN-up (Mul), α=" + alpha, alpha, EnumSet.of(Site.QKV, Site.FFN_UP), Set.of(),
                true));
            out.add(new Smoothing("attn-out (V fold), α=" + alpha, alpha, EnumSet.of(Site.ATTN_OUT), Set.of(), true));
        }
        return out;
    }

    private static List<Smoothing> chosenList() {
        Set<Site> all = EnumSet.allOf(Site.class);
        Set<Site> noDown = EnumSet.of(Site.QKV, Site.FFN_UP, Site.ATTN_OUT);
        DynamicGraphForm ops = DynamicGraphForm.INTEGER_OPS;
        return List.of(
            new Smoothing("all sites (FFN-down Mul, fp16 1/s), α=0.8", 0.8, all, Set.of(), false, ops, true),
            new Smoothing("all sites (FFN-down Mul, fp16 1/s), α=0.85", 0.85, all, Set.of(), false, ops, true),
            new Smoothing("all sites (FFN-down Mul, fp32 1/s), α=0.8", 0.8, all, Set.of(), false, ops, false),
            new Smoothing("QKV+FFN-up (Mul, fp16 1/s) + attn-out (V fold), α=0.7", 0.7, noDown, Set.of(), false, ops,
                true),
            new Smoothing("ORT_CONTRIB: all sites (FFN-down Mul, fp16 1/s), α=0.8", 0.8, all, Set.of(), false,
                DynamicGraphForm.ORT_CONTRIB, true));
    }

    /** The weight MatMuls of the encoder, grouped by the activation they read. */
    static List<Group> groups(OnnxModel model) {
        Map<String, Group> byInput = new LinkedHashMap<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            Matcher m = WEIGHT_MATMUL.matcher(n.getName());
            if (!n.getOpType().equals("MatMul") || !m.matches()) {
                continue;
            }
            String kind = m.group(2);
            Site site = kind.startsWith("attention/self") ? Site.QKV
                : kind.equals("attention/output/dense") ? Site.ATTN_OUT
                : kind.equals("intermediate/dense") ? Site.FFN_UP : Site.FFN_DOWN;
            Group g = byInput.computeIfAbsent(n.getInput(0),
                in -> new Group(Integer.parseInt(m.group(1)), site, in, new ArrayList<>()));
            if (g.site() != site) {
                throw new IllegalStateException("MatMuls of different sites share " + n.getInput(0));
            }
            g.matMuls().add(n.getName());
        }
        return List.copyOf(byInput.values());
    }

    /** Per-channel max |X| of every group's input over the calibration sentences (fp32 model, all tokens). */
    private Map<String, float[]> calibrate(OnnxModel fp32, List<Group> groups, List<Tokens> calib)
        throws OrtException {
        List<String> names = groups.stream().map(Group::input).toList();
        Map<String, float[]> max = new LinkedHashMap<>();
        try (OrtSession s = bench.session(fp32.withAdditionalOutputs(names).toByteArray())) {
            for (Tokens t : calib) {
                try (MiniLmDynamicBench.Inputs in = bench.inputs(t); OrtSession.Result r = s.run(in.map)) {
                    for (String name : names) {
                        OnnxTensor x = (OnnxTensor) r.get(name).orElseThrow();
                        long[] shape = x.getInfo().getShape();
                        int c = (int) shape[shape.length - 1];
                        FloatBuffer b = x.getFloatBuffer();
                        float[] m = max.computeIfAbsent(name, k -> new float[c]);
                        for (int i = 0; i < b.limit(); i++) {
                            m[i % c] = Math.max(m[i % c], Math.abs(b.get(i)));
                        }
                    }
                }
            }
        }
        return max;
    }

    /** Applies {@code sm} to the fp32 graph (exact in real arithmetic); see the class Javadoc for the placements. */
    static Smoothed smooth(OnnxModel fp32, List<Group> groups, Map<String, float[]> actMax, Smoothing sm) {
        GraphEditor ed = GraphEditor.of(fp32);
        Map<String, float[]> weights = new LinkedHashMap<>();
        Map<String, long[]> dims = new HashMap<>();
        int muls = 0;
        List<Group> chosen = groups.stream()
            .filter(g -> sm.sites().contains(g.site()) && (sm.layers().isEmpty() || sm.layers().contains(g.layer())))
            // Column folds into V after every row scaling, so the order of edits never matters for correctness.
            .sorted((a, b) -> Boolean.compare(a.site() == Site.ATTN_OUT, b.site() == Site.ATTN_OUT))
            .toList();
        for (Group g : chosen) {
            float[] a = actMax.get(g.input());
            int c = a.length;
            float[] wMax = new float[c];
            for (String mm : g.matMuls()) {
                String wName = ed.node(mm).orElseThrow().getInput(1);
                float[] w = weight(ed, weights, dims, wName);
                int n = w.length / c;
                for (int j = 0; j < c; j++) {
                    for (int k = 0; k < n; k++) {
                        wMax[j] = Math.max(wMax[j], Math.abs(w[j * n + k]));
                    }
                }
            }
            float[] s = new float[c];
            float[] inv = new float[c];
            for (int j = 0; j < c; j++) {
                s[j] = (float) (Math.pow(Math.max(a[j], EPS), sm.alpha())
                    / Math.pow(Math.max(wMax[j], EPS), 1 - sm.alpha()));
                inv[j] = 1f / s[j];
                if (sm.halfVectors()) {
                    // 1/s is stored as fp16; the weights take the reciprocal of the stored value, so the graph
                    // stays exact.
                    inv[j] = Float.float16ToFloat(Float.floatToFloat16(inv[j]));
                    s[j] = 1f / inv[j];
                }
            }
            for (String mm : g.matMuls()) {
                float[] w = weights.get(ed.node(mm).orElseThrow().getInput(1));
                int n = w.length / c;
                for (int j = 0; j < c; j++) {
                    for (int k = 0; k < n; k++) {
                        w[j * n + k] *= s[j];
                    }
                }
            }
            switch (g.site()) {
                case ATTN_OUT -> foldIntoValue(ed, weights, dims, g, inv);
                case FFN_DOWN -> {
                    if (sm.downInGelu()) {
                        foldIntoGelu(ed, g, inv);
                    } else {
                        insertMul(ed, g, inv, sm.halfVectors());
                        muls++;
                    }
                }
                default -> {
                    insertMul(ed, g, inv, sm.halfVectors());
                    muls++;
                }
            }
        }
        weights.forEach((name, w) -> ed.putInitializer(Tensors.floatTensor(name, dims.get(name), w)));
        return new Smoothed(ed.build(), muls);
    }

    private static float[] weight(GraphEditor ed, Map<String, float[]> weights, Map<String, long[]> dims,
        String name) {
        return weights.computeIfAbsent(name, k -> {
            OnnxMl.TensorProto t = ed.initializer(k)
                .orElseThrow(() -> new IllegalStateException("no initializer " + k));
            dims.put(k, Tensors.dims(t));
            return Tensors.toFloatArray(t);
        });
    }

    /**
     * {@code X_s = Mul(X, 1/s)} after X's producer, read by the group's MatMuls only. With {@code half}, 1/s is a
     * FLOAT16 initializer behind a {@code Cast} to float (ONNX Runtime folds the Cast at load): half the bytes.
     */
    private static void insertMul(GraphEditor ed, Group g, float[] inv, boolean half) {
        String invName = ed.uniqueName(g.input() + "_smooth_inv");
        List<OnnxMl.NodeProto> added = new ArrayList<>();
        if (half) {
            String halfName = ed.uniqueName(g.input() + "_smooth_inv_fp16");
            short[] bits = new short[inv.length];
            for (int j = 0; j < inv.length; j++) {
                bits[j] = Float.floatToFloat16(inv[j]);
            }
            ed.putInitializer(HalfTensors.tensor(halfName, OnnxMl.TensorProto.DataType.FLOAT16_VALUE,
                new long[] {inv.length}, bits));
            added.add(OnnxMl.NodeProto.newBuilder().setOpType("Cast").setName(ed.uniqueName(invName + "_Cast"))
                .addInput(halfName).addOutput(invName).addAttribute(OnnxMl.AttributeProto.newBuilder().setName("to")
                    .setType(OnnxMl.AttributeProto.AttributeType.INT)
                    .setI(OnnxMl.TensorProto.DataType.FLOAT.getNumber()))
                .build());
        } else {
            ed.putInitializer(Tensors.floatTensor(invName, new long[] {inv.length}, inv));
        }
        String out = ed.uniqueName(g.input() + "_smoothed");
        added.add(OnnxMl.NodeProto.newBuilder().setOpType("Mul")
            .setName(ed.uniqueName(g.input() + "_SmoothMul")).addInput(g.input()).addInput(invName).addOutput(out)
            .build());
        ed.insertAfter(ed.producer(g.input()).orElseThrow().getName(), added);
        for (String mm : g.matMuls()) {
            OnnxMl.NodeProto n = ed.node(mm).orElseThrow();
            ed.replaceNode(mm, List.of(n.toBuilder().setInput(0, out).build()));
        }
    }

    /** Divides the value projection's output columns (weight and bias) by s: the context then carries X/s. */
    private static void foldIntoValue(GraphEditor ed, Map<String, float[]> weights, Map<String, long[]> dims,
        Group g, float[] inv) {
        String prefix = "/encoder/layer." + g.layer() + "/attention/self/value/";
        String wName = ed.node(prefix + "MatMul").orElseThrow().getInput(1);
        float[] w = weight(ed, weights, dims, wName);
        int n = inv.length;
        for (int i = 0; i < w.length; i++) {
            w[i] *= inv[i % n];
        }
        OnnxMl.NodeProto add = ed.node(prefix + "Add").orElseThrow();
        String bName = add.getInput(0).startsWith("/") ? add.getInput(1) : add.getInput(0);
        float[] b = weight(ed, weights, dims, bName);
        for (int j = 0; j < n; j++) {
            b[j] *= inv[j];
        }
    }

    /** Replaces the GELU's final scalar 0.5 by the vector 0.5/s (the GELU output is the group's input). */
    private static void foldIntoGelu(GraphEditor ed, Group g, float[] inv) {
        OnnxMl.NodeProto mul = ed.producer(g.input()).orElseThrow();
        if (!mul.getOpType().equals("Mul")) {
            throw new IllegalStateException("FFN-down input is not produced by the GELU's Mul: " + mul.getName());
        }
        OnnxMl.NodeProto constant = ed.producer(mul.getInput(1)).orElseThrow();
        float[] half = Tensors.toFloatArray(constant.getAttribute(0).getT());
        if (half.length != 1 || half[0] != 0.5f) {
            throw new IllegalStateException("unexpected GELU constant " + Arrays.toString(half));
        }
        float[] v = new float[inv.length];
        for (int j = 0; j < v.length; j++) {
            v[j] = 0.5f * inv[j];
        }
        String name = ed.uniqueName(mul.getName() + "_half_over_s");
        ed.putInitializer(Tensors.floatTensor(name, new long[] {v.length}, v));
        ed.replaceNode(mul.getName(), List.of(mul.toBuilder().setInput(1, name).build()));
    }

    /** Cast nodes left in ONNX Runtime's optimized graph (0 when the fp16 1/s Casts were constant-folded). */
    private static long castCount(byte[] model) throws Exception {
        Path file = Files.createTempFile("minilm-smooth-optimized", ".onnx");
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setOptimizedModelFilePath(file.toString());
            try (OrtSession ignored = OrtEnvironment.getEnvironment().createSession(model, o)) {
                // writes the optimized graph
            }
            return OnnxMl.ModelProto.parseFrom(Files.readAllBytes(file)).getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("Cast")).count();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private float[][] embedAll(OrtSession s, List<Tokens> tokens) throws OrtException {
        float[][] e = new float[tokens.size()][];
        for (int i = 0; i < tokens.size(); i++) {
            e[i] = bench.embed(s, tokens.get(i));
        }
        return e;
    }

    private Map<String, List<Double>> latency(Map<String, OrtSession> sessions, List<Tokens> tokens)
        throws OrtException {
        List<String> names = new ArrayList<>(sessions.keySet());
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        names.forEach(n -> ms.put(n, new ArrayList<>()));
        for (int round = 0; round < rounds; round++) {
            for (int vi = 0; vi < names.size(); vi++) {
                String name = names.get((vi + round) % names.size());
                for (int j = 0; j < SENTENCES_PER_ROUND; j++) {
                    Tokens t = tokens.get((round * SENTENCES_PER_ROUND + j) % tokens.size());
                    try (MiniLmDynamicBench.Inputs in = bench.inputs(t)) {
                        long t0 = System.nanoTime();
                        sessions.get(name).run(in.map).close();
                        ms.get(name).add((System.nanoTime() - t0) / 1e6);
                    }
                }
            }
        }
        return ms;
    }
}
