package dev.quantflow.quant.dynamic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.TestModels;

class SmoothQuantTest {

    private static final int C = 8;
    private static final int D = 6;
    private static final int OUTLIER = 2;

    /**
     * x [M, C]; LayerNorm-like h = x·γ + β read by three MatMuls (q, k, v) and by a residual Add (r = h + x);
     * u = x·W1 + b1 read only by z = u·W2 (the fold case).
     */
    private static OnnxModel graph(long seed) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("smooth");
        g.addInput(TestModels.value("x", "M", C));
        for (String[] o : new String[][] {{"q", "5"}, {"k", "6"}, {"v", "7"}, {"r", "" + C}, {"z", "4"}}) {
            g.addOutput(TestModels.value(o[0], "M", Long.parseLong(o[1])));
        }
        g.addInitializer(Tensors.floatTensor("gamma", new long[] {C}, TestModels.uniform(r, C, 0.5f, 1.5f)));
        g.addInitializer(Tensors.floatTensor("beta", new long[] {C}, TestModels.gaussian(r, C, 0.1f)));
        g.addInitializer(Tensors.floatTensor("Wq", new long[] {C, 5}, TestModels.gaussian(r, C * 5, 0.3f)));
        g.addInitializer(Tensors.floatTensor("Wk", new long[] {C, 6}, TestModels.gaussian(r, C * 6, 0.3f)));
        g.addInitializer(Tensors.floatTensor("Wv", new long[] {C, 7}, TestModels.gaussian(r, C * 7, 0.3f)));
        g.addInitializer(Tensors.floatTensor("W1", new long[] {C, D}, TestModels.gaussian(r, C * D, 0.3f)));
        g.addInitializer(Tensors.floatTensor("b1", new long[] {D}, TestModels.gaussian(r, D, 0.2f)));
        g.addInitializer(Tensors.floatTensor("W2", new long[] {D, 4}, TestModels.gaussian(r, D * 4, 0.3f)));
        g.addNode(Nodes.create("Mul", "ln_scale", List.of("x", "gamma"), List.of("xg")));
        g.addNode(Nodes.create("Add", "ln_shift", List.of("xg", "beta"), List.of("h")));
        g.addNode(Nodes.create("MatMul", "mm_q", List.of("h", "Wq"), List.of("q")));
        g.addNode(Nodes.create("MatMul", "mm_k", List.of("h", "Wk"), List.of("k")));
        g.addNode(Nodes.create("MatMul", "mm_v", List.of("h", "Wv"), List.of("v")));
        g.addNode(Nodes.create("Add", "residual", List.of("h", "x"), List.of("r")));
        g.addNode(Nodes.create("MatMul", "mm_1", List.of("x", "W1"), List.of("u0")));
        g.addNode(Nodes.create("Add", "add_1", List.of("b1", "u0"), List.of("u")));
        g.addNode(Nodes.create("MatMul", "mm_2", List.of("u", "W2"), List.of("z")));
        return TestModels.model(g, 13);
    }

    /** Gaussian rows with one outlier channel 30× the others (what SmoothQuant is for). */
    private static float[] input(long seed, int rows) {
        float[] x = TestModels.gaussian(new Random(seed), rows * C, 1f);
        for (int i = 0; i < rows; i++) {
            x[i * C + OUTLIER] *= 30f;
        }
        return x;
    }

    /** max |X[.., j]| of {@code tensors} over 64 calibration rows, through ONNX Runtime. */
    private static Map<String, float[]> statistics(OnnxModel fp32, List<String> tensors) {
        Map<String, float[]> out = OrtSupport.run(fp32.withAdditionalOutputs(tensors), "x", input(7, 64),
            new long[] {64, C});
        Map<String, float[]> stats = new LinkedHashMap<>();
        for (String t : tensors) {
            float[] x = out.get(t);
            float[] max = new float[t.equals("u") ? D : C];
            SmoothQuant.accumulateAbsMax(x, x.length, max);
            stats.put(t, max);
        }
        return stats;
    }

    private static float[] init(OnnxModel m, String name) {
        return Tensors.toFloatArray(m.initializers().get(name));
    }

    private static OnnxMl.NodeProto node(OnnxModel m, String name) {
        return m.graph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow();
    }

    /** s_j = 1 / fp16(1 / (max(a,ε)^α / max(w,ε)^(1−α))), written out independently of the class. */
    private static float expectedScale(double a, double w, double alpha) {
        double raw = Math.pow(Math.max(a, 1e-5), alpha) / Math.pow(Math.max(w, 1e-5), 1 - alpha);
        return 1f / Float.float16ToFloat(Float.floatToFloat16((float) (1 / raw)));
    }

    @Test
    void smoothedGraphComputesTheSameOutputsAsTheOriginal() {
        OnnxModel fp32 = graph(1);
        Map<String, float[]> stats = statistics(fp32, List.of("x", "h", "u"));
        SmoothQuant.Result result = SmoothQuant.apply(fp32, stats, 0.8);

        assertThat(result.groups()).extracting(SmoothQuant.Group::input).containsExactly("h", "x", "u");
        assertThat(result.insertedMuls()).isEqualTo(2);
        assertThat(result.foldedGroups()).singleElement().satisfies(g -> {
            assertThat(g.input()).isEqualTo("u");
            assertThat(g.foldedInto()).contains("mm_1");
        });
        // The residual Add still reads the unscaled h; the MatMuls read the Mul's output.
        OnnxModel smoothed = result.model();
        assertThat(node(smoothed, "residual").getInputList()).containsExactly("h", "x");
        for (String mm : List.of("mm_q", "mm_k", "mm_v")) {
            assertThat(node(smoothed, mm).getInput(0)).isEqualTo("h_smoothed");
        }
        assertThat(node(smoothed, "mm_2").getInput(0)).isEqualTo("u");

        float[] x = input(99, 17);
        Map<String, float[]> before = OrtSupport.run(fp32, "x", x, new long[] {17, C});
        Map<String, float[]> after = OrtSupport.run(smoothed, "x", x, new long[] {17, C});
        for (String out : List.of("q", "k", "v", "r", "z")) {
            float[] b = before.get(out);
            float[] a = after.get(out);
            double scale = 0;
            for (float v : b) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < b.length; i++) {
                assertThat((double) a[i]).as("%s[%d]", out, i).isCloseTo(b[i], within(1e-5 * scale));
            }
        }
        // Smoothing changed the weights (it is not a no-op): the outlier row grew.
        assertThat(Math.abs(init(smoothed, "Wq")[OUTLIER * 5])).isGreaterThan(Math.abs(init(fp32, "Wq")[OUTLIER * 5]));
    }

    /**
     * BERT-style self-attention on x [B, T, 8], 2 heads of 4: V = x·Wv + bv, head split (Reshape [0, 0, 2, 4],
     * Transpose [0, 2, 1, 3], with Shape readers as in PyTorch exports), context = softmax(Q·Kᵀ)·V, merged back
     * (Transpose, Reshape [0, 0, 8]) and projected by Wo.
     */
    private static OnnxModel attention(long seed) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("attention");
        OnnxMl.ValueInfoProto x = TestModels.value("x", "B", 5, C);
        g.addInput(x).addOutput(x.toBuilder().setName("y"));
        g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("v_shape").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE))));
        for (String w : List.of("Wq", "Wk", "Wv", "Wo")) {
            g.addInitializer(Tensors.floatTensor(w, new long[] {C, C}, TestModels.gaussian(r, C * C, 0.4f)));
        }
        g.addInitializer(Tensors.floatTensor("bv", new long[] {C}, TestModels.gaussian(r, C, 0.3f)));
        g.addInitializer(Tensors.int64Tensor("split", new long[] {4}, new long[] {0, 0, 2, 4}));
        g.addInitializer(Tensors.int64Tensor("merge", new long[] {3}, new long[] {0, 0, C}));
        OnnxMl.AttributeProto heads = Nodes.intsAttribute("perm", 0, 2, 1, 3);
        for (String p : List.of("q", "k")) {
            g.addNode(Nodes.create("MatMul", p + "_mm", List.of("x", "W" + p), List.of(p)));
            g.addNode(Nodes.create("Reshape", p + "_split", List.of(p, "split"), List.of(p + "4")));
            g.addNode(Nodes.create("Transpose", p + "_heads", List.of(p + "4"), List.of(p + "h"), heads));
        }
        g.addNode(Nodes.create("MatMul", "v_mm", List.of("x", "Wv"), List.of("v0")));
        g.addNode(Nodes.create("Add", "v_add", List.of("bv", "v0"), List.of("v")));
        g.addNode(Nodes.create("Shape", "v_shape_of", List.of("v"), List.of("v_shape64")));
        g.addNode(Nodes.create("Cast", "v_shape_cast", List.of("v_shape64"), List.of("v_shape"),
            Nodes.intAttribute("to", OnnxMl.TensorProto.DataType.FLOAT_VALUE)));
        g.addNode(Nodes.create("Reshape", "v_split", List.of("v", "split"), List.of("v4")));
        g.addNode(Nodes.create("Transpose", "v_heads", List.of("v4"), List.of("vh"), heads));
        g.addNode(Nodes.create("Transpose", "k_t", List.of("kh"), List.of("kt"), Nodes.intsAttribute("perm", 0, 1, 3, 2)));
        g.addNode(Nodes.create("MatMul", "scores", List.of("qh", "kt"), List.of("s")));
        g.addNode(Nodes.create("Softmax", "softmax", List.of("s"), List.of("p"), Nodes.intAttribute("axis", -1)));
        g.addNode(Nodes.create("MatMul", "context", List.of("p", "vh"), List.of("c4")));
        g.addNode(Nodes.create("Transpose", "c_heads", List.of("c4"), List.of("ct"), heads));
        g.addNode(Nodes.create("Reshape", "c_merge", List.of("ct", "merge"), List.of("c")));
        g.addNode(Nodes.create("MatMul", "o_mm", List.of("c", "Wo"), List.of("y")));
        return TestModels.model(g, 13);
    }

    @Test
    void attentionOutputProjectionFoldsIntoTheValueProjectionExactly() {
        OnnxModel fp32 = attention(8);
        float[] calib = input(21, 3 * 5);
        Map<String, float[]> out = OrtSupport.run(fp32.withAdditionalOutputs(List.of("c")), "x", calib,
            new long[] {3, 5, C});
        float[] a = new float[C];
        SmoothQuant.accumulateAbsMax(out.get("c"), out.get("c").length, a);
        SmoothQuant.Result result = SmoothQuant.apply(fp32, Map.of("c", a), 0.8);

        assertThat(result.insertedMuls()).isZero();
        assertThat(result.foldedGroups()).singleElement().satisfies(g -> assertThat(g.foldedInto()).contains("v_mm"));
        float[] s = result.groups().getFirst().scales();
        float[] wv = init(fp32, "Wv");
        float[] wvSmoothed = init(result.model(), "Wv");
        for (int i = 0; i < wv.length; i++) {
            assertThat(wvSmoothed[i]).isEqualTo(wv[i] * Float.float16ToFloat(Float.floatToFloat16(1f / s[i % C])));
        }
        float[] x = input(22, 2 * 5);
        float[] before = OrtSupport.run(fp32, "x", x, new long[] {2, 5, C}).get("y");
        float[] after = OrtSupport.run(result.model(), "x", x, new long[] {2, 5, C}).get("y");
        double scale = 0;
        for (float v : before) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < before.length; i++) {
            assertThat((double) after[i]).as("y[%d]", i).isCloseTo(before[i], within(1e-5 * scale));
        }
    }

    @Test
    void scalesFollowTheFormulaOnAHandComputedCase() {
        // α = 0.5: s = sqrt(a) / sqrt(w). 2/1 = 2 and 0.5/4 = 0.125 are exact in fp16 as reciprocals (0.5, 8);
        // a = 0 floors at ε: sqrt(1e-5)/sqrt(2) = 0.00223607, 1/s = 447.2136 → fp16 447.25 → s = 1/447.25.
        float[] s = SmoothQuant.scales(new float[] {4f, 0.25f, 0f}, new float[] {1f, 16f, 2f}, 0.5);
        assertThat(s).containsExactly(2f, 0.125f, 1f / 447.25f);
        // α = 1: s = a; α = 0: s = 1/w.
        assertThat(SmoothQuant.scales(new float[] {4f, 0.5f}, new float[] {3f, 7f}, 1.0)).containsExactly(4f, 0.5f);
        assertThat(SmoothQuant.scales(new float[] {4f, 0.5f}, new float[] {16f, 0.25f}, 0.0))
            .containsExactly(1f / 16, 4f);
        assertThatThrownBy(() -> SmoothQuant.scales(new float[] {1f}, new float[] {1f}, 1.5))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void matMulsReadingOneTensorShareOneScaleFromTheirJointWeightMaximum() {
        OnnxModel fp32 = graph(2);
        Map<String, float[]> stats = statistics(fp32, List.of("h"));
        SmoothQuant.Result result = SmoothQuant.apply(fp32, stats, 0.8);
        SmoothQuant.Group group = result.groups().getFirst();
        assertThat(group.matMuls()).containsExactly("mm_q", "mm_k", "mm_v");

        float[] a = stats.get("h");
        float[] s = group.scales();
        for (int j = 0; j < C; j++) {
            double w = 0;
            for (String name : List.of("Wq", "Wk", "Wv")) {
                float[] values = init(fp32, name);
                int n = values.length / C;
                for (int k = 0; k < n; k++) {
                    w = Math.max(w, Math.abs(values[j * n + k]));
                }
            }
            assertThat(s[j]).as("s[%d]", j).isEqualTo(expectedScale(a[j], w, 0.8));
        }
        for (String name : List.of("Wq", "Wk", "Wv")) {
            float[] orig = init(fp32, name);
            float[] smoothed = init(result.model(), name);
            int n = orig.length / C;
            for (int i = 0; i < orig.length; i++) {
                assertThat(smoothed[i]).as("%s[%d]", name, i).isEqualTo(orig[i] * s[i / n]);
            }
        }
    }

    @Test
    void oneOverSIsStoredAsFp16WhoseReciprocalIsTheWeightScale() {
        OnnxModel fp32 = graph(3);
        SmoothQuant.Result result = SmoothQuant.apply(fp32, statistics(fp32, List.of("h")), 0.8);
        OnnxModel smoothed = result.model();
        OnnxMl.NodeProto mul = smoothed.graph().getNodeList().stream().filter(n -> n.getOpType().equals("Mul")
            && n.getOutput(0).equals("h_smoothed")).findFirst().orElseThrow();
        assertThat(mul.getInput(0)).isEqualTo("h");
        OnnxMl.NodeProto cast = smoothed.graph().getNodeList().stream()
            .filter(n -> n.getOutputList().contains(mul.getInput(1))).findFirst().orElseThrow();
        assertThat(cast.getOpType()).isEqualTo("Cast");
        assertThat(Nodes.intAttribute(cast, "to", -1)).isEqualTo(OnnxMl.TensorProto.DataType.FLOAT_VALUE);
        OnnxMl.TensorProto half = smoothed.initializers().get(cast.getInput(0));
        assertThat(half.getDataType()).isEqualTo(OnnxMl.TensorProto.DataType.FLOAT16_VALUE);
        ByteBuffer raw = half.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] s = result.groups().getFirst().scales();
        float[] orig = init(fp32, "Wq");
        float[] scaled = init(smoothed, "Wq");
        for (int j = 0; j < C; j++) {
            float inv = Float.float16ToFloat(raw.getShort(2 * j));
            assertThat(s[j]).isEqualTo(1f / inv);
            for (int k = 0; k < 5; k++) {
                assertThat(scaled[j * 5 + k]).isEqualTo(orig[j * 5 + k] * (1f / inv));
            }
        }
    }

    @Test
    void tensorsWithoutStatisticsAreLeftAlone() {
        OnnxModel fp32 = graph(4);
        SmoothQuant.Result none = SmoothQuant.apply(fp32, Map.of(), 0.8);
        assertThat(none.groups()).isEmpty();
        assertThat(none.model().graph()).isEqualTo(fp32.graph());

        // Only u: W2's rows and W1's columns / b1 change, nothing else; no node added.
        Map<String, float[]> stats = statistics(fp32, List.of("u"));
        stats.put("not_a_tensor_of_the_graph", new float[] {1f});
        SmoothQuant.Result onlyU = SmoothQuant.apply(fp32, stats, 0.8);
        assertThat(onlyU.model().graph().getNodeCount()).isEqualTo(fp32.graph().getNodeCount());
        for (String name : List.of("Wq", "Wk", "Wv", "gamma", "beta")) {
            assertThat(onlyU.model().initializers().get(name)).as(name).isEqualTo(fp32.initializers().get(name));
        }
        for (String name : List.of("W1", "b1", "W2")) {
            assertThat(onlyU.model().initializers().get(name)).as(name).isNotEqualTo(fp32.initializers().get(name));
        }
        assertThat(SmoothQuant.smoothableInputs(fp32)).containsExactly("h", "x", "u");
    }

    @Test
    void statisticsOfTheWrongLengthAreRejected() {
        OnnxModel fp32 = graph(5);
        assertThatThrownBy(() -> SmoothQuant.apply(fp32, Map.of("h", new float[C + 1]), 0.8))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rows");
        assertThatThrownBy(() -> SmoothQuant.apply(fp32, Map.of("h", new float[C]), -0.1))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void recipeWithSmoothingQuantizesTheSmoothedGraphAndIsOffByDefault() {
        OnnxModel fp32 = graph(6);
        DynamicQuantRecipe defaults = DynamicQuantRecipe.defaults();
        assertThat(defaults.smoothing()).isFalse();
        assertThat(defaults.withSmoothing(null, 0.8).smoothing()).isFalse();
        byte[] plain = new DynamicQuantizer().quantize(fp32, defaults).model().toByteArray();
        assertThat(new DynamicQuantizer().quantize(fp32, defaults.withSmoothing(Map.of(), 0.8)).model().toByteArray())
            .isEqualTo(plain);

        Map<String, float[]> stats = statistics(fp32, List.of("x", "h", "u"));
        DynamicQuantRecipe recipe = defaults.withSmoothing(stats, 0.8);
        assertThat(recipe.smoothing()).isTrue();
        assertThat(recipe.withGraphForm(DynamicGraphForm.QDQ).smoothingChannelAbsMax()).containsKeys("x", "h", "u");
        DynamicQuantizationResult q = new DynamicQuantizer().quantize(fp32, recipe);
        assertThat(q.model().graph().getNodeList()).filteredOn(n -> n.getOpType().equals("Mul")
            && n.getName().endsWith("_SmoothMul")).hasSize(2);
        assertThat(q.quantizedNodes()).extracting(d -> d.node()).contains("mm_q", "mm_k", "mm_v", "mm_1", "mm_2");
        assertThat(q.model().toByteArray()).isNotEqualTo(plain);
        assertThatThrownBy(() -> defaults.withSmoothing(stats, 1.2)).isInstanceOf(IllegalArgumentException.class);
        // With a 30× outlier channel in x (and so in h), the smoothed INT8 projections are closer to fp32.
        float[] x = input(123, 33);
        Map<String, float[]> ref = OrtSupport.run(fp32, "x", x, new long[] {33, C});
        Map<String, float[]> smoothedInt8 = OrtSupport.run(q.model(), "x", x, new long[] {33, C});
        Map<String, float[]> plainInt8 = OrtSupport.run(OnnxModel.parse(plain), "x", x, new long[] {33, C});
        for (String out : List.of("q", "k", "v", "z")) {
            assertThat(squaredError(ref.get(out), smoothedInt8.get(out))).as(out)
                .isLessThan(squaredError(ref.get(out), plainInt8.get(out)));
        }
    }

    private static double squaredError(float[] a, float[] b) {
        double e = 0;
        for (int i = 0; i < a.length; i++) {
            e += (a[i] - b[i]) * (double) (a[i] - b[i]);
        }
        return e;
    }
}
