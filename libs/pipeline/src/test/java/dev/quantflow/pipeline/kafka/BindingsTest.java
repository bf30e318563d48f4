package dev.quantflow.pipeline.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.Topics;

class BindingsTest {

    @Test
    void everyWorkTopicHasOneConsumerGroupAndNoGroupReadsTwoTopics() {
        List<StageHandler.Binding<?>> all = new ArrayList<>(List.of(Bindings.INTAKE, Bindings.CALIBRATION,
            Bindings.VALIDATION, Bindings.EXPORT, Bindings.EXPORT_PROFILES, Bindings.profiler("x86-avx2")));
        for (QuantMethod m : QuantMethod.values()) {
            all.add(Bindings.quantizer(m));
        }
        Map<String, String> topicOfGroup = new HashMap<>();
        for (StageHandler.Binding<?> b : all) {
            String before = topicOfGroup.putIfAbsent(b.group(), b.topic().name());
            assertThat(before == null || before.equals(b.topic().name())).as(b.group() + " reads one topic").isTrue();
        }
        for (Topics.Topic<?> t : Topics.ALL) {
            boolean consumed = all.stream().anyMatch(b -> b.topic().equals(t));
            boolean userFacing = t.equals(Topics.MODELS_READY) || t.equals(Topics.JOBS_FAILED) || t.equals(Topics.JOBS_STATUS)
                || t.equals(Topics.DEAD_LETTERS); // for operators: nothing consumes it automatically
            assertThat(consumed || userFacing).as(t.name() + " has a consumer pool").isTrue();
        }
        assertThat(Bindings.quantizer(QuantMethod.BF16).group()).isEqualTo(Bindings.quantizer(QuantMethod.FP16).group());
        assertThat(Bindings.profiler("arm64-dotprod").failsJob()).isFalse();
        assertThat(Bindings.EXPORT_PROFILES.failsJob()).isFalse();
    }
}
