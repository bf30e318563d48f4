package dev.quantflow.quant.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quantflow.quant.QuantizationException;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LlmQuantRecipeTest {

    private static final LlmQuantRecipe BASE = new LlmQuantRecipe(LlmQuantRecipe.Method.AWQ, 4, 64, false, false, 0.01,
        LlmQuantRecipe.Format.MATMUL_NBITS, Set.of("a"), Set.of("b"), true, 4, true);

    @Test
    void eachWitherChangesOnlyItsOwnComponent() {
        var blocked = LlmQuantRecipe.Format.QDQ_BLOCKED;
        assertThat(BASE.withBits(3)).isEqualTo(new LlmQuantRecipe(BASE.method(), 3, 64, false, false, 0.01,
            BASE.format(), Set.of("a"), Set.of("b"), true, 4, true));
        assertThat(BASE.withBlockSize(128)).isEqualTo(new LlmQuantRecipe(BASE.method(), 4, 128, false, false, 0.01,
            BASE.format(), Set.of("a"), Set.of("b"), true, 4, true));
        assertThat(BASE.withSymmetric(true).symmetric()).isTrue();
        assertThat(BASE.withActOrder(true).actOrder()).isTrue();
        assertThat(BASE.withPercDamp(0.1).percDamp()).isEqualTo(0.1);
        assertThat(BASE.withFormat(blocked).format()).isEqualTo(blocked);
        assertThat(BASE.withKeepFp32(Set.of("x")).keepFp32()).containsExactly("x");
        assertThat(BASE.withEightBitNodes(Set.of("y")).eightBitNodes()).containsExactly("y");
        assertThat(BASE.withQuantizeLmHead(false).quantizeLmHead()).isFalse();
        assertThat(BASE.withAccuracyLevel(0).accuracyLevel()).isZero();
        assertThat(BASE.withAwqClip(false)).isEqualTo(new LlmQuantRecipe(BASE.method(), 4, 64, false, false, 0.01,
            BASE.format(), Set.of("a"), Set.of("b"), true, 4, false));
        // the single-component withers leave every other component alone
        assertThat(BASE.withSymmetric(true).withSymmetric(false)).isEqualTo(BASE);
        assertThat(BASE.withFormat(blocked).withFormat(BASE.format())).isEqualTo(BASE);
    }

    @Test
    void withersStillGoThroughTheChecks() {
        assertThatThrownBy(() -> BASE.withBits(9)).isInstanceOf(QuantizationException.class);
        assertThatThrownBy(() -> BASE.withBlockSize(48)).isInstanceOf(QuantizationException.class);
        assertThatThrownBy(() -> BASE.withAccuracyLevel(5)).isInstanceOf(QuantizationException.class);
    }
}
