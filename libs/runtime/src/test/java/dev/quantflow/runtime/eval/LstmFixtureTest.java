package dev.quantflow.runtime.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelFixture;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.text.TextDatasets;
import dev.quantflow.runtime.text.TextOptions;
import dev.quantflow.runtime.text.TextSample;
import dev.quantflow.runtime.text.TokenizedText;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The LSTM fixture ({@code fixtures/lstm}, made by its train.py): KJV verse → one of six parts of the Bible, input
 * {@code input_ids} int64 [N,32] (left-padded word ids), output {@code logits} [N,6]. train.py measured 67.41% on
 * the 3182 held-out verses of eval.npz with torch; ONNX Runtime must agree.
 */
class LstmFixtureTest {

    private static final double TORCH_ACCURACY = 0.6741;

    private static ModelFixture lstm;

    @BeforeAll
    static void load() throws IOException {
        lstm = ModelFixture.load("lstm");
    }

    @Test
    void isAnLstmWithADynamicBatch() {
        OnnxModel m = OnnxModel.parse(lstm.model());
        assertThat(m.graph().getNodeList()).anyMatch(n -> n.getOpType().equals("LSTM"));
        assertThat(m.inputs()).singleElement().satisfies(in -> {
            assertThat(in.name()).isEqualTo("input_ids");
            assertThat(in.elemTypeName()).isEqualTo("int64");
            assertThat(in.shape()).containsExactly(-1, 32);
        });
        assertThat(m.outputs().get(0).shape()).containsExactly(-1, 6);
        assertThat(DatasetCheck.check(m, lstm.eval(), true)).isEmpty();
        assertThat(DatasetCheck.check(m, lstm.calib(), false)).isEmpty();
    }

    @Test
    void onnxRuntimeAccuracyMatchesTheTrainingScript() {
        EvalResult r = ModelEvaluator.evaluate(lstm.model(), lstm.eval(), EvalOptions.defaults()
            .withLatency(List.of(new EvalOptions.LatencyPlan(1, 5, 20), new EvalOptions.LatencyPlan(64, 2, 5))));
        System.out.printf("lstm fp32: size %d B, samples %d, accuracy %.4f%n", r.sizeBytes(), r.samples(), r.accuracy());
        r.latency().forEach(s -> System.out.printf("  batch %d: p50 %.3f ms, mean %.3f ms%n", s.batchSize(), s.p50Ms(), s.meanMs()));
        assertThat(r.samples()).isEqualTo(3182);
        assertThat(r.accuracy()).isCloseTo(TORCH_ACCURACY, within(0.002));
    }

    @Test
    void textThroughTheFixtureTokenizerGivesTheSameIdsAsTheScript() {
        List<TextSample> samples = TextDatasets.readLines(lstm.dir().resolve("eval_sample.jsonl"));
        TokenizedText t = TextDatasets.encode(OnnxModel.parse(lstm.model()), lstm.dir().resolve("tokenizer.json"), samples,
            TextOptions.defaults().withPadSide(TextOptions.PadSide.LEFT));
        int n = samples.size();
        assertThat(n).isEqualTo(64);
        assertThat(t.sequenceLength()).isEqualTo(32);
        assertThat(t.archive().names()).containsExactly("input_ids", "labels");
        assertThat(t.archive().array("input_ids").toLongs())
            .containsExactly(Arrays.copyOf(lstm.eval().array("input_ids").toLongs(), n * 32));
        assertThat(t.archive().array("labels").toLongs()).containsExactly(Arrays.copyOf(lstm.eval().array("labels").toLongs(), n));
        assertThat(t.truncatedSamples()).isPositive(); // verses over 32 words keep their first 32 tokens, as in train.py
    }
}
