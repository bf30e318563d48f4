package dev.quantflow.quant.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.TestModels;

class AwqTest {

    static final int K = 64;
    static final int N = 32;
    static final List<String> PROJ = List.of("q", "k", "v");

    /** x [B, 64] → LayerNormalization → ln → q, k, v (MatMul 64→32) → yq, yk, yv; with {@code residual} also ln + 1 → r. */
    static OnnxModel layerNormQkv(long seed, boolean residual) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("lnqkv");
        g.addInput(TestModels.value("x", "B", K));
        float[] gamma = new float[K];
        for (int j = 0; j < K; j++) {
            gamma[j] = 0.5f + r.nextFloat() + (j % 16 == 3 ? 12f : 0f);
        }
        g.addInitializer(Tensors.floatTensor("gamma", new long[] {K}, gamma));
        g.addInitializer(Tensors.floatTensor("beta", new long[] {K}, LlmTestData.gaussian(r, K, 0.3f)));
        g.addNode(Nodes.create("LayerNormalization", "ln", List.of("x", "gamma", "beta"), List.of("ln"),
            Nodes.intAttribute("axis", -1), Nodes.floatAttribute("epsilon", 1e-5f)));
        for (String p : PROJ) {
            g.addInitializer(Tensors.floatTensor("W" + p, new long[] {K, N}, LlmTestData.gaussian(r, K * N, 0.1f)));
            g.addNode(Nodes.create("MatMul", p, List.of("ln", "W" + p), List.of("y" + p)));
            g.addOutput(TestModels.value("y" + p, "B", N));
        }
        if (residual) {
            g.addInitializer(Tensors.floatTensor("one", new long[] {1}, new float[] {1f}));
            g.addNode(Nodes.create("Add", "res", List.of("ln", "one"), List.of("r")));
            g.addOutput(TestModels.value("r", "B", K));
        }
        return TestModels.model(g, 17);
    }

    /** x [B, 64] → Gelu → g → fc (MatMul 64→32) → y. */
    static OnnxModel geluMatMul(long seed) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("gelu");
        g.addInput(TestModels.value("x", "B", K)).addOutput(TestModels.value("y", "B", N));
        g.addInitializer(Tensors.floatTensor("Wfc", new long[] {K, N}, LlmTestData.gaussian(r, K * N, 0.1f)));
        g.addNode(Nodes.create("Gelu", "gelu", List.of("x"), List.of("g")));
        g.addNode(Nodes.create("MatMul", "fc", List.of("g", "Wfc"), List.of("y")));
        return TestModels.model(g, 20);
    }

    static float[] randomScales(long seed) {
        Random r = new Random(seed);
        float[] s = new float[K];
        for (int j = 0; j < K; j++) {
            s[j] = 0.25f + 3f * r.nextFloat();
        }
        return s;
    }

    /** Applies s to the graph and multiplies the (unquantized) weights of {@code matMuls} by diag(s). */
    static OnnxModel scaledFp32(OnnxModel m, String input, Set<String> matMuls, float[] s, boolean expectFold) {
        GraphEditor editor = GraphEditor.of(m);
        AwqFolding.Applied applied = AwqFolding.apply(editor, input, matMuls, s);
        assertThat(applied.foldedIntoLayerNorm()).isEqualTo(expectFold);
        for (String name : matMuls) {
            OnnxMl.NodeProto node = editor.node(name).orElseThrow();
            assertThat(node.getInput(0)).isEqualTo(applied.activation());
            OnnxMl.TensorProto t = editor.initializer(node.getInput(1)).orElseThrow();
            float[] w = Tensors.toFloatArray(t);
            float[] sw = new float[w.length];
            AwqScaleSearch.scaleRows(w, K, N, s, sw);
            editor.putInitializer(Tensors.floatTensor(t.getName(), Tensors.dims(t), sw));
        }
        return editor.build();
    }

    static void assertSameOutputs(OnnxModel a, OnnxModel b, float[] x, int rows) {
        Map<String, float[]> ya = OrtSupport.run(a, "x", x, new long[] {rows, K}, OrtSession.SessionOptions.OptLevel.ALL_OPT);
        Map<String, float[]> yb = OrtSupport.run(b, "x", x, new long[] {rows, K}, OrtSession.SessionOptions.OptLevel.ALL_OPT);
        assertThat(yb.keySet()).isEqualTo(ya.keySet());
        for (String out : ya.keySet()) {
            double[] expected = new double[ya.get(out).length];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = ya.get(out)[i];
            }
            assertThat(LlmWeightQuantizerTest.relativeDiff(yb.get(out), expected)).as(out).isLessThan(1e-5);
        }
    }

    @Test
    void foldingIntoLayerNormKeepsTheFp32Output() {
        OnnxModel fp32 = layerNormQkv(1, false);
        OnnxModel scaled = scaledFp32(fp32, "ln", Set.of("q", "k", "v"), randomScales(2), true);
        assertThat(scaled.graph().getNodeCount()).isEqualTo(fp32.graph().getNodeCount());
        assertSameOutputs(fp32, scaled, LlmTestData.gaussian(new Random(3), 5 * K, 1f), 5);
    }

    @Test
    void layerNormReadByAnotherNodeGetsAMulInstead() {
        OnnxModel fp32 = layerNormQkv(1, true);
        OnnxModel scaled = scaledFp32(fp32, "ln", Set.of("q", "k", "v"), randomScales(4), false);
        assertThat(scaled.graph().getNodeList()).filteredOn(n -> n.getOpType().equals("Mul")).hasSize(1);
        assertSameOutputs(fp32, scaled, LlmTestData.gaussian(new Random(3), 5 * K, 1f), 5);
    }

    @Test
    void geluOutputGetsAnExplicitMul() {
        OnnxModel fp32 = geluMatMul(1);
        OnnxModel scaled = scaledFp32(fp32, "g", Set.of("fc"), randomScales(5), false);
        assertThat(scaled.graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .containsExactly("Gelu", "Mul", "MatMul");
        assertSameOutputs(fp32, scaled, LlmTestData.gaussian(new Random(3), 5 * K, 1f), 5);
    }

    @Test
    void awqBeatsRtnWhenAFewChannelsAreLarge() {
        OnnxModel fp32 = layerNormQkv(7, false); // gamma: channels 3, 19, 35, 51 about 13× the others
        int rows = 256;
        float[] x = LlmTestData.gaussian(new Random(8), rows * K, 1f);
        float[] ln = OrtSupport.run(fp32.withAdditionalOutputs(List.of("ln")), "x", x, new long[] {rows, K}).get("ln");
        Map<String, LayerInputStats> stats = Map.of("ln", LlmTestData.stats("ln", ln, rows, K, rows));
        LlmQuantRecipe base = LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBlockSize(32).withAccuracyLevel(0);
        LlmQuantizationResult rtn = new LlmWeightQuantizer().quantize(fp32, stats, base);
        LlmQuantizationResult awq = new LlmWeightQuantizer().quantize(fp32, stats,
            new LlmQuantRecipe(LlmQuantRecipe.Method.AWQ, 4, 32, false, false, 0.01, LlmQuantRecipe.Format.MATMUL_NBITS,
                Set.of(), Set.of(), true, 0));
        for (int i = 0; i < 3; i++) {
            assertThat(awq.decisions().get(i).relativeError()).as(PROJ.get(i))
                .isLessThan(0.8 * rtn.decisions().get(i).relativeError());
        }
        // the scales were folded into the LayerNormalization: no Mul, three MatMulNBits
        assertThat(awq.model().graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .containsExactly("LayerNormalization", "MatMulNBits", "MatMulNBits", "MatMulNBits");
        Map<String, float[]> ref = OrtSupport.run(fp32, "x", x, new long[] {rows, K});
        Map<String, float[]> yr = OrtSupport.run(rtn.model(), "x", x, new long[] {rows, K});
        Map<String, float[]> ya = OrtSupport.run(awq.model(), "x", x, new long[] {rows, K});
        for (String p : PROJ) {
            double[] expected = new double[ref.get("y" + p).length];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = ref.get("y" + p)[i];
            }
            assertThat(LlmWeightQuantizerTest.relativeDiff(ya.get("y" + p), expected))
                .isLessThan(LlmWeightQuantizerTest.relativeDiff(yr.get("y" + p), expected));
        }
    }

    @Test
    void searchNeverLosesToRtnAndPicksAlphaAboveZeroForOutlierChannels() {
        Random r = new Random(12);
        int rows = 128;
        float[] x = LlmTestData.gaussian(r, rows * K, 1f);
        for (int row = 0; row < rows; row++) {
            x[row * K + 5] *= 25f;
            x[row * K + 40] *= 15f;
        }
        LayerInputStats stats = LlmTestData.stats("x", x, rows, K, 64);
        float[] w = LlmTestData.gaussian(r, K * N, 0.1f);
        RtnQuantizer rtn = new RtnQuantizer(new BlockQuantGrid(4, true), 16);
        AwqScaleSearch.Result res = AwqScaleSearch.search(List.of(new AwqScaleSearch.Member(w, N, rtn)), K, stats);
        assertThat(res.loss()).isLessThan(0.8 * res.rtnLoss());
        assertThat(res.alpha()).isGreaterThan(0.0);
        assertThat(res.scales()[5]).isGreaterThan(res.scales()[0]);

        // uniform activations: s_x equal everywhere, normalised s = 1 for every α, the search changes nothing
        LayerInputStats flat = new LayerInputStats("x", K, 8, 1);
        float[] ones = new float[8 * K];
        java.util.Arrays.fill(ones, 1f);
        flat.accumulate(ones, 0, 8);
        AwqScaleSearch.Result none = AwqScaleSearch.search(List.of(new AwqScaleSearch.Member(w, N, rtn)), K, flat);
        assertThat(none.alpha()).isZero();
        assertThat(none.scales()).containsOnly(1f);
    }

    /**
     * x [S, 64] → q, k, v (MatMul + bias Add) → scores = q · Transpose(k) / 8 → Softmax → · v → out (MatMul) → y:
     * one attention head, as exported (the q/k/v outputs also read by Shape nodes, as in dynamic-shape exports).
     */
    static OnnxModel attentionHead(long seed) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("attn");
        g.addInput(TestModels.value("x", "S", K)).addOutput(TestModels.value("y", "S", N));
        for (String p : PROJ) {
            g.addInitializer(Tensors.floatTensor("W" + p, new long[] {K, N}, LlmTestData.gaussian(r, K * N, 0.1f)));
            g.addInitializer(Tensors.floatTensor("b" + p, new long[] {N}, LlmTestData.gaussian(r, N, 0.1f)));
            g.addNode(Nodes.create("MatMul", p, List.of("x", "W" + p), List.of(p + "_mm")));
            g.addNode(Nodes.create("Add", p + "_bias", List.of(p + "_mm", "b" + p), List.of(p + "_out")));
            g.addNode(Nodes.create("Shape", p + "_shape", List.of(p + "_out"), List.of(p + "_dims")));
        }
        g.addInitializer(Tensors.floatTensor("Wout", new long[] {N, N}, LlmTestData.gaussian(r, N * N, 0.1f)));
        g.addInitializer(Tensors.floatTensor("sqrt_d", new long[] {1}, new float[] {8f}));
        g.addNode(Nodes.create("Transpose", "kt", List.of("k_out"), List.of("k_t"), Nodes.intsAttribute("perm", 1, 0)));
        g.addNode(Nodes.create("MatMul", "scores", List.of("q_out", "k_t"), List.of("s")));
        g.addNode(Nodes.create("Div", "scale", List.of("s", "sqrt_d"), List.of("s_scaled")));
        g.addNode(Nodes.create("Softmax", "softmax", List.of("s_scaled"), List.of("p"), Nodes.intAttribute("axis", -1)));
        g.addNode(Nodes.create("MatMul", "context", List.of("p", "v_out"), List.of("ctx")));
        g.addNode(Nodes.create("MatMul", "out", List.of("ctx", "Wout"), List.of("y")));
        return TestModels.model(g, 17);
    }

    @Test
    void queryAndKeyProjectionsAreRecognisedByTheSoftmaxTheirProductFeeds() {
        GraphEditor editor = GraphEditor.of(attentionHead(1));
        assertThat(LlmWeightQuantizer.feedsAttentionScores(editor, editor.node("q").orElseThrow())).isTrue();
        assertThat(LlmWeightQuantizer.feedsAttentionScores(editor, editor.node("k").orElseThrow())).isTrue();
        assertThat(LlmWeightQuantizer.feedsAttentionScores(editor, editor.node("v").orElseThrow())).isFalse();
        assertThat(LlmWeightQuantizer.feedsAttentionScores(editor, editor.node("out").orElseThrow())).isFalse();
        // the plain LayerNorm → q/k/v graph has no attention: all three are ordinary projections
        GraphEditor plain = GraphEditor.of(layerNormQkv(1, false));
        assertThat(LlmWeightQuantizer.feedsAttentionScores(plain, plain.node("q").orElseThrow())).isFalse();
    }

    @Test
    void clippingLowersTheLayerErrorOfAwqWithOutlierWeights() {
        OnnxModel fp32 = geluMatMul(3);
        // a few large weights per block: what the clipping search is for
        GraphEditor editor = GraphEditor.of(fp32);
        float[] w = Tensors.toFloatArray(editor.initializer("Wfc").orElseThrow());
        Random r = new Random(9);
        for (int t = 0; t < 40; t++) {
            w[r.nextInt(w.length)] *= 6f;
        }
        editor.putInitializer(Tensors.floatTensor("Wfc", new long[] {K, N}, w));
        OnnxModel model = editor.build();
        int rows = 256;
        float[] x = LlmTestData.gaussian(new Random(10), rows * K, 1f);
        float[] gelu = OrtSupport.run(model.withAdditionalOutputs(List.of("g")), "x", x, new long[] {rows, K}).get("g");
        Map<String, LayerInputStats> stats = Map.of("g", LlmTestData.stats("g", gelu, rows, K, rows));
        LlmQuantRecipe awq = LlmQuantRecipe.of(LlmQuantRecipe.Method.AWQ).withBlockSize(16).withAccuracyLevel(0);
        double clipped = new LlmWeightQuantizer().quantize(model, stats, awq).decisions().get(0).relativeError();
        double unclipped = new LlmWeightQuantizer().quantize(model, stats, awq.withAwqClip(false)).decisions().get(0)
            .relativeError();
        // the search lowers each block's own error; the layer error, cross-block terms included, follows
        assertThat(clipped).isLessThan(unclipped);
    }
}
