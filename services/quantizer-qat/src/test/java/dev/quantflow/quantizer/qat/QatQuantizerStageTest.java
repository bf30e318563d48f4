package dev.quantflow.quantizer.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.Recipe;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaRecipe;

class QatQuantizerStageTest {

    private static final CpuFeatures AVX2_HOST = new CpuFeatures("x86_64", "Intel Xeon E5-2673 v4", 2, Set.of("avx2", "fma"));

    private static int weightBits(Recipe r) {
        return QatQuantizerStage.toQatRecipe(r, QatQuantizerStage.isaRecipe(r, AVX2_HOST)).weightBits();
    }

    @Test
    void eightBitWeightsTrainOnTheIsasGridOtherBitsAsAsked() {
        assertThat(weightBits(Recipe.newBuilder().setBits(8).build())).as("AVX2 host: 7-bit grid").isEqualTo(7);
        assertThat(weightBits(Recipe.newBuilder().setBits(8).setTargetHardwareClass("x86-avx512-vnni").build())).isEqualTo(8);
        assertThat(weightBits(Recipe.newBuilder().setBits(8).setTargetHardwareClass("arm64-dotprod").build())).isEqualTo(8);
        assertThat(weightBits(Recipe.newBuilder().setBits(4).setTargetHardwareClass("x86-avx512-vnni").build())).isEqualTo(4);
    }

    @Test
    void theSummaryShowsTheGridTheExportUses() {
        IsaRecipe avx2 = QatQuantizerStage.isaRecipe(Recipe.newBuilder().setBits(8).build(), AVX2_HOST);
        assertThat(QatQuantizerStage.isaSummary(avx2).weightRange()).containsExactly(-64, 63);
        assertThat(QatQuantizerStage.isaSummary(avx2).activationType()).isEqualTo("uint8");
        IsaRecipe w4 = QatQuantizerStage.isaRecipe(Recipe.newBuilder().setBits(4).build(), AVX2_HOST);
        assertThat(QatQuantizerStage.isaSummary(w4).weightRange()).containsExactly(-8, 7);
        assertThat(w4.reasons().get(0)).startsWith("4-bit weights: set by the recipe (bits = 4)");
        assertThat(w4.headline()).isEqualTo("recipe made for x86-avx2: 4-bit weights (set by the recipe), u8 activations");
    }
}
