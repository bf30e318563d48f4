package dev.quantflow.runtime.prepare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.runtime.npz.NpzArchive;

/** The check's own behaviour: refusals carry the numbers, synthesized inputs need known shapes. */
class ModelPreparerTest {

    private static final Path CNN_BN = Path.of("../../fixtures/legacy/cnn_bn_opset9.onnx");

    @Test
    void aDifferenceAboveTheToleranceIsARefusalWithTheNumbers() throws Exception {
        byte[] bytes = Files.readAllBytes(CNN_BN);
        // BN folding changes float rounding (~1e-6 here): a tolerance of 1e-12 must refuse, and say by how much
        PreparationOptions strict = new PreparationOptions(4, 1, 1e-12, java.util.Map.of(), 1);
        assertThatThrownBy(() -> ModelPreparer.prepare(bytes, null, strict))
            .isInstanceOf(ModelPreparationException.class)
            .hasMessageContaining("does not compute what the original does")
            .hasMessageContaining("max |diff|").hasMessageContaining("tolerance 1e-12")
            .hasMessageContaining("BatchNormalization folded 3");
    }

    @Test
    void synthesizedInputsCountAndDataRowsComeFirst() throws Exception {
        byte[] bytes = Files.readAllBytes(CNN_BN);
        NpzArchive calib = NpzArchive.read(Path.of("../../fixtures/fashion-cnn/calib.npz"));
        NpzArchive five = calib.slice(List.of("input"), 0, 5);
        PreparedModel prepared = ModelPreparer.prepare(bytes, five, PreparationOptions.defaults().withSamples(9));
        assertThat(prepared.check().samples()).isEqualTo(9);
        assertThat(prepared.check().fromData()).isEqualTo(5);
        assertThat(prepared.check().passed()).isTrue();
    }

    @Test
    void aDynamicSpatialDimensionWithoutDataOrShapeIsRefused() {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder()
            .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
            .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(3))
            .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("W"));
        OnnxMl.ValueInfoProto x = OnnxMl.ValueInfoProto.newBuilder().setName("x").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))).build();
        OnnxMl.ValueInfoProto y = OnnxMl.ValueInfoProto.newBuilder().setName("y").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1))).build();
        byte[] model = OnnxMl.ModelProto.newBuilder().setIrVersion(7)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13))
            .setGraph(OnnxMl.GraphProto.newBuilder().setName("g").addInput(x).addOutput(y)
                .addNode(Nodes.create("Relu", "relu", List.of("x"), List.of("y")))).build().toByteArray();
        assertThatThrownBy(() -> ModelPreparer.prepare(model, null, PreparationOptions.defaults()))
            .isInstanceOf(ModelPreparationException.class).hasMessageContaining("'W'").hasMessageContaining("axis 2");
        PreparedModel ok = ModelPreparer.prepare(model, null,
            PreparationOptions.defaults().withInputShape("x", 1, 3, 7));
        assertThat(ok.check().maxAbsDiff()).isZero();
        assertThat(ok.model().opsetVersion()).isEqualTo(17);
    }
}
