package dev.quantflow.runtime.llm;

import java.util.Map;
import java.util.Set;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Perplexity of a causal LM ({@link CausalLm}) on a held-out token stream, in non-overlapping windows.
 *
 * <p>With context {@code c} and tokens {@code t_0 … t_{N-1}}, window {@code w} ({@code 0 ≤ w < W},
 * {@code W = ⌊(N-1)/c⌋}, capped by {@code maxWindows}) feeds {@code t_{wc} … t_{wc+c-1}} and predicts
 * {@code t_{wc+1} … t_{wc+c}}: position {@code j} of the window is scored on target {@code y = t_{wc+j+1}} with
 * logits {@code l = logits[w, j, :]}:
 * <pre>
 *   nll_{w,j} = log Σ_v exp(l_v) − l_y = m + log Σ_v exp(l_v − m) − l_y,   m = max_v l_v
 * </pre>
 * in double precision. {@code meanNll = Σ nll / (W·c)} and {@code perplexity = exp(meanNll)}. Each window starts
 * without earlier context (no sliding stride), so its first predictions are harder than a strided evaluation's: the
 * number is comparable only to perplexities computed the same way. Tokens after the last full window are unused.
 *
 * <p>The session uses {@code BASIC_OPT}, which keeps the graph's numerics, so fp32 and quantized models are compared
 * on what they compute, not on fusions.
 */
public final class Perplexity {

    /** Name of the token array in a held-out .npz. */
    public static final String TOKENS = "tokens";

    private Perplexity() {
    }

    /**
     * Reads a 1-D integer array {@code tokens} from {@code heldout}.
     *
     * @see #evaluate(byte[], long[], PerplexityOptions)
     */
    public static PerplexityResult evaluate(byte[] modelBytes, NpzArchive heldout, PerplexityOptions options) {
        NdArray tokens = heldout.array(TOKENS);
        if (!tokens.isInteger() || tokens.rank() != 1) {
            throw new DatasetException("array '" + TOKENS + "' is " + tokens + "; held-out data must be a 1-D integer token "
                + "stream (e.g. np.asarray(ids, dtype=np.int64))");
        }
        return evaluate(modelBytes, tokens.toLongs(), options);
    }

    /**
     * @throws DatasetException if there are fewer than {@code context + 1} tokens, or an id outside the vocabulary
     * @throws ModelRunException if the model is not a causal LM of the supported form, its logits are not
     *                           {@code [batch, seq, vocab]} or not finite, or ONNX Runtime fails
     * @throws IllegalArgumentException if no context is given for a model with a symbolic sequence dimension
     */
    public static PerplexityResult evaluate(byte[] modelBytes, long[] tokens, PerplexityOptions options) {
        long started = System.nanoTime();
        CausalLm lm = CausalLm.inspect(OnnxModel.parse(modelBytes));
        int ctx = lm.context(options.context());
        if (tokens.length < ctx + 1) {
            throw new DatasetException("perplexity needs at least one window of " + ctx + " tokens plus one target, "
                + (ctx + 1) + " tokens; the held-out data has " + tokens.length);
        }
        int windows = (tokens.length - 1) / ctx;
        if (options.maxWindows() > 0) {
            windows = Math.min(windows, options.maxWindows());
        }
        int batchSize = lm.batchSize(options.batchSize());
        double nllSum = 0;
        try (OrtSession session = OrtModels.createSession(modelBytes, options.intraOpThreads(),
                OrtSession.SessionOptions.OptLevel.BASIC_OPT)) {
            int vocab = lm.vocab(session);
            CausalLm.checkTokens(tokens, 0, windows * ctx + 1, vocab, "the held-out tokens");
            long[] batch = new long[batchSize * ctx];
            float[] logits = new float[0];
            for (int from = 0; from < windows; from += batchSize) {
                int rows = lm.staticBatch() > 0 ? batchSize : Math.min(batchSize, windows - from);
                int real = Math.min(rows, windows - from);
                // A model with a fixed batch dimension gets its last batch padded with copies of the first window.
                for (int r = 0; r < rows; r++) {
                    int w = r < real ? from + r : from;
                    System.arraycopy(tokens, w * ctx, batch, r * ctx, ctx);
                }
                try (OnnxTensor input = CausalLm.idsTensor(batch, rows, ctx);
                     OrtSession.Result result = session.run(Map.of(lm.inputName(), input), Set.of(lm.logitsName()))) {
                    long[] shape = lm.logitsShape(result.get(0), rows, ctx);
                    if (shape[2] != vocab) {
                        throw CausalLm.fail("logits have " + shape[2] + " classes here but " + vocab + " on the first run");
                    }
                    logits = CausalLm.readLogits(result.get(0), logits);
                    for (int r = 0; r < real; r++) {
                        int w = from + r;
                        for (int j = 0; j < ctx; j++) {
                            long target = tokens[w * ctx + j + 1];
                            double nll = nll(logits, (r * ctx + j) * vocab, vocab, (int) target);
                            if (!Double.isFinite(nll)) {
                                throw CausalLm.fail("logits are not finite at window " + w + ", position " + j);
                            }
                            nllSum += nll;
                        }
                    }
                } catch (OrtException e) {
                    throw new ModelRunException("ONNX Runtime failed on windows [" + from + ", " + (from + real) + "): "
                        + e.getMessage(), e);
                }
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed to close the session: " + e.getMessage(), e);
        }
        long predicted = (long) windows * ctx;
        double mean = nllSum / predicted;
        return new PerplexityResult(Math.exp(mean), mean, predicted, windows, ctx, (System.nanoTime() - started) / 1e9);
    }

    /** {@code −log softmax(l)[target]} over {@code l = logits[offset, offset + vocab)}, in double. */
    static double nll(float[] logits, int offset, int vocab, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits[offset + v]);
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            sum += Math.exp(logits[offset + v] - max);
        }
        return max + Math.log(sum) - logits[offset + target];
    }
}
