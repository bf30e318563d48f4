package dev.quantflow.quantizer.staticptq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.quant.qdq.NodeDecision;

class StaticQuantizerStageTest {

    @Test
    void recipeMapsToTheQuantizersRecipe() {
        var r = StaticQuantizerStage.toStaticRecipe(Recipe.newBuilder().setExcludedNodes(List.of("conv1", "fc2"))
            .setActivationType("int8").build());
        assertThat(r.excludedNodes()).containsExactlyInAnyOrder("conv1", "fc2");
        assertThat(r.activationType()).isEqualTo(ActivationType.INT8);
        assertThat(r.perChannelWeights()).isTrue();
        assertThat(StaticQuantizerStage.toStaticRecipe(Recipe.newBuilder().build()).activationType())
            .isEqualTo(ActivationType.UINT8);
    }

    @Test
    void unsupportedTypesAreAPermanentFailureWithAReason() {
        assertThatThrownBy(() -> StaticQuantizerStage.toStaticRecipe(Recipe.newBuilder().setWeightType("int4").build()))
            .isInstanceOf(PermanentStageException.class).hasMessageContaining("int4");
        assertThatThrownBy(() -> StaticQuantizerStage.toStaticRecipe(Recipe.newBuilder().setActivationType("fp8").build()))
            .isInstanceOf(PermanentStageException.class).hasMessageContaining("fp8");
    }

    @Test
    void theSummaryListsEveryNodeAndAKeptNodeCarriesTheDebugLoopsReason() throws Exception {
        var summary = StaticQuantizerStage.summary(List.of(new NodeDecision("/conv1/Conv", "Conv", true, "int8"),
                new NodeDecision("/fc/Gemm", "Gemm", false, "excluded"), new NodeDecision("/Flatten", "Flatten", false, "no int8 kernel")),
            Map.of("/fc/Gemm", "sensitive: layer SQNR 12.0 dB"), 1000, 300);
        JsonNode json = StageJson.MAPPER.readTree(StageJson.write(summary));
        assertThat(json.get("fp32SizeBytes").asLong()).isEqualTo(1000);
        assertThat(json.get("quantizedSizeBytes").asLong()).isEqualTo(300);
        assertThat(json.at("/quantizedNodes/0/node").asText()).isEqualTo("/conv1/Conv");
        assertThat(json.at("/quantizedNodes/0/quantized").asBoolean()).isTrue();
        assertThat(json.at("/keptFloatNodes/0/reason").asText()).isEqualTo("sensitive: layer SQNR 12.0 dB");
        assertThat(json.at("/keptFloatNodes/1/reason").asText()).isEqualTo("no int8 kernel");
        assertThat(json.has("method")).as("static summaries never had a method key").isFalse();
    }
}
