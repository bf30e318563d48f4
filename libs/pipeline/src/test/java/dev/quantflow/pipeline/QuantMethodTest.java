package dev.quantflow.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

class QuantMethodTest {

    @Test
    void everyMethodHasARegisteredTopicAndEveryQuantizeTopicAPool() {
        for (QuantMethod m : QuantMethod.values()) {
            assertThat(Topics.ALL).as(m + "'s topic is created with the others").contains(m.topic());
            assertThat(m.topic().name()).startsWith("quantflow.quantize.");
        }
        Set<String> quantizeTopics = Topics.ALL.stream().map(Topics.Topic::name)
            .filter(n -> n.startsWith("quantflow.quantize.")).collect(Collectors.toSet());
        assertThat(Arrays.stream(QuantMethod.values()).map(m -> m.topic().name()).collect(Collectors.toSet()))
            .as("no quantize topic without a method").isEqualTo(quantizeTopics);
    }

    @Test
    void oneTopicIsConsumedByOnePoolOnly() {
        for (QuantMethod m : QuantMethod.values()) {
            assertThat(QuantMethod.onTopic(m.topic())).allSatisfy(other -> assertThat(other.pool()).isEqualTo(m.pool()));
        }
        assertThat(QuantMethod.onTopic(Topics.QUANTIZE_CAST)).containsExactlyInAnyOrder(QuantMethod.FP16, QuantMethod.BF16);
        assertThat(QuantMethod.onTopic(Topics.QUANTIZE_RTN)).containsExactly(QuantMethod.RTN);
    }

    @Test
    void aPoolAcceptsOnlyItsOwnMethods() {
        assertThat(QuantMethod.acceptedOn(Topics.QUANTIZE_CAST, "bf16")).isEqualTo(QuantMethod.BF16);
        assertThatThrownBy(() -> QuantMethod.acceptedOn(Topics.QUANTIZE_AWQ, "gptq"))
            .isInstanceOf(PermanentStageException.class)
            .hasMessageContaining("runs awq, not gptq").hasMessageContaining("quantizer-gptq");
    }

    @Test
    void wireNamesRoundTripAndUnknownNamesAreAPermanentError() {
        for (QuantMethod m : QuantMethod.values()) {
            assertThat(QuantMethod.of(" " + m.wireName().toUpperCase() + " ")).contains(m);
            assertThat(QuantMethod.fromPlan(m.wireName())).isSameAs(m);
        }
        assertThat(QuantMethod.of("hqq")).isEmpty();
        assertThat(QuantMethod.of(null)).isEmpty();
        assertThatThrownBy(() -> QuantMethod.fromPlan("hqq")).isInstanceOf(PermanentStageException.class)
            .hasMessageContaining("hqq").hasMessageContaining("gptq")
            .satisfies(e -> assertThat(((PermanentStageException) e).reasonCode()).isEqualTo(ReasonCodes.UNSUPPORTED_METHOD));
    }

    @Test
    void calibrationDependsOnTheMethodAndOnTheDataGiven() {
        assertThat(QuantMethod.STATIC.calibrates(true)).isTrue();
        assertThat(QuantMethod.GPTQ.calibrates(false)).isTrue();
        assertThat(QuantMethod.DYNAMIC.calibrates(true)).isTrue();
        assertThat(QuantMethod.DYNAMIC.calibrates(false)).isFalse();
        assertThat(QuantMethod.RTN.calibrates(true)).isFalse();
        assertThat(QuantMethod.DYNAMIC.requiresCalibrationData()).isFalse();
        assertThat(QuantMethod.AWQ.requiresCalibrationData()).isTrue();
        assertThat(QuantMethod.GPTQ.statistics()).isEqualTo(QuantMethod.AWQ.statistics());
        assertThat(QuantMethod.RTN.isLlm()).isTrue();
        assertThat(QuantMethod.QAT.needsTrainingData()).isTrue();
    }

    @Test
    void precisionLabelsFollowFamilyAndBits() {
        assertThat(QuantMethod.STATIC.precisionLabel(8)).isEqualTo("INT8");
        assertThat(QuantMethod.GPTQ.precisionLabel(4)).isEqualTo("INT4");
        assertThat(QuantMethod.RTN.precisionLabel(8)).isEqualTo("INT8");
        assertThat(QuantMethod.QAT.precisionLabel(3)).isEqualTo("W3A8");
        assertThat(QuantMethod.QAT.precisionLabel(8)).isEqualTo("INT8");
        assertThat(QuantMethod.BF16.precisionLabel(16)).isEqualTo("BF16");
        assertThat(QuantMethod.GPTQ.defaultBits()).isEqualTo(4);
        assertThat(QuantMethod.GPTQ.defaultBlockSize()).isEqualTo(128);
        assertThat(QuantMethod.GPTQ.allowsBits(3)).isFalse();
    }
}
