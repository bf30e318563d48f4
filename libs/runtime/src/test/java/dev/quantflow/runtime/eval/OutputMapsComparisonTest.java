package dev.quantflow.runtime.eval;

import static dev.quantflow.runtime.TinyModels.floatTensor;
import static dev.quantflow.runtime.TinyModels.node;
import static dev.quantflow.runtime.TinyModels.valueInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.Test;

/**
 * Outputs that are not one score vector per sample (issue 13 item 6): the IoU of probability maps binarized at a
 * threshold, and the argmax agreement at every position of a segmentation ([N,C,H,W]) or CTC ([N,T,C]) output. The
 * models are {@code y = x + bias} with a hand-picked bias (zero for the reference), so every expected value below
 * is counted by hand from the data.
 */
class OutputMapsComparisonTest {

    /** {@code x [N, dims…] -> Add(x, bias[1, dims…]) -> y [N, dims…]}. */
    private static byte[] plusBias(float[] bias, int... dims) {
        Object[] shape = new Object[dims.length + 1];
        shape[0] = "N";
        long[] biasShape = new long[dims.length + 1];
        biasShape[0] = 1;
        for (int d = 0; d < dims.length; d++) {
            shape[d + 1] = dims[d];
            biasShape[d + 1] = dims[d];
        }
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("plus_bias")
            .addInput(valueInfo("x", DataType.FLOAT, shape))
            .addOutput(valueInfo("y", DataType.FLOAT, shape))
            .addInitializer(floatTensor("bias", bias, biasShape))
            .addNode(node("Add", List.of("x", "bias"), List.of("y")))
            .build();
        return TinyModels.model(g);
    }

    // ---- IoU of [N, 1, 2, 2] maps ----

    private static final NpzArchive MAPS = NpzArchive.of(List.of(NdArray.ofFloats("x", new float[] {
        0.9f, 0.1f, 0.5f, 0.2f,   // sample 0
        0f, 0f, 0f, 0f,           // sample 1: nothing lights up in either model
        1f, 1f, 1f, 1f,           // sample 2
    }, 3, 1, 2, 2)));
    private static final byte[] MAP_REFERENCE = plusBias(new float[4], 1, 2, 2);
    // candidate maps: s0 [0.1, 0.35, 0.5, 0.25], s1 [-0.8, 0.25, 0, 0.05], s2 [0.2, 1.25, 1, 1.05]
    private static final byte[] MAP_CANDIDATE = plusBias(new float[] {-0.8f, 0.25f, 0f, 0.05f}, 1, 2, 2);

    @Test
    void iouAtTheDefaultThresholdIsCountedPerSampleAndAveraged() {
        ComparisonResult r = OutputComparison.compare(MAP_REFERENCE, MAP_CANDIDATE, MAPS, ComparisonOptions.defaults());
        // t = 0.3: s0 reference {0, 2}, candidate {1, 2} → 1/3; s1 both empty → 1; s2 {0,1,2,3} vs {1,2,3} → 3/4
        assertThat(r.mapThreshold()).isEqualTo(0.3);
        assertThat(r.meanIou()).isCloseTo((1.0 / 3 + 1 + 0.75) / 3, within(1e-12));
        assertThat(r.minIou()).isCloseTo(1.0 / 3, within(1e-12));
        assertThat(r.referenceMin()).isEqualTo(0.0);
        assertThat(r.referenceMax()).isEqualTo(1.0);
        assertThat(r.top1Agreement()).as("not one score vector per sample").isNull();
    }

    @Test
    void bothMapsEmptyIsAPerfectMatch() {
        NpzArchive dark = NpzArchive.of(List.of(NdArray.ofFloats("x", new float[8], 2, 1, 2, 2)));
        ComparisonResult r = OutputComparison.compare(MAP_REFERENCE, MAP_CANDIDATE, dark, ComparisonOptions.defaults());
        assertThat(r.meanIou()).isEqualTo(1.0);
        assertThat(r.minIou()).isEqualTo(1.0);
    }

    @Test
    void theThresholdDecidesTheForegroundStrictly() {
        ComparisonResult r = OutputComparison.compare(MAP_REFERENCE, MAP_CANDIDATE, MAPS,
            ComparisonOptions.defaults().withMapThreshold(0.5));
        // t = 0.5 (0.5 itself is not foreground): s0 {0} vs {} → 0; s1 → 1; s2 {0,1,2,3} vs {1,2,3} → 3/4
        assertThat(r.mapThreshold()).isEqualTo(0.5);
        assertThat(r.meanIou()).isCloseTo(1.75 / 3, within(1e-12));
        assertThat(r.minIou()).isEqualTo(0.0);
    }

    @Test
    void iouDoesNotDependOnTheBatchSize() {
        double expected = (1.0 / 3 + 1 + 0.75) / 3;
        for (int batch : new int[] {1, 2, 3}) {
            ComparisonResult r = OutputComparison.compare(MAP_REFERENCE, MAP_CANDIDATE, MAPS,
                ComparisonOptions.defaults().withBatchSize(batch));
            assertThat(r.meanIou()).as("batch %d", batch).isCloseTo(expected, within(1e-12));
        }
    }

