package dev.quantflow.runtime.dataset;

import static dev.quantflow.runtime.TestData.floats;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.TestData;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.Test;

class DatasetCheckTest {

    private static final OnnxModel CNN = OnnxModel.parse(TinyModels.convNet()); // input [N,1,4,4], logits [N,3]

    private static NdArray labels(long... values) {
        return NdArray.ofLongs("labels", values, values.length);
    }

    private static List<String> check(OnnxModel model, boolean labelsRequired, NdArray... arrays) {
        return DatasetCheck.check(model, NpzArchive.of(List.of(arrays)), labelsRequired);
    }

    @Test
    void matchingDataHasNoProblemsAndExtraArraysAreIgnored() {
        assertThat(check(CNN, true, floats("input", 3, 1, 4, 4), labels(0, 2, 1), floats("notes", 7))).isEmpty();
        assertThat(check(CNN, false, floats("input", 3, 1, 4, 4))).isEmpty();
    }

    @Test
    void missingInputNamesAvailableAndExpectedArrays() {
        List<String> p = check(CNN, true, floats("pixels", 3, 1, 4, 4), labels(0, 1, 2));
        assertThat(p).hasSize(1);
        assertThat(p.get(0)).contains("'input'").contains("[pixels, labels]").contains("expects [input]").contains("input=x");
    }

    @Test
    void dtypeMismatchSaysHowToConvert() {
        NdArray ints = NdArray.ofLongs("input", new long[48], 3, 1, 4, 4);
        assertThat(check(CNN, false, ints)).singleElement().asString()
            .contains("'input'").contains("int64").contains("float32").contains("astype(np.float32)");
    }

    @Test
    void int64ModelInputRejectsFloatData() {
        OnnxModel model = OnnxModel.parse(TinyModels.int64Input());
        assertThat(check(model, false, floats("ids", 2, 2))).singleElement().asString()
            .contains("float32").contains("expects int64");
        assertThat(check(model, false, NdArray.ofLongs("ids", new long[] {1, 2, 3, 4}, 2, 2))).isEmpty();
    }

    @Test
    void rankMismatchSuggestsReshape() {
        assertThat(check(CNN, false, floats("input", 3, 16))).singleElement().asString()
            .contains("[3, 16]").contains("rank 4").contains("[N, 1, 4, 4]").contains("x.reshape(-1, 1, 4, 4)");
    }

    @Test
    void fixedDimensionMismatchIsReportedButBatchIsFree() {
        assertThat(check(CNN, false, floats("input", 2, 1, 5, 5))).singleElement().asString()
            .contains("dimension 2 must be 4");
        assertThat(check(CNN, false, floats("input", 1, 1, 4, 4))).isEmpty();
        assertThat(check(CNN, false, floats("input", 17, 1, 4, 4))).isEmpty();
    }

    @Test
    void symbolicAndFixedBatchDimensionsAcceptAnySize() {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder()
            .addInput(TinyModels.valueInfo("tokens", DataType.FLOAT, 1, "T"))
            .addOutput(TinyModels.valueInfo("y", DataType.FLOAT, 1, "T"))
            .addNode(TinyModels.node("Relu", List.of("tokens"), List.of("y")))
            .build();
        OnnxModel model = OnnxModel.parse(TinyModels.model(g));
        assertThat(check(model, false, floats("tokens", 4, 9))).isEmpty();
        assertThat(check(model, false, floats("tokens", 4, 9, 1))).singleElement().asString().contains("rank 2");
    }

    @Test
    void differentSampleCountsAreReported() {
        OnnxModel model = OnnxModel.parse(TinyModels.twoInputs());
        assertThat(check(model, false, floats("a", 4, 2), floats("b", 5, 3))).singleElement().asString()
            .contains("different sample counts").contains("a has 4").contains("b has 5");
        assertThat(check(CNN, false, floats("input", 3, 1, 4, 4), labels(0, 1))).singleElement().asString()
            .contains("input has 3").contains("labels has 2");
    }

