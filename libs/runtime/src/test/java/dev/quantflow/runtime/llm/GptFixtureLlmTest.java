package dev.quantflow.runtime.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.llm.LayerInputStats;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.text.TextDatasets;
import dev.quantflow.runtime.text.TextOptions;
import dev.quantflow.runtime.text.TextSample;
import dev.quantflow.runtime.text.TokenizedText;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tiny GPT fixture ({@code fixtures/gpt}, made by its train.py): 4 pre-LN blocks, d_model 256, FFN 1024, context
 * 128, every Linear a {@code MatMul(x, W[k, n])} with separate q/k/v. Checks the LLM tools against the values torch
 * computed ({@code expected_logits.npz}: the logits of the first two held-out windows) and prints the fp32 numbers
 * (perplexity, calibration time, decode speed) that the quantized models are compared with.
 */
class GptFixtureLlmTest {

    private static final Path DIR = Path.of("../../fixtures/gpt");
    private static final int CONTEXT = 128;
    private static final int LAYERS = 4;

    private static byte[] model;
    private static long[] heldout;
    private static NpzArchive calib;
    private static NpzArchive expected;

    @BeforeAll
    static void load() throws IOException {
        model = Files.readAllBytes(DIR.resolve("model.onnx"));
        heldout = NpzArchive.read(DIR.resolve("heldout.npz")).array("tokens").toLongs();
        calib = NpzArchive.read(DIR.resolve("calib.npz"));
        expected = NpzArchive.read(DIR.resolve("expected_logits.npz"));
    }

