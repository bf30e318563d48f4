package dev.quantflow.runtime.eval;

import static dev.quantflow.runtime.TinyModels.floatTensor;
import static dev.quantflow.runtime.TinyModels.intAttr;
import static dev.quantflow.runtime.TinyModels.model;
import static dev.quantflow.runtime.TinyModels.node;
import static dev.quantflow.runtime.TinyModels.valueInfo;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.Test;

/** A binary classifier with one output value per sample ([N, 1]) takes labels 0/1 (issue 13 item 6). */
class BinaryClassifierEvalTest {

    private static final EvalOptions QUICK = EvalOptions.defaults().withBatchSize(2)
        .withLatency(List.of(new EvalOptions.LatencyPlan(1, 0, 1)));

    /** y = x0 - x1 (W = [1, -1], b = 0): the logit; with {@code sigmoid} a Sigmoid node makes it a probability. */
    private static byte[] oneOutput(boolean sigmoid) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("binary")
            .addInput(valueInfo("input", DataType.FLOAT, "N", 2))
            .addOutput(valueInfo("score", DataType.FLOAT, "N", 1))
            .addInitializer(floatTensor("W", new float[] {1, -1}, 1, 2))
            .addInitializer(floatTensor("b", new float[] {0}, 1));
        if (sigmoid) {
            g.addNode(node("Gemm", List.of("input", "W", "b"), List.of("logit"), intAttr("transB", 1)))
                .addNode(node("Sigmoid", List.of("logit"), List.of("score")));
        } else {
            g.addNode(node("Gemm", List.of("input", "W", "b"), List.of("score"), intAttr("transB", 1)));
        }
        return model(g.build());
    }

    // logits x0 - x1: 0.3, -0.3, 2, -2, 0  → class 1, 0, 1, 0, 1 (ties at the threshold count as 1)
    private static final float[] X = {0.3f, 0, 0, 0.3f, 2, 0, 0, 2, 1, 1};
    private static final int[] EXPECTED = {1, 0, 1, 0, 1};

    private static NpzArchive data(long... labels) {
        return NpzArchive.of(List.of(NdArray.ofFloats("input", X, 5, 2), NdArray.ofLongs("labels", labels, 5)));
    }

    @Test
    void sigmoidProbabilityIsThresholdedAtOneHalf() {
        EvalResult r = ModelEvaluator.evaluate(oneOutput(true), data(1, 0, 1, 1, 1), QUICK);
        assertThat(r.predictions()).containsExactly(EXPECTED);
        assertThat(r.accuracy()).isEqualTo(4.0 / 5.0);
    }

    @Test
    void aLogitIsThresholdedAtZeroNotOneHalf() {
        // A logit of 0.3 is class 1 (sigmoid(0.3) = 0.574); read as a probability it would be class 0.
        EvalResult r = ModelEvaluator.evaluate(oneOutput(false), data(1, 0, 1, 0, 1), QUICK);
        assertThat(r.predictions()).containsExactly(EXPECTED);
        assertThat(r.accuracy()).isEqualTo(1.0);
    }

    @Test
    void thresholdComesFromTheProducingNode() {
        assertThat(ModelEvaluator.binaryThreshold(OnnxModel.parse(oneOutput(true)), "score")).isEqualTo(0.5f);
        assertThat(ModelEvaluator.binaryThreshold(OnnxModel.parse(oneOutput(false)), "score")).isEqualTo(0f);
        assertThat(ModelEvaluator.binaryPrediction(Float.NaN, 0.5f)).isEqualTo(-1);
    }

    @Test
    void labelTwoIsStillRefusedWithAReason() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> ModelEvaluator.evaluate(oneOutput(true), data(1, 0, 2, 0, 1), QUICK))
            .hasMessageContaining("holds 2 at sample 2")
            .hasMessageContaining("[0, 1]");
    }

    /** The logit model with its weight scaled by -1 flips every nonzero decision: W = [-1, 1]. */
    private static byte[] flipped() {
        return model(OnnxMl.GraphProto.newBuilder().setName("flipped")
            .addInput(valueInfo("input", DataType.FLOAT, "N", 2))
            .addOutput(valueInfo("score", DataType.FLOAT, "N", 1))
            .addInitializer(floatTensor("W", new float[] {-1, 1}, 1, 2))
            .addInitializer(floatTensor("b", new float[] {0}, 1))
            .addNode(node("Gemm", List.of("input", "W", "b"), List.of("score"), intAttr("transB", 1)))
            .build());
    }

    @Test
    void top1AgreementOfOneOutputComparesBinaryDecisions() {
        NpzArchive x = NpzArchive.of(List.of(NdArray.ofFloats("input", X, 5, 2)));
        ComparisonOptions o = ComparisonOptions.defaults().withBatchSize(2);
        assertThat(OutputComparison.compare(oneOutput(false), oneOutput(false), x, o).top1Agreement()).isEqualTo(1.0);
        // logits 0.3, -0.3, 2, -2, 0 vs their negations: decisions 1,0,1,0,1 vs 0,1,0,1,1 → only the tie agrees.
        assertThat(OutputComparison.compare(oneOutput(false), flipped(), x, o).top1Agreement()).isEqualTo(1.0 / 5.0);
    }
}
