package dev.quantflow.intake.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzWriter;

class InputValidatorTest {

    static final Path FIXTURE = Path.of("../../fixtures/fashion-cnn");

    static byte[] npz(NdArray... arrays) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NpzWriter.write(out, List.of(arrays), false);
        return out.toByteArray();
    }

    @Test
    void notOnnxAndTruncatedModelsAreRefused() throws Exception {
        byte[] model = Files.readAllBytes(FIXTURE.resolve("model.onnx"));
        for (byte[] bad : List.of("hello".getBytes(), Arrays.copyOf(model, model.length / 2), new byte[0])) {
            assertThatThrownBy(() -> InputValidator.checkModel(bad))
                .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                    assertThat(e.status()).isEqualTo(422);
                    assertThat(e.code()).isEqualTo("INVALID_MODEL");
                });
        }
        assertThat(InputValidator.checkModel(model).inputs()).extracting(OnnxModel.ValueInfo::name).containsExactly("input");
    }

    @Test
    void datasetsMustMatchTheModelInputs() throws Exception {
        OnnxModel model = InputValidator.checkModel(Files.readAllBytes(FIXTURE.resolve("model.onnx")));
        byte[] good = npz(NdArray.ofFloats("input", new float[2 * 784], 2, 1, 28, 28));
        assertThat(InputValidator.checkDataset(model, good, "calibration data").names()).contains("input");

        byte[] wrongName = npz(NdArray.ofFloats("image", new float[2 * 784], 2, 1, 28, 28));
        assertThatThrownBy(() -> InputValidator.checkDataset(model, wrongName, "calibration data"))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.code()).isEqualTo("DATASET_MISMATCH");
                assertThat(e.getMessage()).contains("calibration data").contains("input");
            });
        byte[] wrongShape = npz(NdArray.ofFloats("input", new float[2 * 900], 2, 1, 30, 30));
        assertThatThrownBy(() -> InputValidator.checkDataset(model, wrongShape, "validation data"))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.code()).isEqualTo("DATASET_MISMATCH"));
        assertThatThrownBy(() -> InputValidator.checkDataset(model, "not a zip".getBytes(), "validation data"))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.code()).isEqualTo("INVALID_DATASET"));
    }

    /** The fixture with its largest initializer rewritten by {@code edit}. */
    static byte[] withLargestInitializer(java.util.function.UnaryOperator<ai.onnx.proto.OnnxMl.TensorProto.Builder> edit)
            throws Exception {
        var proto = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(Files.readAllBytes(FIXTURE.resolve("model.onnx"))).toBuilder();
        var graph = proto.getGraphBuilder();
        int largest = 0;
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            if (graph.getInitializer(i).getRawData().size() > graph.getInitializer(largest).getRawData().size()) {
                largest = i;
            }
        }
        graph.setInitializer(largest, edit.apply(graph.getInitializer(largest).toBuilder()));
        return proto.build().toByteArray();
    }

    static ai.onnx.proto.OnnxMl.TensorProto.Builder external(ai.onnx.proto.OnnxMl.TensorProto.Builder t, String location) {
        return t.clearRawData().setDataLocation(ai.onnx.proto.OnnxMl.TensorProto.DataLocation.EXTERNAL)
            .addExternalData(ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue(location))
            .addExternalData(ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder().setKey("length").setValue("1024"));
    }

    @Test
    void externalDataPathsAreRefusedNamingThePathBeforeOnnxRuntimeReadsThem() throws Exception {
        for (String location : List.of("../../../../etc/passwd", "/etc/passwd", "weights.bin", "sub/../../x.bin")) {
            byte[] model = withLargestInitializer(t -> external(t, location));
            assertThatThrownBy(() -> InputValidator.checkModel(model))
                .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                    assertThat(e.status()).isEqualTo(422);
                    assertThat(e.code()).isEqualTo("INVALID_MODEL");
                    assertThat(e.getMessage()).contains("'" + location + "'").contains("initializer");
                });
        }
    }

    @Test
    void aWeightHoldingLessThanItsDimsClaimIsInvalidAndWeightsOverTheBudgetAreTooLarge() throws Exception {
        byte[] cut = withLargestInitializer(t -> t.setRawData(t.getRawData().substring(0, 16)));
        assertThatThrownBy(() -> InputValidator.checkModel(cut))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.code()).isEqualTo("INVALID_MODEL");
                assertThat(e.getMessage()).contains("declares dims").contains("holds 16 bytes");
            });
        byte[] model = Files.readAllBytes(FIXTURE.resolve("model.onnx"));
        assertThatThrownBy(() -> InputValidator.checkModel(model, 256 * 1024))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.status()).isEqualTo(422);
                assertThat(e.code()).isEqualTo("MODEL_TOO_LARGE");
                assertThat(e.getMessage()).contains("256.0 KiB").contains("worker-memory-budget");
            });
        assertThat(InputValidator.checkModel(model, 64L << 20)).isNotNull();
    }
}
