package dev.quantflow.runtime.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;

import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.DatasetException;
import org.junit.jupiter.api.Test;

class DecodeSpeedTest {

    private static final TinyLm LM = new TinyLm(9, false);
    private static final long[] PROMPT = {1, 4, 2};

    /** Greedy decoding by the Java forward pass: re-run the whole sequence, take the argmax at the last position. */
    private static long[] expectedGreedy(int count) {
        long[] seq = Arrays.copyOf(PROMPT, PROMPT.length + count);
        for (int i = 0; i < count; i++) {
            int len = PROMPT.length + i;
            float[] logits = LM.forward(Arrays.copyOf(seq, len), 1, len).logits();
            int best = 0;
            for (int v = 1; v < TinyLm.V; v++) {
                if (logits[(len - 1) * TinyLm.V + v] > logits[(len - 1) * TinyLm.V + best]) {
                    best = v;
                }
            }
            seq[len] = best;
        }
        return Arrays.copyOfRange(seq, PROMPT.length, PROMPT.length + count);
    }

    @Test
    void generatesTheGreedyTokensAndReportsTimings() {
        DecodeSpeedResult r = DecodeSpeed.measure(LM.onnx(null, null), PROMPT,
            DecodeSpeedOptions.defaults().withGeneratedTokens(6).withWarmupTokens(2).withPrefillRuns(3).withContext(10));

        assertThat(r.generated()).containsExactly(expectedGreedy(6));
        assertThat(r.promptTokens()).isEqualTo(3);
        assertThat(r.tokensPerSecond()).isPositive();
        assertThat(r.p50Ms()).isPositive().isLessThanOrEqualTo(r.p95Ms());
        assertThat(r.tokensPerSecond()).isCloseTo(1000.0 / r.meanMs(), org.assertj.core.data.Percentage.withPercentage(1e-6));
        assertThat(r.prefillTokens()).isEqualTo(10);
        assertThat(r.prefillTokensPerSecond()).isCloseTo(10 * 1000.0 / r.prefillP50Ms(),
            org.assertj.core.data.Percentage.withPercentage(1e-6));
        assertThat(r.intraOpThreads()).isEqualTo(1);
    }

    @Test
    void theSequenceMustFitTheContext() {
        DecodeSpeedResult fits = DecodeSpeed.measure(LM.onnx(null, null), PROMPT,
            DecodeSpeedOptions.defaults().withGeneratedTokens(8).withWarmupTokens(0).withPrefillRuns(1).withContext(10));
        assertThat(fits.generated()).hasSize(8);

        assertThatThrownBy(() -> DecodeSpeed.measure(LM.onnx(null, null), PROMPT,
                DecodeSpeedOptions.defaults().withGeneratedTokens(9).withContext(10)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("needs 11 positions").hasMessageContaining("context is 10");
    }

    @Test
    void refusesAFixedSequenceLengthAnUnknownContextAndForeignTokens() {
        assertThatThrownBy(() -> DecodeSpeed.measure(LM.onnx(null, 8), PROMPT, DecodeSpeedOptions.defaults()))
            .isInstanceOf(ModelRunException.class).hasMessageContaining("fixed sequence length of 8");
        assertThatThrownBy(() -> DecodeSpeed.measure(LM.onnx(null, null), PROMPT, DecodeSpeedOptions.defaults()))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("give the context length");
        assertThatThrownBy(() -> DecodeSpeed.measure(LM.onnx(null, null), new long[] {1, 99},
                DecodeSpeedOptions.defaults().withContext(64)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("token id 99");
        assertThatThrownBy(() -> DecodeSpeed.measure(LM.onnx(null, null), new long[0],
                DecodeSpeedOptions.defaults().withContext(64)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("empty");
    }
}
