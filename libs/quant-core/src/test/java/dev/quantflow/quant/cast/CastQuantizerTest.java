package dev.quantflow.quant.cast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.TestModels;

class CastQuantizerTest {

    private final CastQuantizer quantizer = new CastQuantizer();

    /**
     * x [N,16] → MatMul W1 (16→64) → Add b1 → decomposed LayerNorm (ReduceMean, Sub, Pow, ReduceMean, Add 1e-12,
     * Sqrt, Div, Mul γ, Add β) → Erf-GELU → MatMul W2 (64→10) → Reshape [N,2,5] → Transpose → Softmax → y.
     * W1 has 1024 elements (stored in 16 bits even where only fp32 nodes read it), W2 640 (kept fp32 then).
     */
    static OnnxModel encoderBlock(int opset) {
        Random r = new Random(11);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("encoder");
        g.addInput(value("x", DataType.FLOAT_VALUE, "N", 16)).addOutput(value("y", DataType.FLOAT_VALUE, "N", 5, 2));
        g.addInitializer(Tensors.floatTensor("W1", new long[] {16, 64}, gaussian(r, 16 * 64, 0.3f)));
        g.addInitializer(Tensors.floatTensor("b1", new long[] {64}, gaussian(r, 64, 0.1f)));
        g.addInitializer(Tensors.floatTensor("gamma", new long[] {64}, gaussian(r, 64, 1f)));
        g.addInitializer(Tensors.floatTensor("beta", new long[] {64}, gaussian(r, 64, 0.1f)));
        g.addInitializer(Tensors.floatTensor("W2", new long[] {64, 10}, gaussian(r, 640, 0.3f)));
        g.addInitializer(Tensors.int64Tensor("shape", new long[] {3}, new long[] {-1, 2, 5}));
        g.addNode(Nodes.create("MatMul", "mm1", List.of("x", "W1"), List.of("h1")));
        g.addNode(Nodes.create("Add", "bias1", List.of("h1", "b1"), List.of("h2")));
        g.addNode(Nodes.create("ReduceMean", "ln_mean", List.of("h2"), List.of("mu"), Nodes.intsAttribute("axes", -1)));
        g.addNode(Nodes.create("Sub", "ln_sub", List.of("h2", "mu"), List.of("d")));
        g.addNode(constant("two", 2f));
        g.addNode(Nodes.create("Pow", "ln_pow", List.of("d", "two"), List.of("d2")));
        g.addNode(Nodes.create("ReduceMean", "ln_var", List.of("d2"), List.of("var"), Nodes.intsAttribute("axes", -1)));
        g.addNode(constant("eps", 1e-12f));
        g.addNode(Nodes.create("Add", "ln_eps", List.of("var", "eps"), List.of("ve")));
        g.addNode(Nodes.create("Sqrt", "ln_sqrt", List.of("ve"), List.of("sd")));
        g.addNode(Nodes.create("Div", "ln_div", List.of("d", "sd"), List.of("n")));
        g.addNode(Nodes.create("Mul", "ln_scale", List.of("n", "gamma"), List.of("ns")));
        g.addNode(Nodes.create("Add", "ln_shift", List.of("ns", "beta"), List.of("ln")));
        g.addNode(constant("sqrt2", 1.4142135f));
        g.addNode(Nodes.create("Div", "gelu_div", List.of("ln", "sqrt2"), List.of("g1")));
        g.addNode(Nodes.create("Erf", "gelu_erf", List.of("g1"), List.of("g2")));
        g.addNode(constant("one", 1f));
        g.addNode(Nodes.create("Add", "gelu_add", List.of("g2", "one"), List.of("g3")));
        g.addNode(Nodes.create("Mul", "gelu_mul", List.of("ln", "g3"), List.of("g4")));
        g.addNode(constant("half", 0.5f));
        g.addNode(Nodes.create("Mul", "gelu_half", List.of("g4", "half"), List.of("g5")));
        g.addNode(Nodes.create("MatMul", "mm2", List.of("g5", "W2"), List.of("logits")));
        g.addNode(Nodes.create("Reshape", "reshape", List.of("logits", "shape"), List.of("r")));
        g.addNode(Nodes.create("Transpose", "transpose", List.of("r"), List.of("t"), Nodes.intsAttribute("perm", 0, 2, 1)));
        g.addNode(Nodes.create("Softmax", "softmax", List.of("t"), List.of("y"), Nodes.intAttribute("axis", -1)));
        g.addValueInfo(value("h2", DataType.FLOAT_VALUE, "N", 64));
        g.addValueInfo(value("logits", DataType.FLOAT_VALUE, "N", 10));
        g.addValueInfo(value("r", DataType.FLOAT_VALUE, "N", 2, 5));
        return TestModels.model(g, opset);
    }

