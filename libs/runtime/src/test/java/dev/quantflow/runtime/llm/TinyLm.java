package dev.quantflow.runtime.llm;

import static dev.quantflow.runtime.TinyModels.floatTensor;
import static dev.quantflow.runtime.TinyModels.intsAttr;
import static dev.quantflow.runtime.TinyModels.node;
import static dev.quantflow.runtime.TinyModels.valueInfo;

import java.util.List;
import java.util.SplittableRandom;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.runtime.TinyModels;

/**
 * A toy language model built in code, with a plain-Java forward pass to check ONNX Runtime's results against.
 * {@code V} = 6 tokens, width {@code D} = 4:
 * <pre>
 *   h0     = E[input_ids]                       Gather, [b, s, D]
 *   q,k,v  = h0·Wq, h0·Wk, h0·Wv                three weight MatMuls reading h0
 *   att    = (q·kᵀ)·v                           two MatMuls of activations (not weight MatMuls)
 *   x      = att + h0
 *   logits = x·Wout                              [b, s, V]
 * </pre>
 * No softmax, no causal mask: the point is known arithmetic, not language modelling. Weights are drawn from a
 * seeded generator in [-0.5, 0.5) (E in [-1, 1)).
 */
final class TinyLm {

    static final int V = 6;
    static final int D = 4;

    final float[] e;
    final float[] wq;
    final float[] wk;
    final float[] wv;
    final float[] wout;

    TinyLm(long seed, boolean zeroOutput) {
        SplittableRandom r = new SplittableRandom(seed);
        e = random(r, V * D, 2f);
        wq = random(r, D * D, 1f);
        wk = random(r, D * D, 1f);
        wv = random(r, D * D, 1f);
        wout = zeroOutput ? new float[D * V] : random(r, D * V, 1f);
    }

    private static float[] random(SplittableRandom r, int n, float width) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() - 0.5) * width);
        }
        return v;
    }

    /** The model with a symbolic batch and sequence (each null) or fixed ones. */
    byte[] onnx(Integer batch, Integer seq) {
        Object b = batch == null ? "batch" : batch;
        Object s = seq == null ? "seq" : seq;
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("tiny_lm")
            .addInput(valueInfo("input_ids", DataType.INT64, b, s))
            .addOutput(valueInfo("logits", DataType.FLOAT, b, s, V))
            .addInitializer(floatTensor("E", e, V, D))
            .addInitializer(floatTensor("Wq", wq, D, D))
            .addInitializer(floatTensor("Wk", wk, D, D))
            .addInitializer(floatTensor("Wv", wv, D, D))
            .addInitializer(floatTensor("Wout", wout, D, V))
            .addNode(node("Gather", List.of("E", "input_ids"), List.of("h0")))
            .addNode(node("MatMul", List.of("h0", "Wq"), List.of("q")))
            .addNode(node("MatMul", List.of("h0", "Wk"), List.of("k")))
            .addNode(node("MatMul", List.of("h0", "Wv"), List.of("v")))
            .addNode(node("Transpose", List.of("k"), List.of("kt"), intsAttr("perm", 0, 2, 1)))
            .addNode(node("MatMul", List.of("q", "kt"), List.of("scores")))
            .addNode(node("MatMul", List.of("scores", "v"), List.of("att")))
            .addNode(node("Add", List.of("att", "h0"), List.of("x")))
            .addNode(node("MatMul", List.of("x", "Wout"), List.of("logits")))
            .build();
        return TinyModels.model(graph);
    }

    /** Activations of one forward pass over {@code rows} sequences of {@code seq} tokens. */
    record Forward(float[] h0, float[] x, float[] logits) {
    }

    Forward forward(long[] ids, int rows, int seq) {
        float[] h0 = new float[rows * seq * D];
        float[] x = new float[rows * seq * D];
        float[] logits = new float[rows * seq * V];
        for (int b = 0; b < rows; b++) {
            float[] q = new float[seq * D];
            float[] k = new float[seq * D];
            float[] v = new float[seq * D];
            for (int t = 0; t < seq; t++) {
                int tok = (int) ids[b * seq + t];
                System.arraycopy(e, tok * D, h0, (b * seq + t) * D, D);
                matVec(h0, (b * seq + t) * D, wq, D, q, t * D);
                matVec(h0, (b * seq + t) * D, wk, D, k, t * D);
                matVec(h0, (b * seq + t) * D, wv, D, v, t * D);
            }
            for (int t = 0; t < seq; t++) {
                for (int j = 0; j < D; j++) {
                    float att = 0;
                    for (int u = 0; u < seq; u++) {
                        float score = 0;
                        for (int c = 0; c < D; c++) {
                            score += q[t * D + c] * k[u * D + c];
                        }
                        att += score * v[u * D + j];
                    }
                    x[(b * seq + t) * D + j] = att + h0[(b * seq + t) * D + j];
                }
                matVec(x, (b * seq + t) * D, wout, V, logits, (b * seq + t) * V);
            }
        }
        return new Forward(h0, x, logits);
    }

    /** {@code out[o .. o+n) = in[i .. i+D) · W} for {@code W [D, n]}. */
    private static void matVec(float[] in, int i, float[] w, int n, float[] out, int o) {
        for (int c = 0; c < n; c++) {
            float s = 0;
            for (int r = 0; r < D; r++) {
                s += in[i + r] * w[r * n + c];
            }
            out[o + c] = s;
        }
    }

    /** Deterministic token ids in {@code [0, V)}. */
    static long[] tokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(V);
        }
        return t;
    }
}
