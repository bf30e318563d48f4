package dev.quantflow.quantizer.dynamic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaRecipe;

class DynamicQuantizerStageTest {

    private static final CpuFeatures VNNI_HOST = new CpuFeatures("x86_64", "AMD EPYC 9B45", 2,
        Set.of("avx2", "avx512f", "avx512_vnni", "avx_vnni"));

    @Test
    void theWeightRangeFollowsTheTargetClassElseTheHostAndActivationsStayU8() {
        Recipe avx2 = Recipe.newBuilder().setTargetHardwareClass("x86-avx2").setExcludedNodes(List.of("mm1")).build();
        IsaRecipe avx2Isa = DynamicQuantizerStage.isaRecipe(avx2, VNNI_HOST);
        var forAvx2 = DynamicQuantizerStage.toDynamicRecipe(avx2, avx2Isa);
        assertThat(forAvx2.reduceRangeWeights()).isTrue();
        assertThat(forAvx2.excludedNodes()).containsExactly("mm1");

        Recipe none = Recipe.newBuilder().setActivationType("int8").build();
        IsaRecipe hostIsa = DynamicQuantizerStage.isaRecipe(none, VNNI_HOST);
        assertThat(DynamicQuantizerStage.toDynamicRecipe(none, hostIsa).reduceRangeWeights()).isFalse();
        assertThat(hostIsa.source()).isEqualTo("host");
        assertThat(hostIsa.activationLabel()).as("DynamicQuantizeLinear is uint8 only").isEqualTo("u8");
        assertThat(hostIsa.reasons().get(1)).contains("DynamicQuantizeLinear");
        assertThat(DynamicQuantizerStage.isaSummary(hostIsa).weightRange()).containsExactly(-127, 127);

        Recipe arm = Recipe.newBuilder().setTargetHardwareClass("arm64-i8mm").setReduceRangeWeights(true).build();
        assertThat(DynamicQuantizerStage.toDynamicRecipe(arm, DynamicQuantizerStage.isaRecipe(arm, VNNI_HOST))
            .reduceRangeWeights()).as("the user's value wins").isTrue();
    }

    @Test
    void anUnknownClassIsAPermanentFailure() {
        assertThatThrownBy(() -> DynamicQuantizerStage.isaRecipe(Recipe.newBuilder().setTargetHardwareClass("gpu").build(),
            VNNI_HOST)).isInstanceOf(PermanentStageException.class).hasMessageContaining("'gpu'");
    }

    @Test
    void theRecipesGraphFormatWinsOverTheConfigAndAutoMeasures() {
        assertThat(DynamicQuantizerStage.forcedForm("", "auto")).as("measured").isNull();
        assertThat(DynamicQuantizerStage.forcedForm("", "integer_ops"))
            .isEqualTo(dev.quantflow.quant.dynamic.DynamicGraphForm.INTEGER_OPS);
        assertThat(DynamicQuantizerStage.forcedForm("INTEGER_OPS", "ort_contrib"))
            .isEqualTo(dev.quantflow.quant.dynamic.DynamicGraphForm.INTEGER_OPS);
        assertThat(DynamicQuantizerStage.forcedForm("ort-contrib", "auto"))
            .isEqualTo(dev.quantflow.quant.dynamic.DynamicGraphForm.ORT_CONTRIB);
        assertThat(DynamicQuantizerStage.forcedForm("auto", "qdq")).as("auto in the recipe is no choice").isNull();
        assertThatThrownBy(() -> DynamicQuantizerStage.forcedForm("matmulnbits", "auto"))
            .isInstanceOf(PermanentStageException.class).hasMessageContaining("'matmulnbits'");
    }

    @Test
    void theFormReasonIsOneMoreIsaReason() {
        IsaRecipe isa = DynamicQuantizerStage.isaRecipe(Recipe.newBuilder().build(), VNNI_HOST);
        assertThat(DynamicQuantizerStage.isaSummary(isa, "graph form ORT_CONTRIB measured").reasons())
            .hasSize(isa.reasons().size() + 1).last().isEqualTo("graph form ORT_CONTRIB measured");
    }
}
