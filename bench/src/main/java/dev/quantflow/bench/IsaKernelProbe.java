package dev.quantflow.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import com.google.protobuf.ByteString;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaClass;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Issue 15 probe: what ONNX Runtime's CPU provider does with each integer / reduced-float graph form of one GEMM
 * {@code Y[M, N] = A[M, K] · W[K, N]} on this CPU (the ISA recipe's graph-form and activation-type choices come from
 * it). One single-node-ish graph per (shape, form), the same random {@code A ~ N(0, 1)}, {@code W ~ N(0, 0.05²)}
 * (fixed seeds), per-column symmetric weights with codes in [-127, 127]:
 * <ul>
 *   <li><b>fp32</b> {@code MatMul};</li>
 *   <li><b>QDQ u8 / s8</b>: {@code Q(A) → DQ → MatMul(·, DQ(W)) → Q → DQ} with static activation scales (the static
 *       quantizer's form; ORT fuses it into {@code QLinearMatMul});</li>
 *   <li><b>MatMulInteger u8·s8 / s8·s8 / u8·u8</b>: {@code QuantizeLinear(A) → MatMulInteger → Cast → Mul(scales)},
 *       static activation scale, weights int8 (u8·u8: uint8 with zero point 128);</li>
 *   <li><b>DynamicQuantizeMatMul</b> (com.microsoft): what ORT fuses every dynamic-INT8 form into;</li>
 *   <li><b>bf16 / fp16</b>: {@code Cast(A) → MatMul(bf16/fp16 W) → Cast}: whether the CPU provider has a kernel.</li>
 * </ul>
 * One intra-op thread, ALL optimizations; an {@code Identity} graph's median (the JNI call) is subtracted; interleaved
 * rounds, variant order rotating. Accuracy: relative Frobenius error to fp32.
 *
 * <pre>bench/run-isa-probe.sh [ROUNDS (10)]</pre>
 */
public final class IsaKernelProbe {

    private static final int RUNS_PER_ROUND = 20;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final int rounds;

    IsaKernelProbe(int rounds) {
        this.rounds = rounds;
    }

    record Shape(String what, int m, int k, int n) {
    }

    /** One measured form: net median µs (NaN when ORT could not run it, then {@code error} says why). */
    record Form(String shape, String name, double micros, double relError, String error) {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        CpuFeatures cpu = CpuFeatures.host();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        System.out.printf(Locale.ROOT, "cpu %s, flags %s, class %s, ORT %s, 1 thread, %d rounds × %d runs%n",
            cpu.model(), String.join(" ", cpu.sortedFlags()), IsaClass.poolName(cpu), env.getVersion(), rounds,
            RUNS_PER_ROUND);
        System.out.println();
        System.out.println("| shape (M×K×N) | form | median µs | vs fp32 | rel. error to fp32 |");
        System.out.println("|---|---|---|---|---|");
        IsaKernelProbe probe = new IsaKernelProbe(rounds);
        for (Shape s : shapes()) {
            List<Form> forms = probe.probe(s);
            double fp32 = forms.get(0).micros();
            for (Form f : forms) {
                System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", f.shape(), f.name(),
                    Double.isNaN(f.micros()) ? "no kernel: " + f.error() : String.format(Locale.ROOT, "%.1f", f.micros()),
                    Double.isNaN(f.micros()) ? "—" : String.format(Locale.ROOT, "%.2f×", fp32 / f.micros()),
                    Double.isNaN(f.relError()) ? "—" : String.format(Locale.ROOT, "%.4f", f.relError()));
            }
        }
    }

    static List<Shape> shapes() {
        return List.of(new Shape("MiniLM FFN up, 35 tokens", 35, 384, 1536),
            new Shape("MiniLM FFN down, 35 tokens", 35, 1536, 384),
            new Shape("CNN conv2 as GEMM (b16 of 11×11, K = 32·3·3)", 16 * 121, 288, 64),
            new Shape("square 512", 512, 512, 512));
    }

    List<Form> probe(Shape shape) throws Exception {
        int m = shape.m();
        int k = shape.k();
        int n = shape.n();
        Random r = new Random(15 + k * 31L + n);
        float[] w = new float[k * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.05);
        }
        float[] a = new float[m * k];
        float amax = 0;
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
            amax = Math.max(amax, Math.abs(a[i]));
        }
        float[] ref = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                float x = a[i * k + p];
                for (int j = 0; j < n; j++) {
                    ref[i * n + j] += x * w[p * n + j];
                }
            }
        }
        float ymax = 0;
        for (float y : ref) {
            ymax = Math.max(ymax, Math.abs(y));
        }
        float[] ws = new float[n];
        byte[] wq = new byte[k * n];
        byte[] wu = new byte[k * n];
        for (int c = 0; c < n; c++) {
            float max = 0;
            for (int i = 0; i < k; i++) {
                max = Math.max(max, Math.abs(w[i * n + c]));
            }
            ws[c] = max > 0 ? max / 127f : 1f;
            for (int i = 0; i < k; i++) {
                int q = Math.max(-127, Math.min(127, Math.round(w[i * n + c] / ws[c])));
                wq[i * n + c] = (byte) q;
                wu[i * n + c] = (byte) (q + 128);
            }
        }
        // Symmetric ranges: u8 with zero point 128 and s8 with zero point 0 are the same grid.
        float sa = amax / 127f;
        float sy = ymax / 127f;

        Map<String, byte[]> graphs = new LinkedHashMap<>();
        graphs.put("null (Identity)", model(List.of(Nodes.create("Identity", "id", List.of("A"), List.of("Y"))),
            List.of(), m, k));
        graphs.put("fp32 MatMul", model(List.of(Nodes.create("MatMul", "mm", List.of("A", "W"), List.of("Y"))),
            List.of(Tensors.floatTensor("W", new long[] {k, n}, w)), m, k));
        for (boolean signed : new boolean[] {false, true}) {
            graphs.put("QDQ " + (signed ? "s8" : "u8") + " act · s8 w → QLinearMatMul", qdq(signed, wq, ws, sa, sy, m, k, n));
        }
        graphs.put("MatMulInteger u8·s8 → Cast → Mul", matMulInteger(false, false, wq, wu, ws, sa, m, k, n));
        graphs.put("MatMulInteger s8·s8 → Cast → Mul", matMulInteger(true, false, wq, wu, ws, sa, m, k, n));
        graphs.put("MatMulInteger u8·u8 → Cast → Mul", matMulInteger(false, true, wq, wu, ws, sa, m, k, n));
        graphs.put("DynamicQuantizeMatMul (u8 act, run-time range)", model(List.of(Nodes.createInDomain("com.microsoft",
                "DynamicQuantizeMatMul", "dqmm", List.of("A", "Wq", "Ws"), List.of("Y"))),
            List.of(Tensors.int8Tensor("Wq", new long[] {k, n}, wq), Tensors.floatTensor("Ws", new long[] {n}, ws)), m, k));
        graphs.put("bf16 Cast → MatMul → Cast", reducedFloat(DataType.BFLOAT16, w, m, k, n));
        graphs.put("fp16 Cast → MatMul → Cast", reducedFloat(DataType.FLOAT16, w, m, k, n));

        String label = String.format(Locale.ROOT, "%d×%d×%d (%s)", m, k, n, shape.what());
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        Map<String, String> errors = new LinkedHashMap<>();
        Map<String, List<Double>> us = new LinkedHashMap<>();
        Map<String, Double> relErr = new LinkedHashMap<>();
        try (OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {m, k})) {
            Map<String, OnnxTensor> feed = Map.of("A", input);
            for (Map.Entry<String, byte[]> g : graphs.entrySet()) {
                try {
                    OrtSession s = OrtModels.createSession(g.getValue(), 1, OptLevel.ALL_OPT);
                    try (OrtSession.Result res = s.run(feed)) {
                        FloatBuffer b = ((OnnxTensor) res.get(0)).getFloatBuffer();
                        float[] y = new float[b.remaining()];
                        b.get(y);
                        relErr.put(g.getKey(), y.length == ref.length ? relativeError(ref, y) : Double.NaN);
                    }
                    for (int i = 0; i < 10; i++) {
                        s.run(feed).close();
                    }
                    sessions.put(g.getKey(), s);
                    us.put(g.getKey(), new ArrayList<>());
                } catch (OrtException | RuntimeException e) {
                    String msg = e.getMessage() == null ? e.toString() : e.getMessage();
                    msg = msg.replaceAll(".*message: ", "");
                    errors.put(g.getKey(), msg.length() > 90 ? msg.substring(0, 90) + "…" : msg);
                }
            }
            List<String> names = new ArrayList<>(sessions.keySet());
            for (int round = 0; round < rounds; round++) {
                for (int gi = 0; gi < names.size(); gi++) {
                    String name = names.get((gi + round) % names.size());
                    OrtSession s = sessions.get(name);
                    for (int j = 0; j < RUNS_PER_ROUND; j++) {
                        long t0 = System.nanoTime();
                        s.run(feed).close();
                        us.get(name).add((System.nanoTime() - t0) / 1e3);
                    }
                }
            }
        } finally {
            for (OrtSession s : sessions.values()) {
                s.close();
            }
        }
        double overhead = MiniLmNBitsProbe.median(us.get("null (Identity)"));
        List<Form> out = new ArrayList<>();
        for (String name : graphs.keySet()) {
            if (name.startsWith("null")) {
                continue;
            }
            if (errors.containsKey(name)) {
                out.add(new Form(label, name, Double.NaN, Double.NaN, errors.get(name).replace('|', '/').replace('\n', ' ')));
            } else {
                out.add(new Form(label, name, MiniLmNBitsProbe.median(us.get(name)) - overhead, relErr.get(name), null));
            }
        }
        return out;
    }

    private byte[] qdq(boolean signed, byte[] wq, float[] ws, float sa, float sy, int m, int k, int n) {
        byte zp = signed ? 0 : (byte) 128;
        OnnxMl.TensorProto za = signed ? Tensors.int8Tensor("za", new long[] {}, new byte[] {zp})
            : Tensors.uint8Tensor("za", new long[] {}, new byte[] {zp});
        OnnxMl.TensorProto zy = signed ? Tensors.int8Tensor("zy", new long[] {}, new byte[] {zp})
            : Tensors.uint8Tensor("zy", new long[] {}, new byte[] {zp});
        return model(List.of(
                Nodes.create("QuantizeLinear", "qa", List.of("A", "sa", "za"), List.of("Aq")),
                Nodes.create("DequantizeLinear", "dqa", List.of("Aq", "sa", "za"), List.of("Ad")),
                Nodes.create("DequantizeLinear", "dqw", List.of("Wq", "Ws", "zw"), List.of("Wd"), Nodes.intAttribute("axis", 1)),
                Nodes.create("MatMul", "mm", List.of("Ad", "Wd"), List.of("P")),
                Nodes.create("QuantizeLinear", "qy", List.of("P", "sy", "zy"), List.of("Pq")),
                Nodes.create("DequantizeLinear", "dqy", List.of("Pq", "sy", "zy"), List.of("Y"))),
            List.of(Tensors.floatTensor("sa", new long[] {}, new float[] {sa}), za,
                Tensors.int8Tensor("Wq", new long[] {k, n}, wq), Tensors.floatTensor("Ws", new long[] {n}, ws),
                Tensors.int8Tensor("zw", new long[] {n}, new byte[n]),
                Tensors.floatTensor("sy", new long[] {}, new float[] {sy}), zy), m, k);
    }

    private byte[] matMulInteger(boolean signedAct, boolean unsignedWeights, byte[] wq, byte[] wu, float[] ws, float sa,
                                 int m, int k, int n) {
        OnnxMl.TensorProto za = signedAct ? Tensors.int8Tensor("za", new long[] {}, new byte[] {0})
            : Tensors.uint8Tensor("za", new long[] {}, new byte[] {(byte) 128});
        OnnxMl.TensorProto w = unsignedWeights ? Tensors.uint8Tensor("Wq", new long[] {k, n}, wu)
            : Tensors.int8Tensor("Wq", new long[] {k, n}, wq);
        byte[] zw = new byte[n];
        if (unsignedWeights) {
            java.util.Arrays.fill(zw, (byte) 128);
        }
        OnnxMl.TensorProto zwT = unsignedWeights ? Tensors.uint8Tensor("zw", new long[] {n}, zw)
            : Tensors.int8Tensor("zw", new long[] {n}, zw);
        float[] scale = new float[n];
        for (int c = 0; c < n; c++) {
            scale[c] = sa * ws[c];
        }
        return model(List.of(
                Nodes.create("QuantizeLinear", "qa", List.of("A", "sa", "za"), List.of("Aq")),
                Nodes.create("MatMulInteger", "mmi", List.of("Aq", "Wq", "za", "zw"), List.of("P32")),
                Nodes.create("Cast", "cast", List.of("P32"), List.of("Pf"), Nodes.intAttribute("to", DataType.FLOAT.getNumber())),
                Nodes.create("Mul", "scale", List.of("Pf", "s"), List.of("Y"))),
            List.of(Tensors.floatTensor("sa", new long[] {}, new float[] {sa}), za, w, zwT,
                Tensors.floatTensor("s", new long[] {n}, scale)), m, k);
    }

    private byte[] reducedFloat(DataType type, float[] w, int m, int k, int n) {
        ByteBuffer raw = ByteBuffer.allocate(w.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : w) {
            raw.putShort(type == DataType.BFLOAT16 ? (short) (Float.floatToIntBits(v) + 0x8000 >>> 16)
                : Float.floatToFloat16(v));
        }
        OnnxMl.TensorProto wt = OnnxMl.TensorProto.newBuilder().setName("W").addDims(k).addDims(n)
            .setDataType(type.getNumber()).setRawData(ByteString.copyFrom(raw.array())).build();
        return model(List.of(
                Nodes.create("Cast", "c1", List.of("A"), List.of("Ah"), Nodes.intAttribute("to", type.getNumber())),
                Nodes.create("MatMul", "mm", List.of("Ah", "W"), List.of("Ph")),
                Nodes.create("Cast", "c2", List.of("Ph"), List.of("Y"), Nodes.intAttribute("to", DataType.FLOAT.getNumber()))),
            List.of(wt), m, k);
    }

    private byte[] model(List<OnnxMl.NodeProto> nodes, List<OnnxMl.TensorProto> inits, int m, int k) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("isa-probe").addAllNode(nodes)
            .addAllInitializer(inits).addInput(floatValue("A", m, k)).addOutput(floatValue("Y"));
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("quantflow-isa-probe").setGraph(g)
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

    static double relativeError(float[] ref, float[] y) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = y[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
    }
}