    /** x [N,12] → Gemm(transB) 12→40 → Relu → Gemm 40→7 → y. */
    static OnnxModel gemmModel() {
        Random r = new Random(5);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("gemm");
        g.addInput(value("x", DataType.FLOAT_VALUE, "N", 12)).addOutput(value("y", DataType.FLOAT_VALUE, "N", 7));
        g.addInitializer(Tensors.floatTensor("A", new long[] {40, 12}, gaussian(r, 480, 0.3f)));
        g.addInitializer(Tensors.floatTensor("a", new long[] {40}, gaussian(r, 40, 0.1f)));
        g.addInitializer(Tensors.floatTensor("B", new long[] {40, 7}, gaussian(r, 280, 0.3f)));
        g.addInitializer(Tensors.floatTensor("b", new long[] {7}, gaussian(r, 7, 0.1f)));
        g.addNode(Nodes.create("Gemm", "fc1", List.of("x", "A", "a"), List.of("h"), Nodes.intAttribute("transB", 1)));
        g.addNode(Nodes.create("Relu", "relu", List.of("h"), List.of("hr")));
        g.addNode(Nodes.create("Gemm", "fc2", List.of("hr", "B", "b"), List.of("y")));
        return TestModels.model(g, 13);
    }

    @Test
    void encoderBlockMatchesFp32InOrtWithinTheFormatsPrecision() {
        for (int opset : new int[] {11, 13}) {
            OnnxModel fp32 = encoderBlock(opset);
            for (CastRecipe recipe : List.of(CastRecipe.fp16(), CastRecipe.bf16(),
                CastRecipe.fp16().withRequireNativeKernels(false))) {
                CastResult result = quantizer.convert(fp32, recipe);
                assertMatchesFp32(fp32, result, "x", 16, 8, recipe.target());
                assertNoBackToBackCasts(result.model());
            }
        }
    }

    @Test
    void gemmAndConvModelsMatchFp32() {
        for (CastRecipe recipe : List.of(CastRecipe.fp16(), CastRecipe.bf16())) {
            CastResult gemm = quantizer.convert(gemmModel(), recipe);
            assertMatchesFp32(gemmModel(), gemm, "x", 12, 6, recipe.target());
            assertNoBackToBackCasts(gemm.model());
            OnnxModel cnn = TestModels.cnn(3, 13);
            CastResult conv = quantizer.convert(cnn, recipe);
            assertMatchesFp32(cnn, conv, "input", 3 * 13 * 13, 2, recipe.target());
            assertNoBackToBackCasts(conv.model());
            assertThat(decision(conv, "conv1").lowPrecision()).isFalse();
            assertThat(decision(conv, "conv1").reason()).contains("ONNX Runtime CPU has no " + recipe.target()
                + " kernel for Conv");
        }
        CastResult gemm16 = quantizer.convert(gemmModel(), CastRecipe.fp16());
        assertThat(decision(gemm16, "fc1").lowPrecision()).isTrue();
        assertThat(decision(gemm16, "relu").lowPrecision()).isFalse();
        assertThat(initializerType(gemm16.model(), "A")).isEqualTo(DataType.FLOAT16_VALUE);
    }

