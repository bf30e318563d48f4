package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.runtime.eval.EvalResult;

class VerdictsTest {

    static EvalResult result(Double accuracy) {
        return new EvalResult(100, 10, accuracy, new int[10], List.of(), null);
    }

    @Test
    void relativeDropWithinBudgetPasses() {
        var v = Verdicts.judge(result(0.90), result(0.8825), 1.0, 0.02); // 1.94% relative
        assertThat(v.passed()).isTrue();
        assertThat(v.metric()).isEqualTo("top1-accuracy");
        assertThat(v.value()).isCloseTo(0.019444, org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void relativeDropOverBudgetMisses() {
        var v = Verdicts.judge(result(0.90), result(0.88), 1.0, 0.02); // 2.22% relative
        assertThat(v.passed()).isFalse();
        assertThat(v.text()).contains("misses target").contains("90.00%").contains("88.00%");
    }

    @Test
    void withoutLabelsAgreementDecides() {
        assertThat(Verdicts.judge(result(null), result(null), 0.985, 0.02).passed()).isTrue();
        var miss = Verdicts.judge(result(null), result(null), 0.97, 0.02);
        assertThat(miss.passed()).isFalse();
        assertThat(miss.metric()).isEqualTo("top1-agreement");
    }

    @Test
    void improvementIsAPass() {
        assertThat(Verdicts.judge(result(0.80), result(0.81), 1.0, 0.0).passed()).isTrue();
    }

    // ---- maps and per-position agreement (issue 13 item 6) ----

    private static dev.quantflow.runtime.eval.ComparisonResult maps(Double meanIou, Double positionAgreement) {
        return new dev.quantflow.runtime.eval.ComparisonResult(200, "sigmoid_0.tmp_0",
            dev.quantflow.runtime.eval.ComparisonOptions.Pooling.NONE, 102_400, 0.99, 0.9, 3, 1e-4, 0.2, null, 0,
            new double[200], 0.3, meanIou, meanIou == null ? null : meanIou - 0.1, positionAgreement,
            positionAgreement == null ? 0 : 40, 0.0, 1.0);
    }

    @Test
    void meanIouPassesAtTheMetricThresholdOrElseAtOneMinusTheDrop() {
        assertThat(Verdicts.judgeMaps(maps(0.95, null), "iou", 0.95, 0.02).passed()).isTrue();
        var below = Verdicts.judgeMaps(maps(0.9499, null), "iou", 0.95, 0.02);
        assertThat(below.passed()).isFalse();
        assertThat(below.metric()).isEqualTo("mean-iou");
        assertThat(below.threshold()).isEqualTo(0.95);
        assertThat(below.text()).contains("0.9499").contains("metricThreshold").contains("misses target");
        // without metricThreshold: 1 - maxRelativeDrop
        var noThreshold = Verdicts.judgeMaps(maps(0.975, null), "iou", null, 0.02);
        assertThat(noThreshold.passed()).isFalse();
        assertThat(noThreshold.threshold()).isCloseTo(0.98, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(noThreshold.text()).contains("1 - max relative drop 2.00%");
        assertThat(Verdicts.judgeMaps(maps(0.975, null), "iou", null, 0.03).passed()).isTrue();
        assertThat(Verdicts.judgeMaps(maps(Double.NaN, null), "iou", 0.0, 0.02).passed()).as("NaN never passes").isFalse();
    }

    @Test
    void agreementPerPositionIsJudgedLikewise() {
        var v = Verdicts.judgeMaps(maps(null, 0.985), "agreement", null, 0.02);
        assertThat(v.passed()).isTrue();
        assertThat(v.metric()).isEqualTo("position-agreement");
        assertThat(v.text()).contains("200 samples x 40 positions");
        assertThat(Verdicts.judgeMaps(maps(null, 0.97), "agreement", null, 0.02).passed()).isFalse();
        assertThat(Verdicts.judgeMaps(maps(null, 0.97), "agreement", 0.96, 0.02).passed()).isTrue();
        assertThat(Verdicts.judgeMaps(maps(0.99, null), "agreement", null, 0.02).passed())
            .as("no per-position agreement measured").isFalse();
    }

    @Test
    void autoPicksTheMetricFromTheOutputShapeAndSaysWhy() {
        var map = Verdicts.resolveMetric("auto", false, new long[] {-1, 1, -1, -1}, false);
        assertThat(map.metric()).isEqualTo("iou");
        assertThat(map.comparesOutputs()).isTrue();
        var probability = Verdicts.confirmMap(map, 0.0, 0.97);
        assertThat(probability.metric()).isEqualTo("iou");
        assertThat(probability.reason()).contains("[N, 1, ?, ?]").contains("probability map");
        var logits = Verdicts.confirmMap(map, -7.5, 9.0);
        assertThat(logits.metric()).isEqualTo("cosine");
        assertThat(logits.reason()).contains("not probabilities");

        var classifier = Verdicts.resolveMetric("auto", true, new long[] {-1, 10}, false);
        assertThat(classifier.metric()).isEqualTo("top1");
        assertThat(Verdicts.resolveMetric("auto", true, new long[] {-1, 1}, false).reason()).contains("binary");
        assertThat(Verdicts.resolveMetric("auto", false, new long[] {-1, 10}, false).metric()).isEqualTo("agreement");
        assertThat(Verdicts.resolveMetric("auto", false, new long[] {-1, 10}, false).perPosition()).isFalse();

        var ctc = Verdicts.resolveMetric("auto", false, new long[] {-1, 40, 6625}, false);
        assertThat(ctc.metric()).isEqualTo("agreement");
        assertThat(ctc.perPosition()).isTrue();
        assertThat(ctc.reason()).contains("per time step");
        var segmenter = Verdicts.resolveMetric("auto", false, new long[] {-1, 21, 64, 64}, false);
        assertThat(segmenter.perPosition()).isTrue();
        assertThat(segmenter.reason()).contains("per pixel");

        var embeddings = Verdicts.resolveMetric("auto", false, new long[] {-1, -1, 384}, true);
        assertThat(embeddings.metric()).isEqualTo("cosine");
        assertThat(embeddings.perPosition()).isFalse();
        assertThat(Verdicts.resolveMetric("auto", false, new long[] {-1, 4096}, false).metric()).isEqualTo("cosine");

        var named = Verdicts.resolveMetric("iou", false, new long[] {-1, 1, 8, 8}, false);
        assertThat(named.reason()).isEqualTo("named by the job");
        assertThat(Verdicts.confirmMap(named, -3, 3).metric()).as("a named metric is kept").isEqualTo("iou");
        assertThat(Verdicts.resolveMetric("agreement", false, new long[] {-1, 40, 6625}, false).perPosition()).isTrue();
    }
}
