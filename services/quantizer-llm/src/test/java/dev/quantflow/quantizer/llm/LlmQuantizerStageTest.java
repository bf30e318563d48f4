package dev.quantflow.quantizer.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.store.ArtifactStore;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

class LlmQuantizerStageTest {

    @Test
    void aPoolRefusesEveryOtherMethodAsUnsupportedAndSaysWhichPoolGotWhat() {
        // No store: a refused event must fail before anything is loaded.
        LlmQuantizerStage gptqPool = new LlmQuantizerStage(QuantMethod.GPTQ, null);
        for (QuantMethod other : List.of(QuantMethod.AWQ, QuantMethod.RTN, QuantMethod.STATIC)) {
            assertThatThrownBy(() -> gptqPool.handle(planned(other.wireName()), null))
                .isInstanceOfSatisfying(PermanentStageException.class, e -> {
                    assertThat(e.reasonCode()).isEqualTo(ReasonCodes.UNSUPPORTED_METHOD);
                    assertThat(e.getMessage()).contains("quantizer-gptq pool runs gptq only", "planned for " + other,
                        "pool " + other.pool(), "on quantflow.quantize.gptq.requested");
                });
        }
        assertThatThrownBy(() -> new LlmQuantizerStage(QuantMethod.RTN, null).handle(planned("gptq-2"), null))
            .isInstanceOfSatisfying(PermanentStageException.class,
                e -> assertThat(e.reasonCode()).isEqualTo(ReasonCodes.UNSUPPORTED_METHOD));
        assertThat(new LlmQuantizerStage(QuantMethod.AWQ, null).acceptedMethod(" AWQ ")).isEqualTo(QuantMethod.AWQ);
    }

    @Test
    void theConfiguredMethodPicksTopicAndGroupFromTheRegistry() {
        for (String name : List.of("gptq", "awq", "rtn")) {
            SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(LlmQuantizerConfig.class)
                .withSources(new EnvConfigSource(Map.of("QUANTFLOW_LLM_METHOD", name), 300)).build();
            QuantMethod method = config.getConfigMapping(LlmQuantizerConfig.class).method();
            assertThat(method.wireName()).isEqualTo(name);
            var binding = new LlmQuantizerStage(method, null).binding();
            assertThat(binding.topic()).isEqualTo(method.topic());
            assertThat(binding.group()).isEqualTo("quantizer-" + name);
        }
        assertThat(new LlmQuantizerStage(QuantMethod.RTN, null).topic()).isEqualTo(Topics.QUANTIZE_RTN);
        assertThatThrownBy(() -> new LlmQuantizerStage(QuantMethod.STATIC, null))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gptq, awq, rtn");
    }

    private static QuantizeRequested planned(String method) {
        ArtifactRef model = ArtifactStore.ref("quantflow", "jobs/j1/input/model.onnx", "00", 1, "application/onnx");
        return QuantizeRequested.newBuilder()
            .setHeader(EventHeader.newBuilder().setEventId("e1").setJobId("j1").setAttempt(1).setOccurredAt(Instant.now())
                .setProducer("test").setProducerVersion("1").build())
            .setContext(JobContext.newBuilder()
                .setInputs(JobInputs.newBuilder().setModel(model).build())
                .setPlan(JobPlan.newBuilder().setMethod(method).setRecipe(Recipe.newBuilder().build()).build())
                .build())
            .build();
    }
}
