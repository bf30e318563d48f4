package dev.quantflow.runtime.eval;

import static dev.quantflow.runtime.TinyModels.floatTensor;
import static dev.quantflow.runtime.TinyModels.intAttr;
import static dev.quantflow.runtime.TinyModels.node;
import static dev.quantflow.runtime.TinyModels.valueInfo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.runtime.TestData;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.Test;

/**
 * Output comparison on tiny graphs whose cosines are known in closed form: a rotation by θ keeps every vector's
 * length and turns it by θ (cosine = cos θ exactly), a scaling keeps the direction (cosine 1), and a model that
 * differs only on padded tokens is identical under masked mean pooling.
 */
class OutputComparisonTest {

    private static final int ROWS = 10;
    private static final NpzArchive DATA = NpzArchive.of(List.of(TestData.floats("input", ROWS, 2)));

    /** {@code input [N,2] -> Gemm(W, transB) -> y [N,2]}, i.e. {@code y = W x}. */
    static byte[] linear(float w00, float w01, float w10, float w11, DataType outType) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("linear")
            .addInput(valueInfo("input", DataType.FLOAT, "N", 2))
            .addOutput(valueInfo("y", outType, "N", 2))
            .addInitializer(floatTensor("W", new float[] {w00, w01, w10, w11}, 2, 2));
        if (outType == DataType.FLOAT) {
            g.addNode(node("Gemm", List.of("input", "W"), List.of("y"), intAttr("transB", 1)));
        } else {
            g.addNode(node("Gemm", List.of("input", "W"), List.of("y32"), intAttr("transB", 1)));
            g.addNode(node("Cast", List.of("y32"), List.of("y"), intAttr("to", outType.getNumber())));
        }
        return TinyModels.model(g.build());
    }

    static byte[] identity() {
        return linear(1, 0, 0, 1, DataType.FLOAT);
    }

    static byte[] rotation(double theta) {
        float c = (float) Math.cos(theta);
        float s = (float) Math.sin(theta);
        return linear(c, -s, s, c, DataType.FLOAT);
    }

    private static float[] x() {
        return DATA.array("input").toFloats();
    }

    @Test
    void aRotationByThetaHasCosineCosTheta() {
        double theta = 1.0;
        ComparisonResult r = OutputComparison.compare(identity(), rotation(theta), DATA, ComparisonOptions.defaults());
        float[] x = x();
        double sumSquares = 0;
        int agree = 0;
        for (int i = 0; i < ROWS; i++) {
            double x0 = x[2 * i];
            double x1 = x[2 * i + 1];
            assertThat(x0 * x0 + x1 * x1).isPositive();
            sumSquares += x0 * x0 + x1 * x1;
            double y0 = Math.cos(theta) * x0 - Math.sin(theta) * x1;
            double y1 = Math.sin(theta) * x0 + Math.cos(theta) * x1;
            if ((x0 >= x1) == (y0 >= y1)) {
                agree++;
            }
        }
        assertThat(r.samples()).isEqualTo(ROWS);
        assertThat(r.outputName()).isEqualTo("y");
        assertThat(r.vectorLength()).isEqualTo(2);
        double[] expected = new double[ROWS];
        java.util.Arrays.fill(expected, Math.cos(theta));
        assertThat(r.cosines()).containsExactly(expected, within(1e-6));
        assertThat(r.meanCosine()).isCloseTo(Math.cos(theta), within(1e-6));
        assertThat(r.minCosine()).isCloseTo(Math.cos(theta), within(1e-6));
        // |x - Rx|² = 2|x|²(1 - cos θ), averaged over N·2 values
        assertThat(r.mse()).isCloseTo(2 * sumSquares * (1 - Math.cos(theta)) / (ROWS * 2), within(1e-5));
        assertThat(r.top1Agreement()).isEqualTo((double) agree / ROWS);
        assertThat(r.top1Agreement()).isLessThan(1.0); // a 1-radian turn flips some argmaxes of this data
        assertThat(r.nonFiniteSamples()).isZero();
        assertThat(OutputMetric.MEAN_COSINE.meets(r, 0.54)).isTrue();
        assertThat(OutputMetric.MEAN_COSINE.meets(r, 0.55)).isFalse();
    }

    @Test
    void aScaledOutputHasCosineOneButAnError() {
        ComparisonResult r = OutputComparison.compare(identity(), linear(2, 0, 0, 2, DataType.FLOAT), DATA,
            ComparisonOptions.defaults());
        float[] x = x();
        double meanSquare = 0;
        double maxAbs = 0;
        for (float v : x) {
            meanSquare += (double) v * v / x.length;
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        assertThat(r.meanCosine()).isCloseTo(1.0, within(1e-12));
        assertThat(r.minCosine()).isCloseTo(1.0, within(1e-12));
        assertThat(r.mse()).isCloseTo(meanSquare, within(1e-9));
        assertThat(r.maxAbsDiff()).isCloseTo(maxAbs, within(1e-9));
        assertThat(r.top1Agreement()).isEqualTo(1.0);
        assertThat(OutputMetric.MSE.meets(r, 1e-3)).isFalse();
        assertThat(OutputMetric.MIN_COSINE.meets(r, 0.9999)).isTrue();
    }

    @Test
    void resultsDoNotDependOnBatchSizeAndMaxSamplesCuts() {
        ComparisonResult one = OutputComparison.compare(identity(), rotation(1.0), DATA, ComparisonOptions.defaults().withBatchSize(1));
        ComparisonResult three = OutputComparison.compare(identity(), rotation(1.0), DATA, ComparisonOptions.defaults().withBatchSize(3));
        ComparisonResult all = OutputComparison.compare(identity(), rotation(1.0), DATA, ComparisonOptions.defaults().withBatchSize(64));
        assertThat(three.cosines()).containsExactly(one.cosines(), within(1e-12));
        assertThat(all.cosines()).containsExactly(one.cosines(), within(1e-12));
        assertThat(all.mse()).isCloseTo(one.mse(), within(1e-12));

        ComparisonResult first4 = OutputComparison.compare(identity(), rotation(1.0), DATA, ComparisonOptions.defaults().withMaxSamples(4));
        assertThat(first4.samples()).isEqualTo(4);
        assertThat(first4.cosines()).containsExactly(java.util.Arrays.copyOf(one.cosines(), 4), within(1e-12));
    }

    @Test
    void halfPrecisionOutputsAreWidened() {
        for (DataType half : List.of(DataType.FLOAT16, DataType.BFLOAT16)) {
            ComparisonResult r = OutputComparison.compare(identity(), linear(1, 0, 0, 1, half), DATA, ComparisonOptions.defaults());
            double ulp = half == DataType.FLOAT16 ? 0x1p-10 : 0x1p-7;
            assertThat(r.maxAbsDiff()).as(half.name()).isPositive().isLessThanOrEqualTo(2 * ulp); // |x| <= 2
            assertThat(r.meanCosine()).as(half.name()).isCloseTo(1.0, within(1e-4));
            assertThat(r.top1Agreement()).as(half.name()).isGreaterThanOrEqualTo(0.9);
        }
    }

    @Test
    void nonFiniteOutputsMakeTheCosinesNanAndMissEveryBudget() {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("log")
            .addInput(valueInfo("input", DataType.FLOAT, "N", 2))
            .addOutput(valueInfo("y", DataType.FLOAT, "N", 2))
            .addNode(node("Log", List.of("input"), List.of("y")))
            .build();
        ComparisonResult r = OutputComparison.compare(identity(), TinyModels.model(g), DATA, ComparisonOptions.defaults());
        assertThat(r.nonFiniteSamples()).isPositive();
        assertThat(r.meanCosine()).isNaN();
        assertThat(r.minCosine()).isNaN();
        assertThat(r.minCosineSample()).isEqualTo(-1);
        assertThat(OutputMetric.MEAN_COSINE.meets(r, -1)).isFalse();
    }

    // ---- mean pooling over attention_mask ----

    private static final float[] W = {1f, -2f, 0.5f};
    private static final float[] V = {7f, 7f, 7f};
    private static final NpzArchive TOKENS = NpzArchive.of(List.of(
        NdArray.ofLongs("input_ids", new long[] {5, 3, 0, 0, 2, 0, 0, 0, 1, 2, 3, 4}, 3, 4),
        NdArray.ofLongs("attention_mask", new long[] {1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, 3, 4)));

    /**
     * {@code h[n,t,:] = input_ids[n,t]·mask[n,t]·w  +  (1 − mask[n,t])·v}: token "embeddings" [N,4,3]; with
     * {@code v = 0} the padded positions are 0.
     */
    static byte[] tokenModel(float[] w, float[] v) {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("tokens")
            .addInput(valueInfo("input_ids", DataType.INT64, "N", 4))
            .addInput(valueInfo("attention_mask", DataType.INT64, "N", 4))
            .addOutput(valueInfo("last_hidden_state", DataType.FLOAT, "N", 4, 3))
            .addInitializer(floatTensor("w", w, 3))
            .addInitializer(floatTensor("v", v, 3))
            .addInitializer(floatTensor("one", new float[] {1f}))
            .addInitializer(OnnxMl.TensorProto.newBuilder().setName("axes").setDataType(DataType.INT64.getNumber())
                .addDims(1).addInt64Data(2).build())
            .addNode(node("Mul", List.of("input_ids", "attention_mask"), List.of("kept")))
            .addNode(node("Cast", List.of("kept"), List.of("kept_f"), intAttr("to", DataType.FLOAT.getNumber())))
            .addNode(node("Unsqueeze", List.of("kept_f", "axes"), List.of("kept_u")))
            .addNode(node("Mul", List.of("kept_u", "w"), List.of("real")))
            .addNode(node("Cast", List.of("attention_mask"), List.of("mask_f"), intAttr("to", DataType.FLOAT.getNumber())))
            .addNode(node("Sub", List.of("one", "mask_f"), List.of("pad_f")))
            .addNode(node("Unsqueeze", List.of("pad_f", "axes"), List.of("pad_u")))
            .addNode(node("Mul", List.of("pad_u", "v"), List.of("garbage")))
            .addNode(node("Add", List.of("real", "garbage"), List.of("last_hidden_state")))
            .build();
        return TinyModels.model(g);
    }

    @Test
    void maskedMeanPoolingIgnoresPaddedTokens() {
        byte[] clean = tokenModel(W, new float[3]);
        byte[] noisyPadding = tokenModel(W, V);
        ComparisonOptions mean = ComparisonOptions.defaults().withPooling(ComparisonOptions.Pooling.MEAN);

        ComparisonResult pooled = OutputComparison.compare(clean, noisyPadding, TOKENS, mean);
        assertThat(pooled.vectorLength()).isEqualTo(3);
        assertThat(pooled.cosines()).containsExactly(new double[] {1, 1, 1}, within(1e-12));
        assertThat(pooled.mse()).isZero();
        assertThat(pooled.top1Agreement()).isNull();

        ComparisonResult flat = OutputComparison.compare(clean, noisyPadding, TOKENS, ComparisonOptions.defaults());
        assertThat(flat.vectorLength()).isEqualTo(12);
        double w2 = 1 + 4 + 0.25;
        double v2 = 3 * 49;
        // sample 0: a = (5w, 3w, 0, 0), b = (5w, 3w, v, v): cos = sqrt(34|w|² / (34|w|² + 2|v|²))
        assertThat(flat.cosines()[0]).isCloseTo(Math.sqrt(34 * w2 / (34 * w2 + 2 * v2)), within(1e-9));
        assertThat(flat.cosines()[1]).isCloseTo(Math.sqrt(4 * w2 / (4 * w2 + 3 * v2)), within(1e-9));
        assertThat(flat.cosines()[2]).isCloseTo(1.0, within(1e-12));
        assertThat(flat.minCosineSample()).isEqualTo(1);
        assertThat(flat.top1Agreement()).as("not one score vector per sample").isNull();
        assertThatThrownBy(() -> OutputMetric.TOP1_AGREEMENT.value(flat)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void l2NormalizationRemovesScale() {
        byte[] reference = tokenModel(W, new float[3]);
        byte[] doubled = tokenModel(new float[] {2f, -4f, 1f}, new float[3]);
        ComparisonResult mean = OutputComparison.compare(reference, doubled, TOKENS,
            ComparisonOptions.defaults().withPooling(ComparisonOptions.Pooling.MEAN));
        // pooled vectors are μ·w and 2μ·w with μ = mean kept id = 4, 2, 2.5: mse = Σ μ²|w|² / (3·3)
        assertThat(mean.mse()).isCloseTo((16 + 4 + 6.25) * 5.25 / 9, within(1e-9));
        assertThat(mean.meanCosine()).isCloseTo(1.0, within(1e-12));

        ComparisonResult l2 = OutputComparison.compare(reference, doubled, TOKENS,
            ComparisonOptions.defaults().withPooling(ComparisonOptions.Pooling.MEAN_L2));
        assertThat(l2.mse()).isLessThan(1e-15);
        assertThat(l2.meanCosine()).isCloseTo(1.0, within(1e-12));
    }

    @Test
    void poolingNeedsTokenOutputs() {
        assertThatThrownBy(() -> OutputComparison.compare(identity(), identity(), DATA,
            ComparisonOptions.defaults().withPooling(ComparisonOptions.Pooling.MEAN_L2)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("[N, tokens, features]");
    }

    @Test
    void mismatchedModelsAndDataAreRefused() {
        assertThatThrownBy(() -> OutputComparison.compare(identity(), tokenModel(W, V), DATA, ComparisonOptions.defaults()))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("different inputs");
        assertThatThrownBy(() -> OutputComparison.compare(identity(), identity(), DATA,
            ComparisonOptions.defaults().withOutputName("logits")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no output 'logits'");
        assertThatThrownBy(() -> OutputComparison.compare(identity(), identity(), TOKENS, ComparisonOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("'input'");
    }

    @Test
    void metricsParseAndKnowTheirDirection() {
        assertThat(OutputMetric.parse("mean_cosine")).isEqualTo(OutputMetric.MEAN_COSINE);
        assertThat(OutputMetric.parse(" Min-Cosine ")).isEqualTo(OutputMetric.MIN_COSINE);
        assertThat(OutputMetric.parse("mse").higherIsBetter()).isFalse();
        assertThat(OutputMetric.MSE.meets(1e-4, 1e-3)).isTrue();
        assertThat(OutputMetric.MSE.meets(Double.NaN, 1e-3)).isFalse();
        assertThat(OutputMetric.TOP1_AGREEMENT.meets(0.99, 0.99)).isTrue();
        assertThatThrownBy(() -> OutputMetric.parse("accuracy")).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("mean_cosine");
    }
}
