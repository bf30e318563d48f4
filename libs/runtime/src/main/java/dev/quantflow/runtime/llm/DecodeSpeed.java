package dev.quantflow.runtime.llm;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Batch-1 greedy decoding speed of a causal LM ({@link CausalLm}), and its prefill throughput.
 *
 * <p><b>Decode.</b> From a prompt {@code p} of {@code P} tokens, step {@code i} ({@code 0 ≤ i < G}) runs the whole
 * sequence so far, {@code s_i = p ‖ g_0 … g_{i-1}} ({@code P + i} tokens), and appends
 * {@code g_i = argmax_v logits[0, P+i-1, v]} (lowest id on ties). The models this targets have <b>no KV cache</b>
 * (no past key/value inputs), so every step recomputes all earlier positions: a step costs a prefill of
 * {@code P + i} tokens, and tokens/s falls as the sequence grows. The number is for comparing an fp32 model with
 * its quantized twin under the same protocol, not an estimate of a cached decoder's speed. Step time is the wall
 * clock ({@link System#nanoTime}) from creating the input to choosing the token. An untimed decode of
 * {@code warmupTokens} steps runs first. {@code tokens/s = G / Σ step}, p50 and p95 are nearest-rank percentiles
 * of the step times. The sequence may not exceed the context: {@code P + G − 1 ≤ context}.
 *
 * <p><b>Prefill.</b> One window of {@code context} tokens (the prompt repeated) is run once untimed, then
 * {@code prefillRuns} times timed; {@code prefill tokens/s = context / median run time}.
 *
 * <p>The session uses all graph optimizations and sequential execution with {@code intraOpThreads} threads (default
 * 1), as a single-stream deployment would. Any model of the {@link CausalLm} form works, including models whose
 * weights are {@code com.microsoft} {@code MatMulNBits} (ONNX Runtime's CPU provider runs those).
 */
public final class DecodeSpeed {

    private DecodeSpeed() {
    }

    /**
     * @throws DatasetException if the prompt is empty, has an id outside the vocabulary, or prompt plus generated
     *                          tokens do not fit the context
     * @throws ModelRunException if the model is not a causal LM of the supported form (or its sequence dimension is
     *                           fixed, so the sequence cannot grow), or ONNX Runtime fails
     * @throws IllegalArgumentException if no context is given for a model with a symbolic sequence dimension
     */
    public static DecodeSpeedResult measure(byte[] modelBytes, long[] prompt, DecodeSpeedOptions options) {
        CausalLm lm = CausalLm.inspect(OnnxModel.parse(modelBytes));
        if (lm.staticContext() > 0) {
            throw CausalLm.fail("the model's input_ids has a fixed sequence length of " + lm.staticContext()
                + "; decoding re-runs a growing sequence and needs a symbolic sequence dimension");
        }
        if (lm.staticBatch() > 1) {
            throw CausalLm.fail("the model's input_ids has a fixed batch of " + lm.staticBatch() + "; decoding runs batch 1");
        }
        int ctx = lm.context(options.context());
        if (prompt.length == 0) {
            throw new DatasetException("the decode prompt is empty; give at least one token");
        }
        int longest = prompt.length + Math.max(options.generatedTokens(), options.warmupTokens()) - 1;
        if (longest > ctx) {
            throw new DatasetException("a prompt of " + prompt.length + " tokens plus "
                + Math.max(options.generatedTokens(), options.warmupTokens()) + " generated needs " + longest
                + " positions; the context is " + ctx);
        }
        try (OrtSession session = OrtModels.createSession(modelBytes, options.intraOpThreads(),
                OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            int vocab = lm.vocab(session);
            CausalLm.checkTokens(prompt, 0, prompt.length, vocab, "the prompt");
            Decoder decoder = new Decoder(session, lm, ctx, vocab);

            decoder.generate(prompt, options.warmupTokens(), new double[options.warmupTokens()]);
            double[] stepMs = new double[options.generatedTokens()];
            long[] generated = decoder.generate(prompt, options.generatedTokens(), stepMs);

            long[] window = new long[ctx];
            for (int i = 0; i < ctx; i++) {
                window[i] = prompt[i % prompt.length];
            }
            double[] prefillMs = new double[options.prefillRuns()];
            decoder.timeRun(window, ctx);
            for (int i = 0; i < prefillMs.length; i++) {
                prefillMs[i] = decoder.timeRun(window, ctx);
            }

            double total = Arrays.stream(stepMs).sum();
            double mean = total / stepMs.length;
            double[] sorted = stepMs.clone();
            Arrays.sort(sorted);
            Arrays.sort(prefillMs);
            double prefillP50 = nearestRank(prefillMs, 0.50);
            return new DecodeSpeedResult(prompt.length, generated, stepMs.length * 1000.0 / total,
                nearestRank(sorted, 0.50), nearestRank(sorted, 0.95), mean, ctx, ctx * 1000.0 / prefillP50, prefillP50,
                options.intraOpThreads());
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed to close the session: " + e.getMessage(), e);
        }
    }

    /** Nearest-rank percentile of sorted values: the value at rank ceil(q * n). */
    static double nearestRank(double[] sorted, double q) {
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    /** Runs one session; holds the growing sequence and the logits buffer between steps. */
    private static final class Decoder {
        private final OrtSession session;
        private final CausalLm lm;
        private final int vocab;
        private final long[] sequence;
        private float[] logits = new float[0];

        Decoder(OrtSession session, CausalLm lm, int ctx, int vocab) {
            this.session = session;
            this.lm = lm;
            this.vocab = vocab;
            this.sequence = new long[ctx];
        }

        /** Greedily generates {@code count} tokens after {@code prompt}; step times go to {@code stepMs}. */
        long[] generate(long[] prompt, int count, double[] stepMs) {
            System.arraycopy(prompt, 0, sequence, 0, prompt.length);
            long[] out = new long[count];
            int length = prompt.length;
            for (int i = 0; i < count; i++) {
                long start = System.nanoTime();
                long next = nextToken(length);
                stepMs[i] = (System.nanoTime() - start) / 1e6;
                out[i] = next;
                if (length < sequence.length) {
                    sequence[length] = next;
                }
                length++;
            }
            return out;
        }

        /** The greedy next token after {@code sequence[0, length)}. */
        private long nextToken(int length) {
            try (OnnxTensor input = CausalLm.idsTensor(sequence, 1, length);
                 OrtSession.Result result = session.run(Map.of(lm.inputName(), input), Set.of(lm.logitsName()))) {
                long[] shape = lm.logitsShape(result.get(0), 1, length);
                if (shape[2] != vocab) {
                    throw CausalLm.fail("logits have " + shape[2] + " classes here but " + vocab + " on the first run");
                }
                logits = CausalLm.readLogits(result.get(0), logits);
                return argmax(logits, (length - 1) * vocab, vocab);
            } catch (OrtException e) {
                throw new ModelRunException("ONNX Runtime failed on a sequence of " + length + " tokens: " + e.getMessage(), e);
            }
        }

        /** Wall time in ms of one run on {@code window[0, length)}. */
        double timeRun(long[] window, int length) {
            long start = System.nanoTime();
            try (OnnxTensor input = CausalLm.idsTensor(window, 1, length);
                 OrtSession.Result result = session.run(Map.of(lm.inputName(), input), Set.of(lm.logitsName()))) {
                lm.logitsShape(result.get(0), 1, length);
            } catch (OrtException e) {
                throw new ModelRunException("ONNX Runtime failed on a prefill of " + length + " tokens: " + e.getMessage(), e);
            }
            return (System.nanoTime() - start) / 1e6;
        }
    }

    /** Index of the largest of {@code v[offset, offset + n)}, lowest on ties; NaN is an error. */
    static int argmax(float[] v, int offset, int n) {
        int best = 0;
        for (int i = 0; i < n; i++) {
            float x = v[offset + i];
            if (Float.isNaN(x)) {
                throw CausalLm.fail("logits are NaN at vocabulary index " + i);
            }
            if (x > v[offset + best]) {
                best = i;
            }
        }
        return best;
    }
}
