package dev.quantflow.quant.dynamic;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.TestModels;
import dev.quantflow.quant.qdq.NodeDecision;

/**
 * Dynamic quantization reaches into If branches: a model with two inputs (x [M, 16] and a flag scalar) whose
 * compute sits in {@code If(flag == 1)}; the then-branch reads its weight from the main graph (outer scope, as
 * exporters keep it), the else-branch has its own, nested one level deeper in a second If.
 */
class DynamicSubgraphTest {

    private static final int K = 16;
    private static final int N = 8;

    private static OnnxModel model() {
        Random r = new Random(3);
        OnnxMl.GraphProto.Builder then = OnnxMl.GraphProto.newBuilder().setName("then")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y_then"));
        then.addNode(Nodes.create("MatMul", "mm_then", List.of("x", "W_outer"), List.of("y_then")));

        OnnxMl.GraphProto.Builder innerThen = OnnxMl.GraphProto.newBuilder().setName("inner_then")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y_inner"));
        innerThen.addInitializer(Tensors.floatTensor("W_inner", new long[] {K, N}, TestModels.gaussian(r, K * N, 0.3f)));
        innerThen.addNode(Nodes.create("MatMul", "mm_inner", List.of("x", "W_inner"), List.of("y_inner")));
        OnnxMl.GraphProto.Builder innerElse = OnnxMl.GraphProto.newBuilder().setName("inner_else")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y_inner_else"));
        innerElse.addNode(Nodes.create("Relu", "relu_inner", List.of("x8"), List.of("y_inner_else")));
        OnnxMl.GraphProto.Builder els = OnnxMl.GraphProto.newBuilder().setName("else")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y_else"));
        els.addNode(Nodes.create("If", "if_inner", List.of("not_cond"), List.of("y_else")).toBuilder()
            .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("then_branch")
                .setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(innerThen))
            .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("else_branch")
                .setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(innerElse)).build());

        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("branches");
        g.addInput(TestModels.value("x", "M", K));
        g.addInput(OnnxMl.ValueInfoProto.newBuilder().setName("flag").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE)
                .setShape(OnnxMl.TensorShapeProto.newBuilder()))));
        g.addOutput(TestModels.value("y", "M", N));
        g.addInitializer(Tensors.floatTensor("W_outer", new long[] {K, N}, TestModels.gaussian(r, K * N, 0.3f)));
        g.addInitializer(Tensors.int64Tensor("one", new long[0], new long[] {1}));
        g.addInitializer(Tensors.int64Tensor("one1", new long[] {1}, new long[] {1}));
        g.addInitializer(Tensors.int64Tensor("eight", new long[] {1}, new long[] {8}));
        g.addInitializer(Tensors.int64Tensor("zero", new long[] {1}, new long[] {0}));
        g.addNode(Nodes.create("Equal", "is_one", List.of("flag", "one"), List.of("cond")));
        g.addNode(Nodes.create("Not", "negate", List.of("cond"), List.of("not_cond")));
        g.addNode(Nodes.create("Slice", "x8_slice", List.of("x", "zero", "eight", "one1"), List.of("x8")));
        g.addNode(Nodes.create("If", "branch", List.of("cond"), List.of("y")).toBuilder()
            .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("then_branch")
                .setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(then))
            .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("else_branch")
                .setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(els)).build());
        return TestModels.model(g, 17);
    }

    @Test
    void quantizesMatMulsInsideBranchesAndMatchesFp32() throws Exception {
        OnnxModel fp32 = model();
        DynamicQuantizationResult result = new DynamicQuantizer().quantize(fp32, DynamicQuantRecipe.defaults());

        assertThat(result.decisions()).filteredOn(NodeDecision::quantized).extracting(NodeDecision::node)
            .containsExactlyInAnyOrder("mm_then", "mm_inner");
        assertThat(result.decisions()).filteredOn(d -> d.node().equals("mm_inner")).singleElement()
            .extracting(NodeDecision::reason).asString()
            .contains("inside If 'branch' else_branch › If 'if_inner' then_branch");
        // The outer fp32 weight is read by nothing any more: the then-branch reads its int8 copy.
        assertThat(result.model().graph().getInitializerList()).extracting(OnnxMl.TensorProto::getName)
            .doesNotContain("W_outer");

        Random r = new Random(11);
        float[] x = TestModels.gaussian(r, 4 * K, 1f);
        for (long flag : new long[] {1, 0}) {
            float[] ref = run(fp32, x, flag);
            float[] got = run(result.model(), x, flag);
            assertThat(ref).as("fp32, flag %d", flag).hasSize(4 * N);
            assertThat(got).as("int8, flag %d", flag).hasSize(4 * N);
            double maxAbs = 0;
            double maxRef = 0;
            for (int i = 0; i < ref.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(ref[i] - got[i]));
                maxRef = Math.max(maxRef, Math.abs(ref[i]));
            }
            // flag 1: the then-branch MatMul (outer weight); flag 0: the nested one (its own weight). Both int8.
            assertThat(maxAbs).as("flag %d", flag).isGreaterThan(0).isLessThan(0.05 * maxRef);
        }
    }

    @Test
    void staticQuantizationKeepsTheIfFp32AndSaysWhy() {
        // Nothing in the main graph is a static candidate; the refusal names the construct and the way out.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new dev.quantflow.quant.qdq.StaticQdqQuantizer()
                .quantize(model(), new dev.quantflow.quant.calib.ActivationStatistics("minmax", 1, Map.of()),
                    dev.quantflow.quant.qdq.StaticQuantRecipe.defaults()))
            .isInstanceOf(dev.quantflow.quant.QuantizationException.class)
            .hasMessageContaining("control flow (If): its subgraphs stay fp32")
            .hasMessageContaining("method dynamic");
    }

    /** y = Loop(3 times) x ← tanh(x · W), W [16, 16] an initializer of the main graph read from the body. */
    private static OnnxModel loop() {
        Random r = new Random(5);
        OnnxMl.GraphProto.Builder body = OnnxMl.GraphProto.newBuilder().setName("body")
            .addInput(OnnxMl.ValueInfoProto.newBuilder().setName("i").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE)
                    .setShape(OnnxMl.TensorShapeProto.newBuilder()))))
            .addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond_in").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.BOOL_VALUE)
                    .setShape(OnnxMl.TensorShapeProto.newBuilder()))))
            .addInput(TestModels.value("x_in", "M", K))
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("cond_out"))
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("x_out"))
            .addNode(Nodes.create("Identity", "keep_going", List.of("cond_in"), List.of("cond_out")))
            .addNode(Nodes.create("MatMul", "mm_body", List.of("x_in", "W"), List.of("xw")))
            .addNode(Nodes.create("Tanh", "tanh", List.of("xw"), List.of("x_out")));
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("loop");
        g.addInput(TestModels.value("x", "M", K)).addOutput(TestModels.value("y", "M", K));
        g.addInitializer(Tensors.floatTensor("W", new long[] {K, K}, TestModels.gaussian(r, K * K, 0.3f)));
        g.addInitializer(Tensors.int64Tensor("trips", new long[0], new long[] {3}));
        g.addInitializer(OnnxMl.TensorProto.newBuilder().setName("yes")
            .setDataType(OnnxMl.TensorProto.DataType.BOOL_VALUE).addInt32Data(1).build());
        g.addNode(Nodes.create("Loop", "repeat", List.of("trips", "yes", "x"), List.of("y")).toBuilder()
            .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("body")
                .setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(body)).build());
        return TestModels.model(g, 17);
    }

    @Test
    void quantizesTheMatMulOfALoopBody() throws Exception {
        OnnxModel fp32 = loop();
        DynamicQuantizationResult result = new DynamicQuantizer().quantize(fp32, DynamicQuantRecipe.defaults());
        assertThat(result.decisions()).filteredOn(NodeDecision::quantized).extracting(NodeDecision::node)
            .containsExactly("mm_body");
        float[] x = TestModels.gaussian(new Random(2), 4 * K, 1f);
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
             OnnxTensor a = OrtSupport.tensor(x, new long[] {4, K});
             OnnxTensor b = OrtSupport.tensor(x, new long[] {4, K})) {
            float[] ref = OrtSupport.run(fp32.toByteArray(), opts, Map.of("x", a)).get("y");
            float[] got = OrtSupport.run(result.model().toByteArray(), opts, Map.of("x", b)).get("y");
            assertThat(got).hasSize(4 * K);
            double maxAbs = 0;
            for (int i = 0; i < ref.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(ref[i] - got[i]));
            }
            assertThat(maxAbs).as("three int8 MatMuls through tanh").isGreaterThan(0).isLessThan(0.05);
        }
    }

    private static float[] run(OnnxModel model, float[] x, long flag) throws Exception {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
             OnnxTensor xt = OrtSupport.tensor(x, new long[] {4, K});
             OnnxTensor ft = OnnxTensor.createTensor(OrtSupport.ENV, LongBuffer.wrap(new long[] {flag}), new long[0])) {
            return OrtSupport.run(model.toByteArray(), opts, Map.of("x", xt, "flag", ft)).get("y");
        }
    }
}
