package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.contracts.OutputSimilarity;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.onnx.ValueInfos;
import dev.quantflow.runtime.eval.ComparisonOptions;
import dev.quantflow.runtime.eval.ComparisonResult;
import dev.quantflow.runtime.eval.OutputComparison;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * The validator's judgement of a job whose model outputs a map, without Kafka or S3: the metric resolved from the
 * fp32 model as {@link ValidationStage} does, the outputs compared in ONNX Runtime, the verdict and the report's
 * {@code outputs}. The models are {@code y = Sigmoid(x + shift)} on [N, 1, 4, 4]; the candidate's shift makes its
 * foreground a superset of the reference's, so each page's IoU is a ratio of counts.
 */
class MapJobVerdictTest {

    static final int PAGES = 12;
    private static final double EDGE = Math.log(3.0 / 7.0); // sigmoid(x) > 0.3 ⇔ x > ln(3/7)

    /** x = -4 + 0.25·((16 i + p) mod 33): a grid in [-4, 4] far from both binarization edges. */
    static float[] inputs() {
        float[] x = new float[PAGES * 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = -4 + 0.25f * (i % 33);
        }
        return x;
    }

    private static final NpzArchive DATA = NpzArchive.of(List.of(NdArray.ofFloats("x", inputs(), PAGES, 1, 4, 4)));

    static byte[] sigmoidMap(float shift, boolean sigmoid) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("map")
            .addInput(ValueInfos.tensor("x", OnnxMl.TensorProto.DataType.FLOAT_VALUE, "N", 1, 4, 4))
            .addOutput(ValueInfos.tensor("prob", OnnxMl.TensorProto.DataType.FLOAT_VALUE, "N", 1, 4, 4))
            .addInitializer(Tensors.floatTensor("shift", new long[] {1}, new float[] {shift}))
            .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Add").setName("add").addInput("x").addInput("shift")
                .addOutput(sigmoid ? "logit" : "prob"));
        if (sigmoid) {
            g.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Sigmoid").setName("sigmoid").addInput("logit")
                .addOutput("prob"));
        }
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("quantflow-tests")
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
            .setGraph(g).build().toByteArray();
    }

    private static Verdicts.Judged judge(byte[] fp32, byte[] candidate, String metric, Double threshold,
                                         double maxRelativeDrop) {
        Verdicts.MetricChoice choice = Verdicts.resolveMetric(metric, false,
            OnnxModel.parse(fp32).outputs().get(0).shape(), false);
        assertThat(choice.comparesOutputs()).isTrue();
        ComparisonResult c = OutputComparison.compare(fp32, candidate, DATA, ComparisonOptions.defaults().withBatchSize(5));
        return Verdicts.judgeComparison(choice, c, threshold, maxRelativeDrop);
    }

    /** Σ over pages of |reference foreground| / |candidate foreground|, / pages (both empty = 1). */
    static double expectedMeanIou(float shift) {
        float[] x = inputs();
        double sum = 0;
        for (int i = 0; i < PAGES; i++) {
            int reference = 0;
            int candidate = 0;
            for (int p = 0; p < 16; p++) {
                reference += x[16 * i + p] > EDGE ? 1 : 0;
                candidate += x[16 * i + p] + shift > EDGE ? 1 : 0;
            }
            sum += candidate == 0 ? 1 : (double) reference / candidate;
        }
        return sum / PAGES;
    }

    @Test
    void autoJudgesAProbabilityMapByMeanIouAgainstOneMinusTheDrop() {
        byte[] fp32 = sigmoidMap(0, true);
        Verdicts.Judged same = judge(fp32, fp32, "auto", null, 0.02);
        assertThat(same.metric().metric()).isEqualTo("iou");
        assertThat(same.metric().reason()).contains("[N, 1, 4, 4]").contains("probability map");
        assertThat(same.verdict().passed()).isTrue();
        assertThat(same.verdict().metric()).isEqualTo("mean-iou");
        assertThat(same.verdict().value()).isEqualTo(1.0);
        assertThat(same.verdict().threshold()).isCloseTo(0.98, Offset.offset(1e-12));

        Verdicts.Judged shifted = judge(fp32, sigmoidMap(2f, true), "auto", null, 0.02);
        double expected = expectedMeanIou(2f);
        assertThat(expected).isBetween(0.5, 0.95);
        assertThat(shifted.verdict().passed()).isFalse();
        assertThat(shifted.verdict().value()).isCloseTo(expected, Offset.offset(1e-9));
        assertThat(shifted.verdict().text()).contains("misses target").contains("1 - max relative drop 2.00%");
    }

    @Test
    void aMetricThresholdReplacesTheDropAndTheReportCarriesTheIouFields() {
        byte[] fp32 = sigmoidMap(0, true);
        byte[] candidate = sigmoidMap(0.5f, true);
        double expected = expectedMeanIou(0.5f);
        assertThat(expected).isBetween(0.8, 0.98);
        Verdicts.Judged passes = judge(fp32, candidate, "iou", expected - 0.01, 0.02);
        assertThat(passes.verdict().passed()).isTrue();
        assertThat(passes.verdict().text()).contains("metricThreshold");
        assertThat(judge(fp32, candidate, "iou", expected + 0.01, 0.5).verdict().passed()).isFalse();

        ComparisonResult c = OutputComparison.compare(fp32, candidate, DATA, ComparisonOptions.defaults());
        OutputSimilarity outputs = ValidationStage.outputSimilarity(passes.metric(), c);
        assertThat(outputs.metric()).isEqualTo("iou");
        assertThat(outputs.meanIou()).isCloseTo(expected, Offset.offset(1e-9));
        assertThat(outputs.mapThreshold()).isEqualTo(0.3);
        assertThat(outputs.fp32Min()).isGreaterThan(0.0);
        assertThat(outputs.fp32Max()).isLessThan(1.0);
        assertThat(outputs.positionAgreement()).isNull();
    }

    @Test
    void aOneChannelMapOfLogitsIsComparedByCosineUnderAuto() {
        byte[] logits = sigmoidMap(0, false); // y = x in [-4, 4]: not a probability
        Verdicts.Judged judged = judge(logits, logits, "auto", null, 0.02);
        assertThat(judged.metric().metric()).isEqualTo("cosine");
        assertThat(judged.metric().reason()).contains("not probabilities");
        assertThat(judged.verdict().metric()).isEqualTo("mean-cosine");
        assertThat(judged.verdict().passed()).isTrue();
    }
}