    /**
     * The expected logits are torch's for windows {@code heldout[0, 128)} and {@code heldout[128, 256)}: exactly the
     * first two perplexity windows, whose targets are {@code heldout[1, 257)}. The mean NLL over them, computed here
     * from torch's logits, must equal what {@link Perplexity} computes from ONNX Runtime's.
     */
    @Test
    void perplexityOfTheFirstTwoWindowsMatchesTorchsLogits() {
        NdArray ids = expected.array("input_ids");
        assertThat(ids.toLongs()).containsExactly(Arrays.copyOf(heldout, 2 * CONTEXT));
        float[] logits = expected.array("logits").toFloats();
        int vocab = Math.toIntExact(expected.array("logits").shape()[2]);
        double sum = 0;
        for (int p = 0; p < 2 * CONTEXT; p++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, logits[p * vocab + v]);
            }
            double z = 0;
            for (int v = 0; v < vocab; v++) {
                z += Math.exp(logits[p * vocab + v] - max);
            }
            sum += max + Math.log(z) - logits[p * vocab + (int) heldout[p + 1]];
        }
        double torchMeanNll = sum / (2 * CONTEXT);

        PerplexityResult r = Perplexity.evaluate(model, heldout, PerplexityOptions.defaults().withContext(CONTEXT)
            .withMaxWindows(2));

        System.out.printf("gpt fixture, first 2 windows: mean NLL %.6f (ORT) vs %.6f (torch logits)%n", r.meanNll(), torchMeanNll);
        assertThat(r.tokens()).isEqualTo(2 * CONTEXT);
        assertThat(r.meanNll()).isCloseTo(torchMeanNll, within(1e-4));
    }

    /** The first 16 windows (2048 tokens) keep the test short; the whole held-out set gives the reported number. */
    @Test
    void heldOutPerplexity() {
        PerplexityResult r = Perplexity.evaluate(model, heldout, PerplexityOptions.defaults().withContext(CONTEXT)
            .withMaxWindows(16));

        System.out.printf("gpt fixture fp32 perplexity %.4f (mean NLL %.5f) over %d windows of %d = %d tokens, %.2f s%n",
            r.perplexity(), r.meanNll(), r.windows(), r.context(), r.tokens(), r.seconds());
        assertThat(r.windows()).isEqualTo(16);
        int vocab = Math.toIntExact(expected.array("logits").shape()[2]);
        // A trained model must beat guessing uniformly over the vocabulary by far.
        assertThat(r.perplexity()).isGreaterThan(1).isLessThan(vocab / 4.0);
    }

    /** 8 of the 32 windows keep the test short (the XᵀX update of the four k = 1024 tensors dominates). */
    @Test
    void calibrationCapturesEveryLinearInputOnce() throws IOException {
        LlmCalibrationResult r = LlmCalibration.run(model, calib, LlmCalibrationOptions.defaults().withMaxWindows(8),
            ProgressListener.NONE);

        System.out.print("gpt fixture calibration: " + r.summary());
        List<CapturePoint> points = r.points();
        // Per block: LN1 output (q, k, v), attention output (o), LN2 output (fc1), GELU output (fc2); then lm_head.
        assertThat(points).hasSize(4 * LAYERS + 1);
        assertThat(points.stream().filter(p -> p.weights().size() == 3)).hasSize(LAYERS);
        assertThat(points.stream().filter(p -> p.k() == 1024)).hasSize(LAYERS);
        assertThat(points.stream().mapToInt(p -> p.weights().size()).sum()).isEqualTo(6 * LAYERS + 1);
        assertThat(r.tokens()).isEqualTo(8L * CONTEXT);
        for (LayerInputStats s : r.stats().values()) {
            assertThat(s.rows()).isEqualTo(8L * CONTEXT);
            assertThat(s.sampleRows()).isEqualTo(LlmCalibrationOptions.DEFAULT_MAX_SAMPLE_ROWS);
            double[] h = s.hessian();
            for (int i = 0; i < s.k(); i++) {
                assertThat(h[i * s.k() + i]).isFinite().isGreaterThanOrEqualTo(0);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        r.artifact().write(out);
        System.out.printf("gpt fixture calibration artifact: %d bytes%n", out.size());
        assertThat(OnnxModel.parse(model).initializerNames())
            .containsAll(points.stream().flatMap(p -> p.weights().stream()).toList());
    }

    /** The text path: calib.txt lines tokenized with the fixture's tokenizer.json, padded to 128, then calibrated. */
    @Test
    void calibrationRunsOnTokenizedText() {
        List<TextSample> lines = TextDatasets.readLines(DIR.resolve("calib.txt")).subList(0, 4);
        TokenizedText text = TextDatasets.encode(OnnxModel.parse(model), DIR.resolve("tokenizer.json"), lines,
            TextOptions.defaults().withMaxLength(CONTEXT));

        LlmCalibrationResult r = LlmCalibration.run(model, text, LlmCalibrationOptions.defaults().withMaxSampleRows(0),
            ProgressListener.NONE);

        assertThat(r.windows()).isEqualTo(4);
        assertThat(r.tokens()).isEqualTo(4L * CONTEXT);
        assertThat(r.stats()).hasSize(4 * LAYERS + 1);
    }

    /**
     * The model is causal, so torch's logits at position 15 of the first window score the token after the first 16
     * held-out tokens: greedy decoding from that prompt must start with their argmax.
     */
    @Test
    void decodeSpeed() {
        long[] prompt = Arrays.copyOf(heldout, 16);
        DecodeSpeedResult r = DecodeSpeed.measure(model, prompt, DecodeSpeedOptions.defaults().withContext(CONTEXT)
            .withGeneratedTokens(16));

        System.out.printf("gpt fixture decode (batch 1, 1 thread, no KV cache, prompt 16, %d new): %.1f tokens/s, "
                + "p50 %.3f ms, p95 %.3f ms; prefill of %d tokens: %.0f tokens/s (p50 %.3f ms)%n",
            r.generated().length, r.tokensPerSecond(), r.p50Ms(), r.p95Ms(), r.prefillTokens(), r.prefillTokensPerSecond(),
            r.prefillP50Ms());
        float[] logits = expected.array("logits").toFloats();
        int vocab = Math.toIntExact(expected.array("logits").shape()[2]);
        int best = 0;
        for (int v = 1; v < vocab; v++) {
            if (logits[15 * vocab + v] > logits[15 * vocab + best]) {
                best = v;
            }
        }
        assertThat(r.generated()[0]).isEqualTo(best);
        assertThat(r.generated()).hasSize(16);
    }
}