    @Test
    void blockedOpsAndExcludedNodesStayFp32() {
        CastResult result = quantizer.convert(encoderBlock(13), CastRecipe.fp16().withRequireNativeKernels(false)
            .withExcludedNodes(Set.of("gelu_erf")));
        for (String node : List.of("ln_mean", "ln_pow", "ln_var", "ln_sqrt", "softmax")) {
            assertThat(decision(result, node).lowPrecision()).as(node).isFalse();
            assertThat(decision(result, node).reason()).contains("blocked");
        }
        assertThat(decision(result, "gelu_erf").reason()).isEqualTo("excluded by recipe");
        assertThat(decision(result, "mm1").lowPrecision()).isTrue();
        assertThat(decision(result, "bias1").lowPrecision()).isTrue();
        // every float input of a blocked node is fp32 in the converted graph
        Map<String, Integer> types = tensorTypes(result.model());
        for (OnnxMl.NodeProto n : result.model().graph().getNodeList()) {
            if (Set.of("ReduceMean", "Pow", "Sqrt", "Softmax", "Erf").contains(n.getOpType())) {
                for (String in : n.getInputList()) {
                    assertThat(types.get(in)).as(n.getName() + " input " + in).isEqualTo(DataType.FLOAT_VALUE);
                }
            }
        }
        // the epsilon read only by fp32 nodes is kept exactly
        assertThat(initializerType(result.model(), "eps")).isEqualTo(DataType.FLOAT_VALUE);
    }

    @Test
    void withoutNativeKernelRequirementEveryUnblockedOpComputesInFp16() {
        CastResult result = quantizer.convert(encoderBlock(13), CastRecipe.fp16().withRequireNativeKernels(false)
            .withBlockedOps(Set.of()));
        assertThat(result.keptFp32Nodes()).extracting(CastNodeDecision::reason)
            .allMatch(r -> r.startsWith("float constant") || r.startsWith("no float") || r.startsWith("reads only")
                || r.startsWith("constant input 'eps'"));
        assertThat(decision(result, "ln_eps").lowPrecision()).isFalse();
        assertThat(initializerType(result.model(), "eps")).as("kept exact for its fp32 reader")
            .isEqualTo(DataType.FLOAT_VALUE);
    }

    @Test
    void defaultRecipeKeepsOpsWithoutOrtKernelsFp32AndSaysSo() {
        CastResult fp16 = quantizer.convert(encoderBlock(13), CastRecipe.fp16());
        assertThat(decision(fp16, "mm1").lowPrecision()).isTrue();
        assertThat(decision(fp16, "reshape").lowPrecision()).isTrue();
        assertThat(decision(fp16, "bias1").reason()).isEqualTo("ONNX Runtime CPU has no FP16 kernel for Add at opset 13");
        CastResult bf16 = quantizer.convert(encoderBlock(13), CastRecipe.bf16());
        assertThat(decision(bf16, "mm1").lowPrecision()).isFalse();
        assertThat(decision(bf16, "transpose").lowPrecision()).isTrue();
        // fp32-only weights are still stored in 16 bits when large (W1: 1024 elements), behind a Cast
        assertThat(initializerType(bf16.model(), "W1")).isEqualTo(DataType.BFLOAT16_VALUE);
        assertThat(initializerType(bf16.model(), "W2")).isEqualTo(DataType.FLOAT_VALUE);
    }

