package dev.quantflow.intake.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.intake.config.IntakeConfig;

class JobPlanTest {

    static JobSubmitter submitter() {
        JobSubmitter s = new JobSubmitter();
        s.config = new IntakeConfig() {
            @Override
            public double defaultMaxRelativeDrop() {
                return 0.02;
            }

            @Override
            public int defaultMaxAttempts() {
                return 4;
            }

            @Override
            public Duration defaultTimeBudget() {
                return Duration.ofMinutes(30);
            }

            @Override
            public Duration downloadLinkExpiry() {
                return Duration.ofHours(1);
            }
        };
        return s;
    }

    @Test
    void defaultsFillWhatTheRequestLeavesOut() {
        var plan = submitter().plan(new JobOptions(null, null, null, null, null));
        assertThat(plan.getMethod()).isEqualTo("static");
        assertThat(plan.getMaxRelativeDrop()).isEqualTo(0.02);
        assertThat(plan.getMaxAttempts()).isEqualTo(4);
        assertThat(plan.getRecipe().getExcludedNodes()).isEmpty();
        assertThat(plan.getDeadline()).isBetween(java.time.Instant.now().plusSeconds(29 * 60), java.time.Instant.now().plusSeconds(31 * 60));
        assertThat(plan.getFallbackMethods()).isEmpty(); // static is the only method with a pool so far
        assertThat(plan.getMaxSizeRatio()).isNull();
    }

    @Test
    void autoSaysWhyAndExclusionsReachTheRecipe() {
        var plan = submitter().plan(new JobOptions("x", "AUTO", 0.01, 3, List.of("fc2")));
        assertThat(plan.getMethod()).isEqualTo("static");
        assertThat(plan.getMethodReason()).contains("auto");
        assertThat(plan.getRecipe().getExcludedNodes()).containsExactly("fc2");
        assertThat(plan.getMaxAttempts()).isEqualTo(3);
    }

    @Test
    void invalidOptionsAreRefused() {
        assertThatThrownBy(() -> submitter().plan(new JobOptions(null, "gptq", null, null, null)))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.code()).isEqualTo("UNSUPPORTED_METHOD");
                assertThat(e.getMessage()).contains("static");
            });
        assertThatThrownBy(() -> submitter().plan(new JobOptions(null, null, 1.5, null, null)))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.status()).isEqualTo(400));
        assertThatThrownBy(() -> submitter().plan(new JobOptions(null, null, null, 0, null)))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.status()).isEqualTo(400));
        assertThatThrownBy(() -> submitter().plan(new JobOptions(null, null, null, null, null, 0, null)))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("timeBudgetSeconds"));
        assertThatThrownBy(() -> submitter().plan(new JobOptions(null, null, null, null, null, null, 1.5)))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("maxSizeRatio"));
    }
}
