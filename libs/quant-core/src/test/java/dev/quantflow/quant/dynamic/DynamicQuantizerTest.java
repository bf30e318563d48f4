package dev.quantflow.quant.dynamic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.QuantizedWeights;
import dev.quantflow.quant.SymmetricWeightQuantizer;
import dev.quantflow.quant.TestModels;
import dev.quantflow.quant.qdq.NodeDecision;

class DynamicQuantizerTest {

    private final DynamicQuantizer quantizer = new DynamicQuantizer();

    /** x [M, k] → MatMul W [k, n] → Add bias → y. */
    private static OnnxModel matMulWithBias(long seed, int k, int n, int opset) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("matmul");
        g.addInput(TestModels.value("x", "M", k)).addOutput(TestModels.value("y", "M", n));
        g.addInitializer(Tensors.floatTensor("W", new long[] {k, n}, columnSpread(r, k, n)));
        g.addInitializer(Tensors.floatTensor("bias", new long[] {n}, TestModels.gaussian(r, n, 0.2f)));
        g.addNode(Nodes.create("MatMul", "mm", List.of("x", "W"), List.of("t")));
        g.addNode(Nodes.create("Add", "add", List.of("t", "bias"), List.of("y")));
        return TestModels.model(g, opset);
    }

    /** Gaussian weights whose columns differ in spread by up to 20×, so per-column scales matter. */
    private static float[] columnSpread(Random r, int k, int n) {
        float[] w = new float[k * n];
        for (int j = 0; j < n; j++) {
            float std = 0.02f + 0.4f * (j % 7) / 6f;
            for (int i = 0; i < k; i++) {
                w[i * n + j] = (float) r.nextGaussian() * std;
            }
        }
        return w;
    }

    /**
     * The dynamic quantization math in plain Java (class doc of {@link DynamicQuantizer}): ONNX DynamicQuantizeLinear
     * on x, integer accumulation against the symmetric per-column weight codes, one float scale per column, bias.
     */
    private static float[] referenceDynamicMatMul(float[] x, int m, int k, float[] w, int n, float[] bias, int qmax) {
        float sx = activationScale(x);
        int zx = (int) Math.max(0, Math.min(255, Math.rint(-Math.min(0f, min(x)) / sx)));
        int[] xq = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            xq[i] = (int) Math.max(0, Math.min(255, Math.rint(x[i] / sx) + zx));
        }
        QuantizedWeights qw = SymmetricWeightQuantizer.perChannel(w, new long[] {k, n}, 1, qmax);
        float[] y = new float[m * n];
        for (int row = 0; row < m; row++) {
            for (int col = 0; col < n; col++) {
                long acc = 0;
                for (int i = 0; i < k; i++) {
                    acc += (long) (xq[row * k + i] - zx) * qw.values()[i * n + col];
                }
                y[row * n + col] = acc * (sx * qw.scales()[col]) + (bias == null ? 0f : bias[col]);
            }
        }
        return y;
    }

    /** DynamicQuantizeLinear's scale: the range of x widened to include 0, over 255 steps. */
    private static float activationScale(float[] x) {
        return (Math.max(0f, max(x)) - Math.min(0f, min(x))) / 255f;
    }

    private static float min(float[] x) {
        float m = Float.POSITIVE_INFINITY;
        for (float v : x) {
            m = Math.min(m, v);
        }
        return m;
    }

    private static float max(float[] x) {
        float m = Float.NEGATIVE_INFINITY;
        for (float v : x) {
            m = Math.max(m, v);
        }
        return m;
    }

    /** Per output: Σ_k |x|·s_w/2 + |w|·s_x/2 + s_x·s_w/4 (each factor off by at most half a step). */
    private static float[] errorBound(float[] x, int m, int k, float[] w, int n, int qmax) {
        float sx = activationScale(x);
        float[] sw = SymmetricWeightQuantizer.perChannel(w, new long[] {k, n}, 1, qmax).scales();
        float[] bound = new float[m * n];
        for (int row = 0; row < m; row++) {
            for (int col = 0; col < n; col++) {
                double b = 0;
                for (int i = 0; i < k; i++) {
                    b += Math.abs(x[row * k + i]) * sw[col] / 2 + Math.abs(w[i * n + col]) * sx / 2 + sx * sw[col] / 4;
                }
                bound[row * n + col] = (float) (b * 1.001 + 1e-6);
            }
        }
        return bound;
    }

    @ParameterizedTest
    @EnumSource(DynamicGraphForm.class)
    void matMulMatchesTheIntegerReferenceAndStaysWithinTheScaleBoundOfFp32(DynamicGraphForm form) {
        for (int[] size : new int[][] {{1, 1, 1}, {3, 13, 207}, {5, 207, 13}, {2, 384, 31}}) {
            int m = size[0];
            int k = size[1];
            int n = size[2];
            OnnxModel fp32 = matMulWithBias(11 + k, k, n, 13);
            DynamicQuantizationResult result = quantizer.quantize(fp32,
                DynamicQuantRecipe.defaults().withGraphForm(form));
            float[] x = TestModels.gaussian(new Random(k * 31L + n), m * k, 1.5f);
            x[0] = 9f; // an outlier stretches the activation range, as in transformers
            float[] w = Tensors.toFloatArray(fp32.initializers().get("W"));
            float[] bias = Tensors.toFloatArray(fp32.initializers().get("bias"));
            float[] expected = referenceDynamicMatMul(x, m, k, w, n, bias, SymmetricWeightQuantizer.REDUCED_RANGE);
            float[] bound = errorBound(x, m, k, w, n, SymmetricWeightQuantizer.REDUCED_RANGE);
            float[] actual = OrtSupport.run(result.model(), "x", x, new long[] {m, k}).get("y");
            float[] exact = OrtSupport.run(fp32, "x", x, new long[] {m, k}).get("y");
            for (int i = 0; i < actual.length; i++) {
                // Same integer math: only float rounding of the scale product and accumulation order differ.
                assertThat(actual[i]).as("%s %dx%dx%d output %d vs Java reference", form, m, k, n, i)
                    .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-5f + 1e-5f * Math.abs(expected[i])));
                assertThat(Math.abs(actual[i] - exact[i])).as("%s %dx%dx%d output %d vs fp32", form, m, k, n, i)
                    .isLessThanOrEqualTo(bound[i]);
            }
        }
    }

    @Test
    void matMulDecisionsAndGraphUseStandardIntegerOpsByDefault() {
        DynamicQuantizationResult result = quantizer.quantize(matMulWithBias(1, 13, 7, 11),
            DynamicQuantRecipe.defaults());
        assertThat(opTypes(result.model())).containsExactly("DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul",
            "Mul", "Add");
        assertThat(result.decisions()).extracting(NodeDecision::node, NodeDecision::quantized)
            .containsExactly(org.assertj.core.groups.Tuple.tuple("mm", true),
                org.assertj.core.groups.Tuple.tuple("add", true));
        assertThat(result.decisions().get(1).reason()).isEqualTo("bias folded into quantized mm");
        assertThat(result.model().proto().getOpsetImportList()).noneMatch(o -> o.getDomain().equals("com.microsoft"));
        byte[] codes = Tensors.toByteArray(result.model().initializers().get("mm_weight_quantized"));
        for (byte c : codes) {
            assertThat((int) c).isBetween(-64, 64);
        }
    }

    @Test
    void contribFormUsesOneDynamicQuantizeMatMulWithTheBiasFused() {
        DynamicQuantizationResult result = quantizer.quantize(matMulWithBias(1, 13, 7, 11),
            DynamicQuantRecipe.defaults().withGraphForm(DynamicGraphForm.ORT_CONTRIB));
        assertThat(opTypes(result.model())).containsExactly("DynamicQuantizeMatMul");
        assertThat(result.model().proto().getOpsetImportList()).anyMatch(o -> o.getDomain().equals("com.microsoft"));
    }

    @Test
    void fullRangeWeightsUseCodesUpTo127() {
        DynamicQuantizationResult result = quantizer.quantize(matMulWithBias(1, 13, 7, 11),
            DynamicQuantRecipe.defaults().withReduceRangeWeights(false));
        int max = 0;
        for (byte c : Tensors.toByteArray(result.model().initializers().get("mm_weight_quantized"))) {
            max = Math.max(max, Math.abs(c));
        }
        assertThat(max).isEqualTo(127);
    }

    /** x → q (MatMul + bias), k (MatMul, no bias), v (Gemm transB) → outputs q, k, v; plus act × act MatMuls (q·qᵀ)·k → qk. */
    private static OnnxModel siblings(long seed) {
        Random r = new Random(seed);
        int k = 19;
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("siblings");
        g.addInput(TestModels.value("x", "M", k));
        g.addOutput(TestModels.value("q", "M", 5)).addOutput(TestModels.value("k", "M", 9))
            .addOutput(TestModels.value("v", "M", 3)).addOutput(TestModels.value("qk", "M", 9));
        g.addInitializer(Tensors.floatTensor("Wq", new long[] {k, 5}, columnSpread(r, k, 5)));
        g.addInitializer(Tensors.floatTensor("bq", new long[] {5}, TestModels.gaussian(r, 5, 0.3f)));
        g.addInitializer(Tensors.floatTensor("Wk", new long[] {k, 9}, columnSpread(r, k, 9)));
        g.addInitializer(Tensors.floatTensor("Wv", new long[] {3, k}, TestModels.gaussian(r, 3 * k, 0.2f)));
        g.addInitializer(Tensors.floatTensor("bv", new long[] {3}, TestModels.gaussian(r, 3, 0.3f)));
        g.addNode(Nodes.create("MatMul", "q_proj", List.of("x", "Wq"), List.of("q_raw")));
        g.addNode(Nodes.create("Add", "q_bias", List.of("q_raw", "bq"), List.of("q")));
        g.addNode(Nodes.create("MatMul", "k_proj", List.of("x", "Wk"), List.of("k")));
        g.addNode(Nodes.create("Gemm", "v_proj", List.of("x", "Wv", "bv"), List.of("v"),
            Nodes.intAttribute("transB", 1), Nodes.floatAttribute("alpha", 0.5f), Nodes.floatAttribute("beta", 2f)));
        g.addNode(Nodes.create("Transpose", "q_t", List.of("q"), List.of("q_T")));
        g.addNode(Nodes.create("MatMul", "scores", List.of("q", "q_T"), List.of("scores_raw")));
        g.addNode(Nodes.create("MatMul", "scores_back", List.of("scores_raw", "k"), List.of("qk")));
        return TestModels.model(g, 13);
    }

    @Test
    void siblingsReadingOneActivationBecomeOneIntegerMatMulWithTheSameResults() {
        OnnxModel fp32 = siblings(3);
        DynamicQuantizationResult merged = quantizer.quantize(fp32, DynamicQuantRecipe.defaults());
        DynamicQuantizationResult separate = quantizer.quantize(fp32,
            DynamicQuantRecipe.defaults().withMergeSiblingMatMuls(false));
        assertThat(opTypes(merged.model()).stream().filter(o -> o.equals("MatMulInteger"))).hasSize(1);
        assertThat(opTypes(merged.model())).contains("Split");
        assertThat(opTypes(separate.model()).stream().filter(o -> o.equals("MatMulInteger"))).hasSize(3);
        assertThat(merged.decisions()).filteredOn(d -> d.node().equals("scores") || d.node().equals("scores_back"))
            .allSatisfy(d -> {
                assertThat(d.quantized()).isFalse();
                assertThat(d.reason()).contains("activation × activation");
            });

        float[] x = TestModels.gaussian(new Random(5), 4 * 19, 1f);
        Map<String, float[]> a = OrtSupport.run(merged.model(), "x", x, new long[] {4, 19});
        Map<String, float[]> b = OrtSupport.run(separate.model(), "x", x, new long[] {4, 19});
        Map<String, float[]> f = OrtSupport.run(fp32, "x", x, new long[] {4, 19});
        for (String out : List.of("q", "k", "v", "qk")) {
            assertThat(a.get(out)).as(out).containsExactly(b.get(out), org.assertj.core.data.Offset.offset(1e-5f));
        }
        // Gemm: alpha and beta folded; still close to fp32.
        float[] v = a.get("v");
        for (int i = 0; i < v.length; i++) {
            assertThat(v[i]).isCloseTo(f.get("v")[i], org.assertj.core.data.Offset.offset(0.05f));
        }
    }

    @Test
    void excludedNodesStayFp32AndComputeExactlyWhatTheyDid() {
        OnnxModel fp32 = siblings(3);
        DynamicQuantizationResult result = quantizer.quantize(fp32,
            DynamicQuantRecipe.defaults().withExcludedNodes(Set.of("k_proj")));
        assertThat(result.decisions()).filteredOn(d -> d.node().equals("k_proj")).singleElement()
            .satisfies(d -> {
                assertThat(d.quantized()).isFalse();
                assertThat(d.reason()).isEqualTo("excluded by recipe");
            });
        assertThat(result.model().graph().getNodeList()).anyMatch(n -> n.getName().equals("k_proj")
            && n.getOpType().equals("MatMul") && n.getInput(1).equals("Wk"));
        float[] x = TestModels.gaussian(new Random(6), 2 * 19, 1f);
        float[] k = OrtSupport.run(result.model(), "x", x, new long[] {2, 19}).get("k");
        assertThat(k).containsExactly(OrtSupport.run(fp32, "x", x, new long[] {2, 19}).get("k"));
    }

    @Test
    void sameModelAndRecipeGiveTheSameBytes() {
        for (DynamicGraphForm form : DynamicGraphForm.values()) {
            DynamicQuantRecipe recipe = DynamicQuantRecipe.defaults().withGraphForm(form);
            byte[] first = quantizer.quantize(siblings(9), recipe).model().toByteArray();
            byte[] second = quantizer.quantize(siblings(9), recipe).model().toByteArray();
            assertThat(second).as(form.name()).isEqualTo(first);
        }
    }

    @Test
    void embeddingTablesAreStoredAsInt8AndLookedUpExactly() {
        Random r = new Random(4);
        int vocab = 301;
        int dim = 17;
        float[] table = TestModels.gaussian(r, vocab * dim, 0.5f);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("embed");
        g.addInput(OnnxMl.ValueInfoProto.newBuilder().setName("ids").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE)
                .setShape(OnnxMl.TensorShapeProto.newBuilder()
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("S"))))));
        g.addOutput(TestModels.value("e", "S", dim));
        g.addInitializer(Tensors.floatTensor("table", new long[] {vocab, dim}, table));
        g.addNode(Nodes.create("Gather", "lookup", List.of("table", "ids"), List.of("e")));
        OnnxModel fp32 = TestModels.model(g, 13);
        DynamicQuantizationResult result = quantizer.quantize(fp32, DynamicQuantRecipe.defaults());
        assertThat(opTypes(result.model())).containsExactly("Gather", "DequantizeLinear");
        assertThat(result.model().initializers().get("table_quantized").getDataType())
            .isEqualTo(OnnxMl.TensorProto.DataType.INT8_VALUE);

        long[] ids = {0, 300, 17, 17, 150};
        QuantizedWeights qw = SymmetricWeightQuantizer.perTensor(table, 127);
        float[] e = runIds(result.model(), ids);
        for (int t = 0; t < ids.length; t++) {
            for (int d = 0; d < dim; d++) {
                int idx = (int) ids[t] * dim + d;
                assertThat(e[t * dim + d]).isEqualTo(qw.values()[idx] * qw.scales()[0]);
                assertThat(Math.abs(e[t * dim + d] - table[idx])).isLessThanOrEqualTo(qw.scales()[0] / 2 * 1.0001f);
            }
        }
        // A table below the threshold stays fp32, and a recipe without Gather leaves it alone.
        assertThatThrownBy(() -> quantizer.quantize(fp32, DynamicQuantRecipe.defaults().withMinGatherTableElements(
            vocab * dim + 1))).isInstanceOf(QuantizationException.class).hasMessageContaining("minGatherTableElements");
    }

    /** x [T, B, 5] → LSTM (hidden 13, bidirectional) → Y [T, 2, B, 13] → Reshape [T·B·2, 13]… → MatMul 13→4 → z. */
    static OnnxModel lstmModel(long seed) {
        Random r = new Random(seed);
        int in = 5;
        int h = 13;
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("lstm");
        OnnxMl.TensorShapeProto.Builder xs = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : new long[] {7, 2, in}) {
            xs.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        g.addInput(OnnxMl.ValueInfoProto.newBuilder().setName("x").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1).setShape(xs))));
        g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("z").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1))));
        g.addInitializer(Tensors.floatTensor("W", new long[] {2, 4 * h, in}, TestModels.gaussian(r, 2 * 4 * h * in, 0.4f)));
        g.addInitializer(Tensors.floatTensor("R", new long[] {2, 4 * h, h}, TestModels.gaussian(r, 2 * 4 * h * h, 0.3f)));
        g.addInitializer(Tensors.floatTensor("B", new long[] {2, 8 * h}, TestModels.gaussian(r, 2 * 8 * h, 0.1f)));
        g.addInitializer(Tensors.floatTensor("P", new long[] {2 * h, 4}, TestModels.gaussian(r, 2 * h * 4, 0.3f)));
        g.addInitializer(Tensors.int64Tensor("shape", new long[] {2}, new long[] {-1, 2 * h}));
        g.addNode(Nodes.create("LSTM", "lstm", List.of("x", "W", "R", "B"), List.of("Y", "Y_h"),
            Nodes.intAttribute("hidden_size", h),
            Nodes.stringAttribute("direction", "bidirectional")));
        g.addNode(Nodes.create("Transpose", "to_batch_major", List.of("Y"), List.of("Yt"),
            Nodes.intsAttribute("perm", 0, 2, 1, 3)));
        g.addNode(Nodes.create("Reshape", "flatten_dirs", List.of("Yt", "shape"), List.of("features")));
        g.addNode(Nodes.create("MatMul", "head", List.of("features", "P"), List.of("z")));
        return TestModels.model(g, 14);
    }

    @Test
    void lstmBecomesDynamicQuantizeLstmAndStaysCloseToFp32() throws OrtException {
        OnnxModel fp32 = lstmModel(8);
        DynamicQuantizationResult result = quantizer.quantize(fp32, DynamicQuantRecipe.defaults());
        assertThat(opTypes(result.model())).contains("DynamicQuantizeLSTM", "MatMulInteger").doesNotContain("LSTM");
        assertThat(result.decisions()).filteredOn(d -> d.node().equals("lstm")).singleElement()
            .satisfies(d -> assertThat(d.quantized()).isTrue());
        float[] x = TestModels.gaussian(new Random(2), 7 * 2 * 5, 1f);
        float[] expected = OrtSupport.run(fp32, "x", x, new long[] {7, 2, 5}).get("z");
        float[] actual = OrtSupport.run(result.model(), "x", x, new long[] {7, 2, 5}).get("z");
        assertThat(relativeError(actual, expected)).isLessThan(0.03);

        // Only the MatMul: the LSTM stays a plain fp32 LSTM.
        DynamicQuantizationResult matMulOnly = quantizer.quantize(fp32,
            DynamicQuantRecipe.defaults().withOpTypes(Set.of("MatMul")));
        assertThat(opTypes(matMulOnly.model())).contains("LSTM", "MatMulInteger");
        assertThat(matMulOnly.decisions()).filteredOn(d -> d.node().equals("lstm")).singleElement()
            .satisfies(d -> assertThat(d.reason()).contains("not selected"));
        float[] partly = OrtSupport.run(matMulOnly.model(), "x", x, new long[] {7, 2, 5}).get("z");
        assertThat(relativeError(partly, expected)).isLessThan(0.03);
    }

    @Test
    void unsupportedModelsFailWithAClearMessage() {
        assertThatThrownBy(() -> quantizer.quantize(matMulWithBias(1, 4, 4, 10), DynamicQuantRecipe.defaults()))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("opset 10")
            .hasMessageContaining("DynamicQuantizeLinear needs opset 11");
        OnnxModel quantized = quantizer.quantize(matMulWithBias(1, 4, 4, 13), DynamicQuantRecipe.defaults()).model();
        assertThatThrownBy(() -> quantizer.quantize(quantized, DynamicQuantRecipe.defaults()))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("already contains quantized operators");
        assertThatThrownBy(() -> quantizer.quantize(matMulWithBias(1, 4, 4, 13),
            DynamicQuantRecipe.defaults().withExcludedNodes(Set.of("mm"))))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("excluded by recipe");
        assertThatThrownBy(() -> DynamicQuantRecipe.defaults().withOpTypes(Set.of("Conv")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Conv");
    }

    private static double relativeError(float[] actual, float[] expected) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < expected.length; i++) {
            num += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            den += expected[i] * expected[i];
        }
        return Math.sqrt(num / den);
    }

    private static List<String> opTypes(OnnxModel model) {
        List<String> ops = new ArrayList<>();
        model.graph().getNodeList().forEach(n -> ops.add(n.getOpType()));
        return ops;
    }

    private static float[] runIds(OnnxModel model, long[] ids) {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            OnnxTensor t = OnnxTensor.createTensor(OrtSupport.ENV, LongBuffer.wrap(ids), new long[] {ids.length});
            return OrtSupport.run(model.toByteArray(), opts, Map.of("ids", t)).get("e");
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }
}
