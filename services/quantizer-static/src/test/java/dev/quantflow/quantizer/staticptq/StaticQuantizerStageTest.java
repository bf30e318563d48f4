package dev.quantflow.quantizer.staticptq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.quant.qdq.ActivationType;

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
}
