package dev.quantflow.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;

class ModelInspectorTest {

    static final Path FIXTURES = Path.of("../../fixtures");

    @Test
    void theBundledCnnIsAVisionModel() throws Exception {
        var kind = ModelInspector.inspect(OnnxModel.parse(Files.readAllBytes(FIXTURES.resolve("fashion-cnn/model.onnx"))));
        assertThat(kind.family()).isEqualTo(ModelInspector.Family.VISION);
        assertThat(kind.reason()).contains("Conv");
    }

    @Test
    void miniLmIsAnNlpEncoder() throws Exception {
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            assumeTrue(in != null, "MiniLM jar not on the test classpath");
            var kind = ModelInspector.inspect(OnnxModel.parse(in.readAllBytes()));
            assertThat(kind.family()).isEqualTo(ModelInspector.Family.NLP_ENCODER);
            assertThat(kind.reason()).contains("attention");
        }
    }

    @Test
    void theBundledCnnIsDecidedByItsConvolutionShare() throws Exception {
        var kind = ModelInspector.inspect(OnnxModel.parse(Files.readAllBytes(FIXTURES.resolve("fashion-cnn/model.onnx"))));
        assertThat(kind.byCompute()).isTrue();
        assertThat(kind.macs().dominant()).contains(MacEstimator.OpFamily.CONVOLUTION);
        assertThat(kind.reason()).containsPattern("^Conv \\d+\\.\\d% of \\d+\\.\\d M MACs per sample");
    }

    @Test
    void miniLmWithShapesIsAnEncoderByItsWeightMatMulsAndSequenceSigns() throws Exception {
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            assumeTrue(in != null, "MiniLM jar not on the test classpath");
            OnnxModel minilm = OnnxModel.parse(in.readAllBytes());
            long[] tokens = {1, 128};
            var kind = ModelInspector.inspect(minilm, Map.of("input_ids", tokens, "attention_mask", tokens,
                "token_type_ids", tokens));
            assertThat(kind.family()).isEqualTo(ModelInspector.Family.NLP_ENCODER);
            assertThat(kind.byCompute()).isTrue();
            assertThat(kind.macs().dominant()).contains(MacEstimator.OpFamily.MATMUL);
            assertThat(kind.macs().share(MacEstimator.OpFamily.ATTENTION)).isBetween(0.01, 0.2);
            assertThat(kind.reason()).startsWith("MatMul/Gemm ").contains("G MACs")
                .contains("integer token input").contains("embedding Gather").contains("LayerNormalization");
        }
    }

    @Test
    void aCnnWithASmallMatMulSoftmaxHeadIsVisionByComputeAndByStructureWithoutShapes() {
        // paddle2onnx style: Constant weights, dynamic H and W, a MatMul + Softmax classifier head
        OnnxModel cls = smallHeadCnn();
        var withoutShapes = ModelInspector.inspect(cls);
        assertThat(withoutShapes.family()).isEqualTo(ModelInspector.Family.VISION);
        assertThat(withoutShapes.byCompute()).isFalse();
        assertThat(withoutShapes.reason()).contains("MAC estimate not available").contains("Conv 'conv_");
        var withShapes = ModelInspector.inspect(cls, Map.of("x", new long[] {1, 3, 48, 192}));
        assertThat(withShapes.family()).isEqualTo(ModelInspector.Family.VISION);
        assertThat(withShapes.byCompute()).isTrue();
        assertThat(withShapes.macs().share(MacEstimator.OpFamily.CONVOLUTION)).isGreaterThan(0.9);
        assertThat(withShapes.reason()).startsWith("Conv ").contains("% of").doesNotContain("transformer");
    }

    /** Conv 3→16 3×3 stride 2, Conv 16→32 3×3, global pool, Flatten, MatMul [32, 2], Softmax; weights as Constants. */
    static OnnxModel smallHeadCnn() {
        return MacEstimatorTest.Graph.of().input("x", 1, 3, -1, -1)
            .constant("w1", Tensors.floatTensor("w1", new long[] {16, 3, 3, 3}, new float[16 * 27]))
            .constant("w2", Tensors.floatTensor("w2", new long[] {32, 16, 3, 3}, new float[32 * 16 * 9]))
            .constant("fc", Tensors.floatTensor("fc", new long[] {32, 2}, new float[64]))
            .node("Conv", java.util.List.of("x", "w1"), "c1", Nodes.intsAttribute("strides", 2, 2),
                Nodes.intsAttribute("pads", 1, 1, 1, 1))
            .node("Relu", java.util.List.of("c1"), "r1")
            .node("Conv", java.util.List.of("r1", "w2"), "c2", Nodes.intsAttribute("pads", 1, 1, 1, 1))
            .node("GlobalAveragePool", java.util.List.of("c2"), "g")
            .node("Flatten", java.util.List.of("g"), "f")
            .node("MatMul", java.util.List.of("f", "fc"), "logits")
            .node("Softmax", java.util.List.of("logits"), "p").output("p").model();
    }

    @Test
    void aMatMulNetworkIsDenseWithoutSequenceSignsAndAnEncoderWithThem() {
        OnnxModel mlp = MacEstimatorTest.Graph.of().input("x", -1, 64).weight("w1", 64, 128).weight("w2", 128, 10)
            .node("MatMul", java.util.List.of("x", "w1"), "h").node("Relu", java.util.List.of("h"), "r")
            .node("MatMul", java.util.List.of("r", "w2"), "y").output("y").model();
        var dense = ModelInspector.inspect(mlp);
        assertThat(dense.family()).isEqualTo(ModelInspector.Family.DENSE);
        // 64·128 + 128·10 = 9,472 MatMul MACs, 128 Relu outputs: 9,472 / 9,600 = 98.7%
        assertThat(dense.reason()).startsWith("MatMul/Gemm 98.7% of 9.6 k MACs per sample (other 1.3%)")
            .contains("no sequence signs");
        OnnxModel tokens = MacEstimatorTest.Graph.of().intInput("ids", 1, 16).weight("emb", 1000, 64)
            .weight("w1", 64, 128)
            .node("Gather", java.util.List.of("emb", "ids"), "e")
            .node("MatMul", java.util.List.of("e", "w1"), "h").output("h").model();
        var encoder = ModelInspector.inspect(tokens);
        assertThat(encoder.family()).isEqualTo(ModelInspector.Family.NLP_ENCODER);
        assertThat(encoder.reason()).contains("integer token input, embedding Gather");
    }

    @Test
    void theLstmFixtureIsRecurrentByCompute() throws Exception {
        Path lstm = FIXTURES.resolve("lstm/model.onnx");
        assumeTrue(Files.exists(lstm), "LSTM fixture not built yet");
        var kind = ModelInspector.inspect(OnnxModel.parse(Files.readAllBytes(lstm)));
        assertThat(kind.family()).isEqualTo(ModelInspector.Family.RECURRENT);
        assertThat(kind.byCompute()).isTrue();
        assertThat(kind.reason()).startsWith("recurrent 100.0% of ").endsWith("1 LSTM node(s): recurrent network");
    }

    @Test
    void aTokenModelWithAHeadOverTheVocabularyIsADecoderLm() {
        int vocab = 50;
        int d = 8;
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder()
            .setName("tiny-lm")
            .addInitializer(OnnxMl.TensorProto.newBuilder().setName("emb").addDims(vocab).addDims(d)
                .setDataType(DataType.FLOAT.getNumber()).setRawData(com.google.protobuf.ByteString.copyFrom(new byte[vocab * d * 4])))
            .addInitializer(OnnxMl.TensorProto.newBuilder().setName("head").addDims(d).addDims(vocab)
                .setDataType(DataType.FLOAT.getNumber()).setRawData(com.google.protobuf.ByteString.copyFrom(new byte[vocab * d * 4])))
            .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Gather").addInput("emb").addInput("ids").addOutput("h"))
            .addNode(OnnxMl.NodeProto.newBuilder().setOpType("MatMul").addInput("h").addInput("head").addOutput("logits"))
            .addInput(valueInfo("ids", DataType.INT64, -1, -1))
            .addOutput(valueInfo("logits", DataType.FLOAT, -1, -1, vocab))
            .build();
        OnnxModel lm = OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
        var kind = ModelInspector.inspect(lm);
        assertThat(kind.family()).isEqualTo(ModelInspector.Family.DECODER_LLM);
        assertThat(kind.reason()).contains("50-entry vocabulary");
    }

    @Test
    void theGptFixtureIsADecoderLmWithItsVocabularyAndContext() throws Exception {
        OnnxModel gpt = OnnxModel.parse(Files.readAllBytes(FIXTURES.resolve("gpt/model.onnx")));
        assertThat(ModelInspector.inspect(gpt).family()).isEqualTo(ModelInspector.Family.DECODER_LLM);
        // 1025 token ids; the learned position table pos[128, 256] is sliced to the sequence length
        assertThat(ModelInspector.languageModelShape(gpt)).isEqualTo(new ModelInspector.LmShape(1025, 128));
    }

    @Test
    void aGatheredPositionTableOrAFixedSequenceLengthGivesTheContext() {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("lm")
            .addInitializer(table("emb", 50, 8)).addInitializer(table("pos", 16, 8))
            .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Gather").addInput("emb").addInput("ids").addOutput("h"))
            .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Gather").addInput("pos").addInput("positions").addOutput("p"))
            .addOutput(valueInfo("h", DataType.FLOAT, -1, -1, 8));
        OnnxModel dynamic = model(g.clone().addInput(valueInfo("ids", DataType.INT64, -1, -1)));
        assertThat(ModelInspector.languageModelShape(dynamic)).isEqualTo(new ModelInspector.LmShape(50, 16));
        OnnxModel fixed = model(g.clone().addInput(valueInfo("ids", DataType.INT64, 1, 12)));
        assertThat(ModelInspector.languageModelShape(fixed).contextLength()).isEqualTo(12);
    }

    private static OnnxMl.TensorProto table(String name, int rows, int cols) {
        return OnnxMl.TensorProto.newBuilder().setName(name).addDims(rows).addDims(cols).setDataType(DataType.FLOAT.getNumber())
            .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[rows * cols * 4])).build();
    }

    private static OnnxModel model(OnnxMl.GraphProto.Builder g) {
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
    }

    static OnnxMl.ValueInfoProto valueInfo(String name, DataType type, long... dims) {
        var shape = OnnxMl.TensorShapeProto.newBuilder();
        for (long dim : dims) {
            shape.addDim(dim < 0 ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("d")
                : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(dim));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape))).build();
    }
}
