package dev.quantflow.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

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
    void theLstmFixtureIsRecurrent() throws Exception {
        Path lstm = FIXTURES.resolve("lstm/model.onnx");
        assumeTrue(Files.exists(lstm), "LSTM fixture not built yet");
        assertThat(ModelInspector.inspect(OnnxModel.parse(Files.readAllBytes(lstm))).family())
            .isEqualTo(ModelInspector.Family.RECURRENT);
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
