package dev.quantflow.runtime.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.Test;

class PerplexityTest {

    private static final TinyLm LM = new TinyLm(3, false);
    private static final int CTX = 4;
    /** Three full windows of 4 plus one target, plus one token too few for a fourth window. */
    private static final long[] TOKENS = TinyLm.tokens(3 * CTX + 1 + 3, 5);

    /** mean over windows w and positions j of −log softmax(logits[w, j])[t(w·c + j + 1)], from the Java forward pass. */
    private static double expectedMeanNll(int windows) {
        double sum = 0;
        for (int w = 0; w < windows; w++) {
            long[] input = Arrays.copyOfRange(TOKENS, w * CTX, w * CTX + CTX);
            float[] logits = LM.forward(input, 1, CTX).logits();
            for (int j = 0; j < CTX; j++) {
                double z = 0;
                for (int v = 0; v < TinyLm.V; v++) {
                    z += Math.exp(logits[j * TinyLm.V + v]);
                }
                sum += Math.log(z) - logits[j * TinyLm.V + (int) TOKENS[w * CTX + j + 1]];
            }
        }
        return sum / (windows * CTX);
    }

    @Test
    void perplexityIsExpOfTheMeanNllOverNonOverlappingWindows() {
        PerplexityResult r = Perplexity.evaluate(LM.onnx(null, null), TOKENS,
            PerplexityOptions.defaults().withContext(CTX).withBatchSize(2));

        double mean = expectedMeanNll(3);
        assertThat(r.windows()).isEqualTo(3);
        assertThat(r.tokens()).isEqualTo(12);
        assertThat(r.context()).isEqualTo(CTX);
        assertThat(r.meanNll()).isCloseTo(mean, within(1e-5));
        assertThat(r.perplexity()).isCloseTo(Math.exp(mean), within(1e-5 * Math.exp(mean)));
    }

    @Test
    void maxWindowsAndTheModelsStaticContextAndBatchAreHonoured() {
        PerplexityResult r = Perplexity.evaluate(LM.onnx(null, CTX), TOKENS, PerplexityOptions.defaults().withMaxWindows(2));
        assertThat(r.windows()).isEqualTo(2);
        assertThat(r.meanNll()).isCloseTo(expectedMeanNll(2), within(1e-5));

        PerplexityResult fixedBatch = Perplexity.evaluate(LM.onnx(2, CTX), TOKENS, PerplexityOptions.defaults());
        assertThat(fixedBatch.windows()).isEqualTo(3);
        assertThat(fixedBatch.meanNll()).isCloseTo(expectedMeanNll(3), within(1e-5));
    }

    @Test
    void uniformLogitsGiveAPerplexityOfTheVocabularySize() {
        NpzArchive heldout = NpzArchive.of(List.of(NdArray.ofLongs("tokens", TOKENS, TOKENS.length)));

        PerplexityResult r = Perplexity.evaluate(new TinyLm(3, true).onnx(null, null), heldout,
            PerplexityOptions.defaults().withContext(5));

        assertThat(r.windows()).isEqualTo(3);
        assertThat(r.perplexity()).isCloseTo(TinyLm.V, within(1e-9));
        assertThat(r.meanNll()).isCloseTo(Math.log(TinyLm.V), within(1e-12));
    }

    @Test
    void fewerTokensThanOneWindowAreRefused() {
        assertThatThrownBy(() -> Perplexity.evaluate(LM.onnx(null, null), Arrays.copyOf(TOKENS, CTX),
                PerplexityOptions.defaults().withContext(CTX)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("5 tokens").hasMessageContaining("has 4");
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreRefused() {
        long[] bad = TOKENS.clone();
        bad[CTX] = -1;
        assertThatThrownBy(() -> Perplexity.evaluate(LM.onnx(null, null), bad, PerplexityOptions.defaults().withContext(CTX)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("token id -1 at position 4");
    }

    @Test
    void aSymbolicContextMustBeGivenAndAStaticOneMustMatch() {
        assertThatThrownBy(() -> Perplexity.evaluate(LM.onnx(null, null), TOKENS, PerplexityOptions.defaults()))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("give the context length");
        assertThatThrownBy(() -> Perplexity.evaluate(LM.onnx(null, CTX), TOKENS, PerplexityOptions.defaults().withContext(3)))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fixed sequence length of 4");
    }

    @Test
    void logitsOfAnotherRankAreRefusedWhetherDeclaredOrFoundAtRunTime() {
        assertThatThrownBy(() -> Perplexity.evaluate(pooledLogits(true), TOKENS, PerplexityOptions.defaults().withContext(CTX)))
            .isInstanceOf(ModelRunException.class).hasMessageContaining("rank 2");
        assertThatThrownBy(() -> Perplexity.evaluate(pooledLogits(false), TOKENS, PerplexityOptions.defaults().withContext(CTX)))
            .isInstanceOf(ModelRunException.class).hasMessageContaining("rank 2");
    }

    @Test
    void aHeldOutArrayThatIsNotAOneDimensionalTokenStreamIsRefused() {
        NpzArchive twoD = NpzArchive.of(List.of(NdArray.ofLongs("tokens", Arrays.copyOf(TOKENS, 16), 4, 4)));
        assertThatThrownBy(() -> Perplexity.evaluate(LM.onnx(null, null), twoD, PerplexityOptions.defaults().withContext(CTX)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("1-D integer token stream");
    }

    /** {@code input_ids → Gather(E) → ReduceMean over the sequence → "logits" [batch, D]}, shape declared or not. */
    static byte[] pooledLogits(boolean declareShape) {
        OnnxMl.ValueInfoProto out = declareShape
            ? TinyModels.valueInfo("logits", DataType.FLOAT, "batch", TinyLm.D)
            : OnnxMl.ValueInfoProto.newBuilder().setName("logits").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(DataType.FLOAT.getNumber()))).build();
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("pooled")
            .addInput(TinyModels.valueInfo("input_ids", DataType.INT64, "batch", "seq"))
            .addOutput(out)
            .addInitializer(TinyModels.floatTensor("E", LM.e, TinyLm.V, TinyLm.D))
            .addNode(TinyModels.node("Gather", List.of("E", "input_ids"), List.of("h0")))
            .addNode(TinyModels.node("ReduceMean", List.of("h0"), List.of("logits"), TinyModels.intsAttr("axes", 1),
                TinyModels.intAttr("keepdims", 0)))
            .build();
        return TinyModels.model(graph);
    }
}
