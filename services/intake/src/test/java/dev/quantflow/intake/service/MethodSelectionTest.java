package dev.quantflow.intake.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.onnx.ValueInfos;
import dev.quantflow.pipeline.QuantMethod;

/** {@code auto} by compute: the op family with the largest MAC share picks the method, and the reason says it. */
class MethodSelectionTest {

    private static final MethodSelection.Inputs CALIBRATED = new MethodSelection.Inputs(true, false, false);

    @Test
    void aCnnWithASmallMatMulSoftmaxHeadIsStaticWithItsConvShare() {
        // like the PaddleOCR direction classifier: Constant weights, dynamic H and W, a MatMul + Softmax head. The
        // op-presence rule called this "MatMul with attention (Softmax): transformer → dynamic".
        OnnxModel cls = smallHeadCnn();
        var choice = MethodSelection.choose("auto", cls, CALIBRATED, Map.of("x", new long[] {1, 3, 48, 192}));
        assertThat(choice.method()).isEqualTo(QuantMethod.STATIC);
        // Conv 3→16 stride 2: 16·24·96 · 27 = 995,328; Conv 16→32: 32·24·96 · 144 = 10,616,832; head 32·2 = 64
        assertThat(choice.reason()).startsWith("auto: Conv 99.").contains("% of 11.7 M MACs").endsWith("→ static")
            .doesNotContain("transformer");
    }

    @Test
    void withoutShapesADynamicModelFallsBackToItsStructureAndSaysSo() {
        var choice = MethodSelection.choose("auto", smallHeadCnn(), CALIBRATED);
        assertThat(choice.method()).isEqualTo(QuantMethod.STATIC);
        assertThat(choice.reason()).contains("Conv node(s) carry most of the compute")
            .contains("MAC estimate not available");
    }

    @Test
    void aTransformerEncoderIsDynamicByItsWeightMatMuls() throws Exception {
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            assumeTrue(in != null, "MiniLM jar not on the test classpath");
            OnnxModel minilm = OnnxModel.parse(in.readAllBytes());
            long[] tokens = {1, 128};
            var choice = MethodSelection.choose("auto", minilm, CALIBRATED, Map.of("input_ids", tokens,
                "attention_mask", tokens, "token_type_ids", tokens));
            assertThat(choice.method()).isEqualTo(QuantMethod.DYNAMIC);
            assertThat(choice.reason()).startsWith("auto: MatMul/Gemm 9").contains("G MACs")
                .contains("transformer / NLP encoder").endsWith("→ dynamic");
            assertThat(choice.fallbacks()).containsExactly(QuantMethod.STATIC, QuantMethod.FP16);
        }
    }

    @Test
    void theLstmIsDynamicByItsRecurrentShare() throws Exception {
        Path lstm = Path.of("../../fixtures/lstm/model.onnx");
        assumeTrue(Files.exists(lstm), "LSTM fixture not built yet");
        var choice = MethodSelection.choose("auto", OnnxModel.parse(Files.readAllBytes(lstm)), CALIBRATED);
        assertThat(choice.method()).isEqualTo(QuantMethod.DYNAMIC);
        assertThat(choice.reason()).startsWith("auto: recurrent 100.0% of ").endsWith("1 LSTM node(s): recurrent network → dynamic");
    }

    @Test
    void aDenseNetworkWithoutSequenceSignsIsStaticAndMayRetrain() {
        OnnxModel mlp = model(OnnxMl.GraphProto.newBuilder().setName("mlp")
            .addInput(ValueInfos.tensor("x", OnnxMl.TensorProto.DataType.FLOAT_VALUE, "N", 64))
            .addInitializer(Tensors.floatTensor("w1", new long[] {64, 32}, new float[64 * 32]))
            .addInitializer(Tensors.floatTensor("w2", new long[] {32, 4}, new float[32 * 4]))
            .addNode(Nodes.create("MatMul", "fc1", List.of("x", "w1"), List.of("h")))
            .addNode(Nodes.create("Relu", "relu", List.of("h"), List.of("r")))
            .addNode(Nodes.create("MatMul", "fc2", List.of("r", "w2"), List.of("y")))
            .addNode(Nodes.create("Softmax", "softmax", List.of("y"), List.of("p")))
            .addOutput(untyped("p")));
        var choice = MethodSelection.choose("auto", mlp, CALIBRATED);
        assertThat(choice.method()).isEqualTo(QuantMethod.STATIC);
        assertThat(choice.reason()).contains("dense network");
        var retrain = MethodSelection.choose("auto", mlp, new MethodSelection.Inputs(true, true, true));
        assertThat(retrain.method()).isEqualTo(QuantMethod.QAT);
    }

    @Test
    void theThreeArgumentFormIsTheFourWithNoShapes() {
        OnnxModel cls = smallHeadCnn();
        assertThat(MethodSelection.choose("auto", cls, CALIBRATED))
            .isEqualTo(MethodSelection.choose("auto", cls, CALIBRATED, Map.of()));
        assertThat(MethodSelection.choose("dynamic", cls, CALIBRATED, Map.of("x", new long[] {1, 3, 48, 192})).reason())
            .isEqualTo("requested");
    }

    /** Conv 3→16 3×3 stride 2 pad 1, ReLU, Conv 16→32 3×3 pad 1, global pool, Flatten, MatMul [32, 2], Softmax. */
    static OnnxModel smallHeadCnn() {
        return model(OnnxMl.GraphProto.newBuilder().setName("cls")
            .addInput(ValueInfos.tensor("x", OnnxMl.TensorProto.DataType.FLOAT_VALUE, "N", 3, "H", "W"))
            .addNode(constant("w1", 16, 3, 3, 3))
            .addNode(constant("w2", 32, 16, 3, 3))
            .addNode(constant("fc", 32, 2))
            .addNode(Nodes.create("Conv", "conv1", List.of("x", "w1"), List.of("c1"), Nodes.intsAttribute("strides", 2, 2),
                Nodes.intsAttribute("pads", 1, 1, 1, 1)))
            .addNode(Nodes.create("Relu", "relu1", List.of("c1"), List.of("r1")))
            .addNode(Nodes.create("Conv", "conv2", List.of("r1", "w2"), List.of("c2"), Nodes.intsAttribute("pads", 1, 1, 1, 1)))
            .addNode(Nodes.create("GlobalAveragePool", "pool", List.of("c2"), List.of("g")))
            .addNode(Nodes.create("Flatten", "flatten", List.of("g"), List.of("f")))
            .addNode(Nodes.create("MatMul", "head", List.of("f", "fc"), List.of("logits")))
            .addNode(Nodes.create("Softmax", "softmax", List.of("logits"), List.of("p")))
            .addOutput(untyped("p")));
    }

    private static OnnxMl.NodeProto constant(String name, long... dims) {
        return Nodes.create("Constant", name + "_const", List.of(), List.of(name), OnnxMl.AttributeProto.newBuilder()
            .setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
            .setT(Tensors.floatTensor(name, dims, new float[(int) Tensors.elementCount(dims)])).build());
    }

    private static OnnxMl.ValueInfoProto untyped(String name) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)))
            .build();
    }

    private static OnnxModel model(OnnxMl.GraphProto.Builder g) {
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
    }
}
