package dev.quantflow.intake.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.contracts.JobOptions;
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
                return Duration.ofMinutes(15);
            }

            @Override
            public io.quarkus.runtime.configuration.MemorySize maxUploadSize() {
                return new io.quarkus.runtime.configuration.MemorySize(java.math.BigInteger.valueOf(1L << 30));
            }

            @Override
            public io.quarkus.runtime.configuration.MemorySize workerMemoryBudget() {
                return new io.quarkus.runtime.configuration.MemorySize(java.math.BigInteger.valueOf(8L << 30));
            }
        };
        return s;
    }

    @Test
    void defaultsFillWhatTheRequestLeavesOut() {
        var plan = submitter().plan(JobOptions.builder().build(), cnn(), true);
        assertThat(plan.getMethod()).isEqualTo("static");
        assertThat(plan.getMaxRelativeDrop()).isEqualTo(0.02);
        assertThat(plan.getMaxAttempts()).isEqualTo(4);
        assertThat(plan.getRecipe().getExcludedNodes()).isEmpty();
        assertThat(plan.getDeadline()).isBetween(java.time.Instant.now().plusSeconds(29 * 60), java.time.Instant.now().plusSeconds(31 * 60));
        assertThat(plan.getFallbackMethods()).containsExactly("fp16");
        assertThat(plan.getMetric()).isEqualTo("auto");
        assertThat(plan.getMaxSizeRatio()).isNull();
    }

    @Test
    void autoSaysWhyAndExclusionsReachTheRecipe() {
        var plan = submitter().plan(JobOptions.builder().name("x").method("AUTO").maxRelativeDrop(0.01).maxAttempts(3).excludedNodes(List.of("fc2")).build(), cnn(), true);
        assertThat(plan.getMethod()).isEqualTo("static");
        assertThat(plan.getMethodReason()).contains("auto").contains("Conv");
        assertThat(plan.getRecipe().getExcludedNodes()).containsExactly("fc2");
        assertThat(plan.getMaxAttempts()).isEqualTo(3);
    }

    @Test
    void invalidOptionsAreRefused() {
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().method("hqq").build(), null, true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.code()).isEqualTo("UNSUPPORTED_METHOD");
                assertThat(e.getMessage()).contains("static").contains("dynamic").contains("fp16").contains("gptq").contains("qat");
            });
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().maxRelativeDrop(1.5).build(), null, true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.status()).isEqualTo(400));
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().maxAttempts(0).build(), null, true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.status()).isEqualTo(400));
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().timeBudgetSeconds(0).build(), null, true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("timeBudgetSeconds"));
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().maxSizeRatio(1.5).build(), null, true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("maxSizeRatio"));
    }

    @Test
    void theTargetHardwareClassReachesTheRecipeAndAnUnknownOneIsRefused() {
        var plan = submitter().plan(JobOptions.builder().method("static").targetHardwareClass(" X86-AVX512-VNNI ").build(),
            null, true);
        assertThat(plan.getRecipe().getTargetHardwareClass()).isEqualTo("x86-avx512-vnni");
        assertThat(plan.getRecipe().getActivationType()).as("left to the ISA").isEmpty();
        assertThat(plan.getRecipe().getReduceRangeWeights()).isNull();
        assertThat(submitter().plan(JobOptions.builder().method("static").build(), null, true).getRecipe()
            .getTargetHardwareClass()).as("none: the quantizer's CPU").isEmpty();
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().method("static").targetHardwareClass("x86-avx3").build(),
            null, true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.status()).isEqualTo(400);
                assertThat(e.getMessage()).contains("targetHardwareClass").contains("'x86-avx3'").contains("x86-avx2");
            });
    }

    static dev.quantflow.onnx.OnnxModel cnn() {
        return fixtureModel("fashion-cnn");
    }

    /** {@code fixtures/<dir>/model.onnx}, parsed. */
    static dev.quantflow.onnx.OnnxModel fixtureModel(String dir) {
        try {
            return dev.quantflow.onnx.OnnxModel.parse(java.nio.file.Files.readAllBytes(
                java.nio.file.Path.of("../../fixtures", dir, "model.onnx")));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void autoSendsEncodersToDynamicWithFallbacksAndStaticNeedsCalibration() throws Exception {
        try (var in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            var minilm = dev.quantflow.onnx.OnnxModel.parse(in.readAllBytes());
            var plan = submitter().plan(JobOptions.builder().method("auto").build(), minilm, true);
            assertThat(plan.getMethod()).isEqualTo("dynamic");
            assertThat(plan.getMethodReason()).contains("encoder");
            assertThat(plan.getFallbackMethods()).containsExactly("static", "fp16");
            assertThat(submitter().plan(JobOptions.builder().method("auto").build(), minilm, false).getFallbackMethods())
                .containsExactly("fp16");
        }
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().method("static").build(), cnn(), false))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.code()).isEqualTo("MISSING_INPUT"));
        assertThat(submitter().plan(JobOptions.builder().method("fp16").build(), cnn(), false).getMethod()).isEqualTo("fp16");
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().metric("bleu").build(), null, true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("metric"));
    }

    @Test
    void iouIsAMetricAndAnUnknownNameIsRefusedWithTheValidOnes() {
        var plan = submitter().plan(JobOptions.builder().metric(" IoU ").metricThreshold(0.95).build(), cnn(), true);
        assertThat(plan.getMetric()).isEqualTo("iou");
        assertThat(plan.getMetricThreshold()).isEqualTo(0.95);
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().metric("dice").build(), cnn(), true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.status()).isEqualTo(400);
                assertThat(e.code()).isEqualTo("INVALID_REQUEST");
                assertThat(e.getMessage()).contains("'dice'")
                    .contains("auto, top1, agreement, cosine, mse, iou, perplexity");
            });
    }

    static dev.quantflow.onnx.OnnxModel gpt() {
        return fixtureModel("gpt");
    }

    private static JobOptions withLlm(String method, Integer bits, Integer blockSize, String metric) {
        return JobOptions.builder().method(method).metric(metric).bits(bits).blockSize(blockSize).build();
    }

    @Test
    void autoSendsCausalLmsToTheFourBitPath() {
        var withCalibration = submitter().plan(withLlm("auto", null, null, null), gpt(), true);
        assertThat(withCalibration.getMethod()).isEqualTo("gptq");
        assertThat(withCalibration.getMethodReason()).contains("causal LM");
        assertThat(withCalibration.getFallbackMethods()).containsExactly("awq");
        assertThat(withCalibration.getMetric()).isEqualTo("perplexity");
        assertThat(withCalibration.getRecipe().getBits()).isEqualTo(4);
        assertThat(withCalibration.getRecipe().getBlockSize()).isEqualTo(128);
        var without = submitter().plan(withLlm("auto", null, null, null), gpt(), false);
        assertThat(without.getMethod()).isEqualTo("rtn");
        assertThat(without.getMethodReason()).contains("no calibration");
        assertThatThrownBy(() -> submitter().plan(withLlm("awq", null, null, null), gpt(), false))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.code()).isEqualTo("MISSING_INPUT"));
    }

    @Test
    void autoWithFourBitsPassesThePreCheckBeforeTheModelIsKnown() {
        // the options are checked before the model is parsed: "auto" may still turn out to be an LLM method
        submitter().plan(withLlm("auto", 4, null, null), null, true);
        assertThat(submitter().plan(withLlm("auto", 4, null, null), gpt(), true).getMethod()).isEqualTo("gptq");
        assertThatThrownBy(() -> submitter().plan(withLlm("auto", 4, null, null), cnn(), true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("8 bits"));
    }

    @Test
    void llmOptionsAreChecked() {
        assertThat(submitter().plan(withLlm("gptq", 8, 64, "perplexity"), gpt(), true).getRecipe().getBlockSize()).isEqualTo(64);
        assertThatThrownBy(() -> submitter().plan(withLlm("gptq", 3, null, null), gpt(), true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("bits"));
        assertThatThrownBy(() -> submitter().plan(withLlm("gptq", 4, 100, null), gpt(), true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("power of two"));
        assertThatThrownBy(() -> submitter().plan(withLlm("gptq", 4, null, "top1"), gpt(), true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("perplexity"));
        assertThatThrownBy(() -> submitter().plan(withLlm("static", 4, null, null), cnn(), true))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("8 bits"));
    }

    @Test
    void retrainingWithTrainingDataGoesToQat() {
        var options = JobOptions.builder().bits(4).allowRetraining(true).build();
        var plan = submitter().plan(options, cnn(), new MethodSelection.Inputs(true, true, true));
        assertThat(plan.getMethod()).isEqualTo("qat");
        assertThat(plan.getRecipe().getBits()).isEqualTo(4);
        assertThat(plan.getRecipe().getTraining()).isNotNull();
        assertThat(plan.getAllowRetraining()).isTrue();
        // a static job may escalate to QAT when retraining is allowed
        var staticPlan = submitter().plan(JobOptions.builder().method("static").allowRetraining(true).build(),
            cnn(), new MethodSelection.Inputs(true, true, true));
        assertThat(staticPlan.getFallbackMethods()).containsExactly("qat", "fp16");
        // qat without training data or permission is refused with the reason
        assertThatThrownBy(() -> submitter().plan(JobOptions.builder().method("qat").build(), cnn(),
            new MethodSelection.Inputs(true, false, false)))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("training data"));
    }
}
