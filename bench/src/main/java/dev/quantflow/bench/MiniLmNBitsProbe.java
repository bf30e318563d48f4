package dev.quantflow.bench;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Issue 4 probe: is ONNX Runtime's {@code com.microsoft.MatMulNBits} with 4-bit weights faster than the int8 dynamic
 * GEMM ({@code com.microsoft.DynamicQuantizeMatMul}, what ORT fuses every dynamic-INT8 form of a MiniLM projection
 * into) at MiniLM's shapes: M = 35 tokens (first argument, default {@value #DEFAULT_TOKENS}),
 * (K, N) = (384, 384), (384, 1152), (384, 1536), (1536, 384)?
 *
 * <p>One single-node graph per (shape, variant), all on the same random weights {@code W ~ N(0, 0.05²)} [K, N], bias
 * and input {@code A ~ N(0, 1)} [1, M, K] (fixed seeds):
 * <ul>
 *   <li><b>fp32</b>: {@code MatMul} + {@code Add(bias)};</li>
 *   <li><b>int8 DQMM</b>: {@code DynamicQuantizeMatMul(A, W_q, s, -, bias)} with per-column symmetric 7-bit weights
 *       {@code s_n = max_k |W[k,n]| / 63}, {@code W_q = clamp(round(W / s_n), -63, 63)} (DynamicQuantizer's default
 *       grid); activations quantized at run time to u8 with one per-tensor range;</li>
 *   <li><b>4-bit MatMulNBits</b>, block size {@code B} along K, asymmetric round-to-nearest per (column, block):
 *       {@code lo = min(0, min W)}, {@code hi = max(0, max W)}, {@code s = (hi - lo) / 15},
 *       {@code z = clamp(round(-lo / s), 0, 15)}, {@code q = clamp(round(W / s) + z, 0, 15)}, dequantized as
 *       {@code (q - z)·s}; packed as B [N, K/B, B/2] (element 2i in the low nibble of byte i), scales [N·K/B],
 *       zero points [N·ceil((K/B)/2)] packed the same way; {@code accuracy_level} 4 (activations quantized to int8
 *       per block at run time, MLAS CompInt8) or 0 (fp32 compute).</li>
 * </ul>
 * Timing: one intra-op and one inter-op thread, ALL optimizations, a null graph ({@code Identity}) measures the
 * Java/JNI call overhead, which is subtracted from every median. {@value #ROUNDS} interleaved rounds of
 * {@value #RUNS_PER_ROUND} runs per variant, variant order rotating each round; median of {@code session.run} wall
 * time. Accuracy: relative Frobenius error of each output to the fp32 output.
 */
public final class MiniLmNBitsProbe {

    static final int DEFAULT_TOKENS = 35;
    private static final int ROUNDS = 20;
    private static final int RUNS_PER_ROUND = 25;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final int tokens;

    MiniLmNBitsProbe(int tokens) {
        this.tokens = tokens;
    }

    record Shape(int k, int n) {
    }

    record Graph(String name, byte[] model) {
    }

    public static void main(String[] args) throws Exception {
        new MiniLmNBitsProbe(args.length > 0 ? Integer.parseInt(args[0]) : DEFAULT_TOKENS).run();
    }

    void run() throws Exception {
        List<Shape> shapes = List.of(new Shape(384, 384), new Shape(384, 1152), new Shape(384, 1536),
            new Shape(1536, 384));
        System.out.printf("ORT %s, JDK %s, M = %d tokens, one thread, %d rounds × %d runs%n", env.getVersion(),
            Runtime.version(), tokens, ROUNDS, RUNS_PER_ROUND);
        System.out.println();
        System.out.println("| K×N | variant | median µs (minus call overhead) | vs int8 DQMM | rel. error to fp32 |");
        System.out.println("|---|---|---|---|---|");
        for (Shape shape : shapes) {
            probe(shape);
        }
    }

    private void probe(Shape shape) throws Exception {
        int k = shape.k();
        int n = shape.n();
        Random r = new Random(4 + k * 31L + n);
        float[] w = new float[k * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.05);
        }
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) {
            bias[i] = (float) (r.nextGaussian() * 0.1);
        }
        float[] a = new float[tokens * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
        }
        List<Graph> graphs = new ArrayList<>();
        graphs.add(new Graph("null (Identity)", identityModel(k)));
        graphs.add(new Graph("fp32 MatMul+Add", fp32Model(w, bias, k, n)));
        graphs.add(new Graph("int8 DQMM (per-column 7-bit)", dqmmModel(w, bias, k, n)));
        for (int block : new int[] {32, 16}) {
            for (int level : new int[] {4, 0}) {
                graphs.add(new Graph("4-bit NBits b" + block + " asym acc" + level,
                    nbitsModel(w, bias, k, n, block, level, true)));
            }
        }
        graphs.add(new Graph("4-bit NBits b32 sym acc4", nbitsModel(w, bias, k, n, 32, 4, false)));

        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        for (Graph g : graphs) {
            sessions.put(g.name(), session(g.model()));
        }
        Map<String, List<Double>> us = new LinkedHashMap<>();
        Map<String, float[]> outputs = new LinkedHashMap<>();
        try (OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {1, tokens, k})) {
            Map<String, OnnxTensor> feed = Map.of("A", input);
            for (Graph g : graphs) {
                try (OrtSession.Result res = sessions.get(g.name()).run(feed)) {
                    FloatBuffer b = ((OnnxTensor) res.get(0)).getFloatBuffer();
                    float[] y = new float[b.remaining()];
                    b.get(y);
                    outputs.put(g.name(), y);
                }
                for (int i = 0; i < 20; i++) {
                    sessions.get(g.name()).run(feed).close();
                }
                us.put(g.name(), new ArrayList<>());
            }
            for (int round = 0; round < ROUNDS; round++) {
                for (int gi = 0; gi < graphs.size(); gi++) {
                    Graph g = graphs.get((gi + round) % graphs.size());
                    OrtSession s = sessions.get(g.name());
                    for (int j = 0; j < RUNS_PER_ROUND; j++) {
                        long t0 = System.nanoTime();
                        s.run(feed).close();
                        us.get(g.name()).add((System.nanoTime() - t0) / 1e3);
                    }
                }
            }
        }
        double overhead = median(us.get(graphs.get(0).name()));
        double int8 = median(us.get("int8 DQMM (per-column 7-bit)")) - overhead;
        float[] ref = outputs.get("fp32 MatMul+Add");
        // Packing check: ORT's fp32-compute MatMulNBits against A·dequantize(W_q4) + bias computed here.
        float[] deq = MiniLmFourBitWeights.quantize(w, k, n, 32, true).dequantize();
        float[] expected = new float[tokens * n];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < n; c++) {
                double acc = bias[c];
                for (int i = 0; i < k; i++) {
                    acc += (double) a[t * k + i] * deq[i * n + c];
                }
                expected[t * n + c] = (float) acc;
            }
        }
        System.out.printf("| %d×%d | packing check: b32 asym acc0 vs A·deq(W)+bias in Java | | | %.1e |%n", k, n,
            relativeError(expected, outputs.get("4-bit NBits b32 asym acc0")));
        for (Graph g : graphs) {
            double m = median(us.get(g.name()));
            if (g == graphs.get(0)) {
                System.out.printf("| %d×%d | %s | %.1f (raw) | | |%n", k, n, g.name(), m);
                continue;
            }
            double net = m - overhead;
            System.out.printf("| %d×%d | %s | %.1f | %.2f× | %.4f |%n", k, n, g.name(), net, net / int8,
                relativeError(ref, outputs.get(g.name())));
        }
        for (OrtSession s : sessions.values()) {
            s.close();
        }
    }

    private OrtSession session(byte[] model) throws OrtException {
        return OrtModels.createSession(model, 1, OptLevel.ALL_OPT);
    }

    // ---- graphs ----

    private byte[] identityModel(int k) {
        return model(List.of(Nodes.create("Identity", "id", List.of("A"), List.of("Y"))), List.of(), k);
    }

    private byte[] fp32Model(float[] w, float[] bias, int k, int n) {
        return model(List.of(Nodes.create("MatMul", "mm", List.of("A", "W"), List.of("P")),
                Nodes.create("Add", "add", List.of("P", "bias"), List.of("Y"))),
            List.of(Tensors.floatTensor("W", new long[] {k, n}, w), Tensors.floatTensor("bias", new long[] {n}, bias)),
            k);
    }

    private byte[] dqmmModel(float[] w, float[] bias, int k, int n) {
        float[] scales = new float[n];
        byte[] q = new byte[k * n];
        for (int c = 0; c < n; c++) {
            float max = 0;
            for (int i = 0; i < k; i++) {
                max = Math.max(max, Math.abs(w[i * n + c]));
            }
            scales[c] = max > 0 ? max / 63f : 1f;
            for (int i = 0; i < k; i++) {
                q[i * n + c] = (byte) Math.max(-63, Math.min(63, Math.round(w[i * n + c] / scales[c])));
            }
        }
        return model(List.of(Nodes.createInDomain("com.microsoft", "DynamicQuantizeMatMul", "dqmm",
                List.of("A", "Wq", "Ws", "", "bias"), List.of("Y"))),
            List.of(Tensors.int8Tensor("Wq", new long[] {k, n}, q), Tensors.floatTensor("Ws", new long[] {n}, scales),
                Tensors.floatTensor("bias", new long[] {n}, bias)), k);
    }

    private byte[] nbitsModel(float[] w, float[] bias, int k, int n, int block, int accuracyLevel,
                                     boolean asymmetric) {
        MiniLmFourBitWeights p = MiniLmFourBitWeights.quantize(w, k, n, block, asymmetric);
        List<OnnxMl.TensorProto> inits = new ArrayList<>(p.initializers("W"));
        inits.add(Tensors.floatTensor("bias", new long[] {n}, bias));
        List<String> inputs = new ArrayList<>(List.of("A", "W_q4", "W_scales", asymmetric ? "W_zp" : "", "", "bias"));
        return model(List.of(Nodes.createInDomain("com.microsoft", "MatMulNBits", "nbits", inputs, List.of("Y"),
            Nodes.intAttribute("K", k), Nodes.intAttribute("N", n), Nodes.intAttribute("bits", 4),
            Nodes.intAttribute("block_size", block), Nodes.intAttribute("accuracy_level", accuracyLevel))), inits, k);
    }

    private byte[] model(List<OnnxMl.NodeProto> nodes, List<OnnxMl.TensorProto> inits, int k) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("probe").addAllNode(nodes)
            .addAllInitializer(inits).addInput(floatValue("A", 1, tokens, k)).addOutput(floatValue("Y"));
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("quantflow-probe").setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
            .build().toByteArray();
    }

    private static OnnxMl.ValueInfoProto floatValue(String name, long... dims) {
        OnnxMl.TypeProto.Tensor.Builder t = OnnxMl.TypeProto.Tensor.newBuilder().setElemType(DataType.FLOAT.getNumber());
        if (dims.length > 0) {
            OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
            for (long d : dims) {
                s.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            }
            t.setShape(s);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
            .setType(OnnxMl.TypeProto.newBuilder().setTensorType(t)).build();
    }

    // ---- statistics ----

    static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get((sorted.size() - 1) / 2);
    }

    private static double relativeError(float[] ref, float[] y) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = ref[i] - y[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }
}