    @Test
    void aMapAgainstItselfHasIouOne() {
        ComparisonResult r = OutputComparison.compare(MAP_REFERENCE, MAP_REFERENCE, MAPS, ComparisonOptions.defaults());
        assertThat(r.meanIou()).isEqualTo(1.0);
        assertThat(r.positionAgreement()).isEqualTo(1.0);
    }

    // ---- per-position agreement ----

    @Test
    void segmentationAgreementTakesTheArgmaxOverChannelsAtEveryPixel() {
        // [N, C=2, H=1, W=3]: the class axis is 1; bias lifts class 1 by [0, +1, -2] along W
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("x", new float[] {
            1, 1, 1, 0.5f, 0.5f, 2,   // s0: reference argmax per pixel [0, 0, 1]; candidate class 1 [0.5, 1.5, 0] → [0, 1, 0]
            0, 0, 3, 1, 1, 1,         // s1: reference [1, 1, 0]; candidate class 1 [1, 2, -1] → [1, 1, 0]
        }, 2, 2, 1, 3)));
        byte[] reference = plusBias(new float[6], 2, 1, 3);
        byte[] candidate = plusBias(new float[] {0, 0, 0, 0, 1, -2}, 2, 1, 3);
        ComparisonResult r = OutputComparison.compare(reference, candidate, data, ComparisonOptions.defaults());
        assertThat(r.positionsPerSample()).isEqualTo(3);
        // s0 agrees at 1 of 3 pixels, s1 at 3 of 3 (an argmax over the last axis would give 2 of 4 instead)
        assertThat(r.positionAgreement()).isCloseTo(4.0 / 6, within(1e-12));
        assertThat(r.top1Agreement()).isNull();
    }

    @Test
    void ctcAgreementTakesTheArgmaxOverTheLastAxisAtEveryTimeStep() {
        // [N, T=3, C=2]: the class axis is the last; bias lifts class 1 by [0, +1, -2] along T
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("x", new float[] {
            1, 0.5f, 1, 0.5f, 1, 2,   // s0: reference per step [0, 0, 1]; candidate [0, 1, 0]
            0, 1, 0, 1, 3, 1,         // s1: reference [1, 1, 0]; candidate [1, 1, 0]
        }, 2, 3, 2)));
        byte[] reference = plusBias(new float[6], 3, 2);
        byte[] candidate = plusBias(new float[] {0, 0, 0, 1, 0, -2}, 3, 2);
        for (int batch : new int[] {1, 2}) {
            ComparisonResult r = OutputComparison.compare(reference, candidate, data,
                ComparisonOptions.defaults().withBatchSize(batch));
            assertThat(r.positionsPerSample()).isEqualTo(3);
            // 1 of 3 and 3 of 3 steps agree (an argmax over the time axis would give 2 of 4)
            assertThat(r.positionAgreement()).as("batch %d", batch).isCloseTo(4.0 / 6, within(1e-12));
        }
    }

    @Test
    void aClassifierHasNoPerPositionAgreement() {
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("x", new float[] {1, 0, 0, 1}, 2, 2)));
        ComparisonResult r = OutputComparison.compare(plusBias(new float[2], 2), plusBias(new float[2], 2), data,
            ComparisonOptions.defaults());
        assertThat(r.positionAgreement()).isNull();
        assertThat(r.positionsPerSample()).isZero();
        assertThat(r.top1Agreement()).isEqualTo(1.0);
    }

    @Test
    void layoutRulesByRank() {
        assertThat(OutputLayout.classAxis(new long[] {-1})).isEqualTo(-1);
        assertThat(OutputLayout.classAxis(new long[] {-1, 10})).isEqualTo(1);
        assertThat(OutputLayout.classAxis(new long[] {-1, 40, 6625})).isEqualTo(2);
        assertThat(OutputLayout.classAxis(new long[] {-1, 21, 64, 64})).isEqualTo(1);
        assertThat(OutputLayout.positionsPerSample(new long[] {4, 21, 64, 32})).isEqualTo(64 * 32);
        assertThat(OutputLayout.positionsPerSample(new long[] {4, 40, 6625})).isEqualTo(40);
        assertThat(OutputLayout.isSingleChannelMap(new long[] {-1, 1, -1, -1})).isTrue();
        assertThat(OutputLayout.isSingleChannelMap(new long[] {-1, 2, -1, -1})).isFalse();
        assertThat(OutputLayout.isSingleChannelMap(new long[] {-1, 1, 5})).isFalse();
        assertThat(Arrays.stream(new long[][] {{1, 2}, {1, 2, 3}}).map(OutputLayout::isPerPosition).toList())
            .containsExactly(false, true);
    }
}
