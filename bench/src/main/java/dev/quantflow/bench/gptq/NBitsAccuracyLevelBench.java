package dev.quantflow.bench.gptq;

import java.nio.FloatBuffer;
import dev.quantflow.onnx.ValueInfos;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.llm.LlmQuantRecipe;
import dev.quantflow.quant.llm.LlmWeightQuantizer;

/**
 * MatMulNBits {@code accuracy_level} 0 (fp32 compute) vs 4 (activations quantized to int8 inside the kernel): latency
 * and output error against fp32 on a small MLP stack of the fixture's shapes (4 × [256→1024→256] with Relu), 4-bit
 * RTN, block 32, one intra-op thread, for 1 row (decode) and 128 rows (prefill). Median of {@code --iters} runs after
 * a warm-up, the variants interleaved per round.
 */
public final class NBitsAccuracyLevelBench {

    private NBitsAccuracyLevelBench() {
    }

    static OnnxModel mlpStack(long seed) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("mlp");
        g.addInput(value("x", 256)).addOutput(value("y", 256));
        String cur = "x";
        for (int l = 0; l < 4; l++) {
            float[] up = new float[256 * 1024];
            float[] down = new float[1024 * 256];
            for (int i = 0; i < up.length; i++) {
                up[i] = (float) r.nextGaussian() * 0.06f;
                down[i] = (float) r.nextGaussian() * 0.03f;
            }
            g.addInitializer(Tensors.floatTensor("up" + l, new long[] {256, 1024}, up));
            g.addInitializer(Tensors.floatTensor("down" + l, new long[] {1024, 256}, down));
            g.addNode(Nodes.create("MatMul", "fc1_" + l, List.of(cur, "up" + l), List.of("h" + l)));
            g.addNode(Nodes.create("Relu", "relu" + l, List.of("h" + l), List.of("a" + l)));
            String out = l == 3 ? "y" : "o" + l;
            g.addNode(Nodes.create("MatMul", "fc2_" + l, List.of("a" + l, "down" + l), List.of(out)));
            cur = out;
        }
        return OnnxModel.wrap(OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).build());
    }

    private static OnnxMl.ValueInfoProto value(String name, long dim) {
        return ValueInfos.tensor(name, OnnxMl.TensorProto.DataType.FLOAT_VALUE, "B", dim);
    }

    public static void main(String[] args) throws Exception {
        int iters = args.length > 1 && args[0].equals("--iters") ? Integer.parseInt(args[1]) : 200;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OnnxModel fp32 = mlpStack(3);
        LlmQuantRecipe base = LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN);
        byte[][] models = {fp32.toByteArray(),
            new LlmWeightQuantizer().quantize(fp32, Map.of(), base.withAccuracyLevel(0)).model().toByteArray(),
            new LlmWeightQuantizer().quantize(fp32, Map.of(), base.withAccuracyLevel(4)).model().toByteArray()};
        String[] names = {"fp32", "nbits acc0", "nbits acc4"};
        System.out.printf(Locale.ROOT, "%-11s %6s %12s %12s %14s%n", "variant", "rows", "median ms", "p90 ms",
            "rel err vs fp32");
        for (int rows : new int[] {1, 128}) {
            Random r = new Random(rows);
            float[] x = new float[rows * 256];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            List<OrtSession> sessions = new ArrayList<>();
            for (byte[] m : models) {
                OrtSession.SessionOptions o = new OrtSession.SessionOptions();
                o.setIntraOpNumThreads(1);
                o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                sessions.add(env.createSession(m, o));
            }
            float[][] outs = new float[3][];
            long[][] times = new long[3][iters];
            try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {rows, 256})) {
                for (int it = -20; it < iters; it++) {
                    for (int v = 0; v < 3; v++) {
                        long t0 = System.nanoTime();
                        try (OrtSession.Result res = sessions.get(v).run(Map.of("x", in))) {
                            long t1 = System.nanoTime();
                            if (it >= 0) {
                                times[v][it] = t1 - t0;
                            }
                            if (it == 0) {
                                FloatBuffer b = ((OnnxTensor) res.get(0)).getFloatBuffer();
                                outs[v] = new float[b.remaining()];
                                b.get(outs[v]);
                            }
                        }
                    }
                }
            }
            for (int v = 0; v < 3; v++) {
                long[] t = times[v];
                Arrays.sort(t);
                double num = 0;
                double den = 0;
                for (int i = 0; i < outs[0].length; i++) {
                    num += Math.pow(outs[v][i] - outs[0][i], 2);
                    den += Math.pow(outs[0][i], 2);
                }
                System.out.printf(Locale.ROOT, "%-11s %6d %12.3f %12.3f %14.5f%n", names[v], rows, t[iters / 2] / 1e6,
                    t[iters * 9 / 10] / 1e6, Math.sqrt(num / den));
            }
            for (OrtSession s : sessions) {
                s.close();
            }
        }
    }
}
