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
}