    @Test
    void zeroSamplesAreReported() {
        assertThat(check(CNN, false, floats("input", 0, 1, 4, 4))).singleElement().asString().contains("0 samples");
    }

    @Test
    void labelsAreRequiredOnlyWhenAsked() {
        assertThat(check(CNN, true, floats("input", 2, 1, 4, 4))).singleElement().asString()
            .contains("no 'labels'").contains("int64");
        assertThat(check(CNN, false, floats("input", 2, 1, 4, 4))).isEmpty();
    }

    @Test
    void floatLabelsAreRejected() {
        assertThat(check(CNN, true, floats("input", 2, 1, 4, 4), NdArray.ofFloats("labels", new float[] {0, 1}, 2)))
            .singleElement().asString().contains("integer").contains("float32");
    }

    @Test
    void labelsOfWrongRankAreRejected() {
        assertThat(check(CNN, true, floats("input", 2, 1, 4, 4), NdArray.ofLongs("labels", new long[] {0, 1}, 2, 1)))
            .singleElement().asString().contains("[2, 1]").contains("shape [N]");
    }

    @Test
    void labelsOutsideTheClassRangeAreRejected() {
        assertThat(check(CNN, true, floats("input", 2, 1, 4, 4), labels(1, 3))).singleElement().asString()
            .contains("holds 3 at sample 1").contains("[0, 2]");
        assertThat(check(CNN, true, floats("input", 2, 1, 4, 4), labels(-1, 0))).singleElement().asString()
            .contains("holds -1");
        assertThat(check(CNN, true, floats("input", 2, 1, 4, 4), NdArray.ofInts("labels", new int[] {2, 0}, 2))).isEmpty();
    }

    @Test
    void nanAndInfinityInFloatInputsAreCounted() {
        float[] v = TestData.ramp(48);
        v[20] = Float.NaN;
        v[40] = Float.POSITIVE_INFINITY;
        assertThat(check(CNN, false, NdArray.ofFloats("input", v, 3, 1, 4, 4))).singleElement().asString()
            .contains("1 NaN and 1 infinite").contains("sample 1");
    }

    @Test
    void independentProblemsAreAllReported() {
        assertThat(check(CNN, true, NdArray.ofLongs("input", new long[32], 2, 16), labels(0, 1, 2))).hasSize(3);
    }

    private static NdArray images(float scale, int outliers) {
        float[] v = new float[64 * 16];
        for (int i = 0; i < v.length; i++) {
            v[i] = scale * ((i * 37) % 100) / 100f;
        }
        for (int i = 0; i < outliers; i++) {
            v[i * 97] = 1000f;
        }
        return NdArray.ofFloats("input", v, 64, 1, 4, 4);
    }

    @Test
    void calibrationAndValidationNormalizedDifferentlyIsAMismatch() {
        var calib255 = dev.quantflow.runtime.npz.NpzArchive.of(List.of(images(255f, 0)));
        var eval01 = dev.quantflow.runtime.npz.NpzArchive.of(List.of(images(1f, 0)));
        assertThat(DatasetCheck.compareRanges(CNN, calib255, eval01)).singleElement().asString()
            .contains("'input'").contains("not normalized the same way").contains("[0, 1]");
        assertThat(DatasetCheck.compareRanges(CNN, eval01, calib255)).hasSize(1);
    }

    @Test
    void aFewOutliersOrAModestScaleDifferenceAreNotAMismatch() {
        var eval01 = dev.quantflow.runtime.npz.NpzArchive.of(List.of(images(1f, 0)));
        assertThat(DatasetCheck.compareRanges(CNN, dev.quantflow.runtime.npz.NpzArchive.of(List.of(images(1f, 3))), eval01)).isEmpty();
        assertThat(DatasetCheck.compareRanges(CNN, dev.quantflow.runtime.npz.NpzArchive.of(List.of(images(0.2f, 0))), eval01)).isEmpty();
    }
}
