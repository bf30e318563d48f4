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
}