    @Test
    void noCastPairsSurviveIncludingOnesInTheSourceModel() {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("pairs");
        g.addInput(value("x", DataType.FLOAT_VALUE, 4)).addInput(value("m", DataType.INT64_VALUE, 4))
            .addOutput(value("y", DataType.FLOAT_VALUE, 4));
        g.addNode(Nodes.create("Cast", "to16", List.of("x"), List.of("x16"), Nodes.intAttribute("to", DataType.FLOAT16_VALUE)));
        g.addNode(Nodes.create("Cast", "to32", List.of("x16"), List.of("x32"), Nodes.intAttribute("to", DataType.FLOAT_VALUE)));
        g.addNode(Nodes.create("Cast", "maskf", List.of("m"), List.of("mf"), Nodes.intAttribute("to", DataType.FLOAT_VALUE)));
        g.addNode(Nodes.create("Sub", "sub", List.of("x32", "mf"), List.of("y")));
        OnnxModel fp32 = TestModels.model(g, 13);
        CastResult result = quantizer.convert(fp32, CastRecipe.fp16());
        assertNoBackToBackCasts(result.model());
        assertThat(result.model().graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .containsExactly("Cast", "Sub");
        assertThat(decision(result, "to16").reason()).startsWith("removed");
    }

    @Test
    void inputsAndOutputsTakeTheTargetTypeWhenAsked() throws Exception {
        CastResult result = quantizer.convert(gemmModel(), CastRecipe.fp16().withKeepIoFp32(false));
        assertThat(result.model().graph().getInput(0).getType().getTensorType().getElemType())
            .isEqualTo(DataType.FLOAT16_VALUE);
        assertThat(result.model().graph().getOutput(0).getType().getTensorType().getElemType())
            .isEqualTo(DataType.FLOAT16_VALUE);
        float[] x = gaussian(new Random(1), 12 * 3, 1f);
        ByteBuffer half = ByteBuffer.allocateDirect(x.length * 2).order(ByteOrder.nativeOrder());
        for (float v : x) {
            half.putShort(CastTarget.FP16.encode(v));
        }
        half.rewind();
        float[] ref = OrtSupport.run(gemmModel(), "x", x, new long[] {3, 12}).get("y");
        try (OrtSession s = OrtSupport.ENV.createSession(result.model().toByteArray(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(OrtSupport.ENV, half, new long[] {3, 12}, OnnxJavaType.FLOAT16);
             OrtSession.Result r = s.run(Map.of("x", in))) {
            OnnxTensor y = (OnnxTensor) r.get(0);
            assertThat(y.getInfo().type).isEqualTo(OnnxJavaType.FLOAT16);
            ByteBuffer out = y.getByteBuffer().order(ByteOrder.nativeOrder());
            for (int i = 0; i < ref.length; i++) {
                float v = CastTarget.FP16.decode(out.getShort());
                assertThat((double) Math.abs(v - ref[i])).isLessThanOrEqualTo(tolerance(CastTarget.FP16, ref));
            }
        }
    }

    @Test
    void valueInfoAndOutputTypesFollowTheConversion() {
        CastResult result = quantizer.convert(encoderBlock(13), CastRecipe.fp16());
        Map<String, Integer> declared = new HashMap<>();
        result.model().graph().getValueInfoList()
            .forEach(v -> declared.put(v.getName(), v.getType().getTensorType().getElemType()));
        assertThat(declared).containsEntry("h2", DataType.FLOAT_VALUE)      // written by the fp32 Add
            .containsEntry("logits", DataType.FLOAT16_VALUE)                 // written by the fp16 MatMul
            .containsEntry("r", DataType.FLOAT16_VALUE);
        assertThat(result.model().graph().getOutput(0).getType().getTensorType().getElemType())
            .isEqualTo(DataType.FLOAT_VALUE);
    }

    @Test
    void maskConstantBeyondTheRangeIsClampedNotInfinite() {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("mask");
        g.addInput(value("x", DataType.FLOAT_VALUE, 4)).addOutput(value("y", DataType.FLOAT_VALUE, 4));
        g.addNode(constant("neg_max", -Float.MAX_VALUE));
        g.addNode(Nodes.create("MatMul", "scale", List.of("x", "neg_max_row"), List.of("y")));
        g.addInitializer(Tensors.floatTensor("neg_max_row", new long[] {4, 4}, new float[] {
            -Float.MAX_VALUE, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
        g.removeNode(0);
        CastResult result = quantizer.convert(TestModels.model(g, 13), CastRecipe.fp16());
        assertThat(result.warnings()).anyMatch(w -> w.contains("neg_max_row") && w.contains("clamped"));
        float[] y = OrtSupport.run(result.model(), "x", new float[] {0, 1, 2, 3}, new long[] {4}).get("y");
        assertThat(y[0]).as("0 · clamped constant is 0, not NaN").isEqualTo(0f);
    }

    @Test
    void deterministic() {
        for (CastRecipe recipe : List.of(CastRecipe.fp16(), CastRecipe.bf16())) {
            byte[] a = quantizer.convert(encoderBlock(11), recipe).model().toByteArray();
            byte[] b = quantizer.convert(encoderBlock(11), recipe).model().toByteArray();
            assertThat(a).isEqualTo(b);
        }
    }

    @Test
    void refusesModelsThatAreNotFp32() {
        CastResult once = quantizer.convert(gemmModel(), CastRecipe.fp16());
        assertThatThrownBy(() -> quantizer.convert(once.model(), CastRecipe.fp16()))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("already holds float16");
    }

    // ---- helpers ----

    /** Max |converted − fp32| allowed: 32 units of the format's epsilon, relative to the output's magnitude. */
    private static double tolerance(CastTarget target, float[] ref) {
        double scale = 1;
        for (float v : ref) {
            scale = Math.max(scale, Math.abs(v));
        }
        return 32 * target.epsilon() * scale;
    }

    private static void assertMatchesFp32(OnnxModel fp32, CastResult result, String input, int features, int batch,
                                          CastTarget target) {
        float[] x = gaussian(new Random(99), features * batch, 1f);
        long[] shape = features == 3 * 13 * 13 ? new long[] {batch, 3, 13, 13} : new long[] {batch, features};
        Map<String, float[]> ref = OrtSupport.run(fp32, input, x, shape);
        Map<String, float[]> got = OrtSupport.run(result.model(), input, x, shape);
        for (Map.Entry<String, float[]> e : ref.entrySet()) {
            float[] y = got.get(e.getKey());
            double tol = tolerance(target, e.getValue());
            double max = 0;
            for (int i = 0; i < y.length; i++) {
                max = Math.max(max, Math.abs(y[i] - e.getValue()[i]));
            }
            assertThat(max).as("%s %s max abs error", target, e.getKey()).isLessThanOrEqualTo(tol);
            boolean anyHalf = result.model().graph().getInitializerList().stream()
                .anyMatch(t -> t.getDataType() == target.onnxType());
            if (anyHalf) {
                assertThat(max).as("%s %s: 16-bit weights change the output", target, e.getKey()).isGreaterThan(0);
            }
        }
    }

    static void assertNoBackToBackCasts(OnnxModel model) {
        Map<String, OnnxMl.NodeProto> producers = new HashMap<>();
        model.graph().getNodeList().forEach(n -> n.getOutputList().forEach(o -> producers.put(o, n)));
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Cast")) {
                OnnxMl.NodeProto p = producers.get(n.getInput(0));
                assertThat(p == null || !p.getOpType().equals("Cast")).as("Cast %s reads Cast %s", n.getName(),
                    p == null ? "" : p.getName()).isTrue();
            }
        }
    }

    private static CastNodeDecision decision(CastResult r, String node) {
        return r.decisions().stream().filter(d -> d.node().equals(node)).findFirst().orElseThrow();
    }

    private static int initializerType(OnnxModel m, String name) {
        return m.graph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
            .map(OnnxMl.TensorProto::getDataType).orElse(-1);
    }

    /** Types of the converted graph's tensors: initializers, inputs, and each node's output by its op. */
    private static Map<String, Integer> tensorTypes(OnnxModel m) {
        Map<String, Integer> t = new HashMap<>();
        m.graph().getInitializerList().forEach(i -> t.put(i.getName(), i.getDataType()));
        m.graph().getInputList().forEach(v -> t.putIfAbsent(v.getName(), v.getType().getTensorType().getElemType()));
        for (OnnxMl.NodeProto n : m.graph().getNodeList()) {
            int type = n.getOpType().equals("Cast") ? (int) Nodes.intAttribute(n, "to", 0)
                : Optional.ofNullable(t.get(n.getInput(0))).orElse(0);
            n.getOutputList().forEach(o -> t.put(o, type));
        }
        return t;
    }

    static OnnxMl.NodeProto constant(String name, float v) {
        return OnnxMl.NodeProto.newBuilder().setOpType("Constant").setName(name + "_const").addOutput(name)
            .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                .setT(Tensors.floatTensor("", new long[0], new float[] {v}))).build();
    }

    static OnnxMl.ValueInfoProto value(String name, int type, Object... dims) {
        OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            s.addDim(d instanceof String p ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(p)
                : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
    }

    static float[] gaussian(Random r, int n, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian() * std;
        }
        return v;
    }
}
