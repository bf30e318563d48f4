package dev.quantflow.validator.service;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import dev.quantflow.contracts.AttemptMetrics;
import dev.quantflow.contracts.AttemptRecipe;
import dev.quantflow.contracts.Baseline;
import dev.quantflow.contracts.Comparison;
import dev.quantflow.contracts.ModelMetrics;
import dev.quantflow.contracts.NodeDecision;
import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.contracts.Target;
import dev.quantflow.events.JobContext;
import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.llm.DecodeSpeed;
import dev.quantflow.runtime.llm.DecodeSpeedOptions;
import dev.quantflow.runtime.llm.DecodeSpeedResult;
import dev.quantflow.runtime.llm.Perplexity;
import dev.quantflow.runtime.llm.PerplexityOptions;
import dev.quantflow.runtime.llm.PerplexityResult;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Validation of a 4-bit causal LM: perplexity on the held-out tokens (non-overlapping windows of the model's context)
 * of the fp32 model, the quantized model and, for GPTQ/AWQ, the round-to-nearest baseline at the same bits; greedy
 * decode speed at batch 1 (tokens/s) of fp32 and quantized; size. Passes when the relative perplexity increase
 * {@code (ppl_q − ppl_fp32) / ppl_fp32} is within the budget (the job's metric threshold, else its maxRelativeDrop).
 * Layer sensitivity for the debug loop comes from the quantizer's per-MatMul relative reconstruction error, as
 * {@code −10·log10(error)} dB so that, like SQNR, lower means more sensitive.
 */
final class LlmValidation {

    /** Tokens generated per decode-speed measurement (after warm-up). */
    static final int DECODE_TOKENS = 48;
    /** Prompt length of the decode-speed measurement, from the start of the held-out stream. */
    static final int PROMPT_TOKENS = 16;

    @FunctionalInterface
    interface Progress {
        void report(double fraction, String message);
    }

    record Outcome(Verdicts.Verdict verdict, AttemptMetrics metrics, List<DebugPlanner.LayerSensitivity> sensitivities,
                   Double sizeRatio, String runtimeErrorNode, boolean runs) {
    }

    private LlmValidation() {
    }

    static Outcome evaluate(JobContext job, int attempt, byte[] fp32, byte[] quantized, byte[] baseline, NpzArchive data,
                            QuantizationSummary summary, int threads, Progress progress) {
        OnnxModel fp32Model = OnnxModel.parse(fp32);
        int context = ModelInspector.languageModelShape(fp32Model).contextLength();
        long[] tokens = tokens(data);
        PerplexityOptions pplOptions = PerplexityOptions.defaults().withContext(context).withIntraOpThreads(threads);
        progress.report(0.1, "perplexity of the fp32 model on " + tokens.length + " held-out tokens");
        PerplexityResult ppl32 = perplexity(fp32, tokens, pplOptions, "fp32");
        progress.report(0.35, "perplexity of the quantized model");
        PerplexityResult pplQ;
        try {
            pplQ = Perplexity.evaluate(quantized, tokens, pplOptions);
        } catch (ModelRunException e) {
            Verdicts.Verdict v = new Verdicts.Verdict(false, "perplexity", Double.NaN, Double.NaN,
                "the quantized model does not run: " + e.getMessage());
            String node = RuntimeErrors.failingNode(e.getMessage(), ValidationStage.quantizedNodes(summary));
            if (node == null) {
                throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, "the quantized model cannot run in ONNX Runtime"
                    + " and the failing node could not be identified: " + e.getMessage(), e);
            }
            AttemptMetrics m = AttemptMetrics.of(attempt, job.getPlan().getMethod(), recipe(job), null, null,
                Comparison.NONE, target(job, v), false, v.text(), false);
            return new Outcome(v, m, List.of(), (double) quantized.length / fp32.length, node, false);
        }
        PerplexityResult pplBase = null;
        if (baseline != null) {
            progress.report(0.55, "perplexity of the round-to-nearest baseline");
            pplBase = perplexity(baseline, tokens, pplOptions, "baseline");
        }
        progress.report(0.7, "decode speed (batch 1, greedy)");
        long[] prompt = Arrays.copyOf(tokens, Math.min(PROMPT_TOKENS, tokens.length));
        DecodeSpeedOptions decodeOptions = DecodeSpeedOptions.defaults().withGeneratedTokens(DECODE_TOKENS)
            .withContext(context).withIntraOpThreads(threads);
        DecodeSpeedResult speed32 = decode(fp32, prompt, decodeOptions, "fp32");
        DecodeSpeedResult speedQ = decode(quantized, prompt, decodeOptions, "quantized");

        double budget = job.getPlan().getMetricThreshold() != null ? job.getPlan().getMetricThreshold()
            : job.getPlan().getMaxRelativeDrop();
        double increase = (pplQ.perplexity() - ppl32.perplexity()) / ppl32.perplexity();
        boolean ok = increase <= budget + 1e-12;
        String baselineText = pplBase == null ? "" : String.format(Locale.ROOT, "; round-to-nearest at the same bits %.3f (%+.2f%%)",
            pplBase.perplexity(), 100 * (pplBase.perplexity() - ppl32.perplexity()) / ppl32.perplexity());
        Verdicts.Verdict verdict = new Verdicts.Verdict(ok, "perplexity-increase", increase, budget, String.format(Locale.ROOT,
            "perplexity %.3f -> %.3f (%+.2f%%, budget +%.2f%%) over %d held-out tokens%s: %s", ppl32.perplexity(),
            pplQ.perplexity(), increase * 100, budget * 100, pplQ.tokens(), baselineText, ok ? "meets target" : "misses target"));

        Double baseIncrease = pplBase == null ? null : (pplBase.perplexity() - ppl32.perplexity()) / ppl32.perplexity();
        Comparison c = new Comparison(null, null, null, (double) quantized.length / fp32.length, null, null, increase,
            baseIncrease, baseIncrease == null || baseIncrease <= 0 ? null : increase / baseIncrease,
            speedQ.tokensPerSecond() / speed32.tokensPerSecond());
        AttemptMetrics m = AttemptMetrics.of(attempt, job.getPlan().getMethod(), recipe(job),
            model(fp32.length, ppl32, speed32), model(quantized.length, pplQ, speedQ), c, target(job, verdict), ok,
            verdict.text(), true);
        if (pplBase != null) {
            m = m.withBaseline(new Baseline("rtn", (long) baseline.length, null, null, null, null, pplBase.perplexity()));
        }
        return new Outcome(verdict, m, sensitivities(summary), (double) quantized.length / fp32.length, null, true);
    }

    private static AttemptRecipe recipe(JobContext job) {
        var r = job.getPlan().getRecipe();
        return AttemptRecipe.llm(r.getBits(), r.getBlockSize(), r.getSymmetric(), r.getActOrder(), r.getDampPercent(),
            r.getHighPrecisionNodes(), r.getExcludedNodes(), r.getGraphFormat().isEmpty() ? "matmulnbits" : r.getGraphFormat(),
            r.getNote());
    }

    private static Target target(JobContext job, Verdicts.Verdict verdict) {
        Double threshold = Double.isNaN(verdict.threshold()) ? null : verdict.threshold();
        return new Target(verdict.metric(), null, threshold, job.getPlan().getMaxSizeRatio(), null,
            Double.isNaN(verdict.value()) ? null : verdict.value(), threshold,
            "a causal language model: perplexity on held-out tokens");
    }

    private static ModelMetrics model(long size, PerplexityResult ppl, DecodeSpeedResult speed) {
        return ModelMetrics.languageModel(size, ppl.perplexity(), ppl.tokens(), ppl.windows(), ppl.context(),
            speed.tokensPerSecond(), speed.p50Ms(), speed.p95Ms(), speed.prefillTokensPerSecond(), speed.intraOpThreads());
    }

    static List<DebugPlanner.LayerSensitivity> sensitivities(QuantizationSummary summary) {
        List<DebugPlanner.LayerSensitivity> out = new ArrayList<>();
        for (NodeDecision n : summary.quantizedNodesOrEmpty()) {
            Double err = n.relativeError();
            if (err != null && err > 0 && (n.bits() == null ? 8 : n.bits()) < 8) {
                out.add(new DebugPlanner.LayerSensitivity(n.node(), -10 * Math.log10(err)));
            }
        }
        return out;
    }

    private static long[] tokens(NpzArchive data) {
        try {
            return data.array(Perplexity.TOKENS).toLongs();
        } catch (DatasetException | IllegalArgumentException e) {
            throw new PermanentStageException(ReasonCodes.DATASET_MISMATCH, "validation data: held-out tokens ('"
                + Perplexity.TOKENS + "') are missing or unreadable: " + e.getMessage(), e);
        }
    }

    private static PerplexityResult perplexity(byte[] model, long[] tokens, PerplexityOptions options, String which) {
        try {
            return Perplexity.evaluate(model, tokens, options);
        } catch (ModelRunException e) {
            throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, "the " + which + " model cannot run: " + e.getMessage(), e);
        } catch (DatasetException e) {
            throw new PermanentStageException(ReasonCodes.DATASET_MISMATCH, "validation data: " + e.getMessage(), e);
        }
    }

    private static DecodeSpeedResult decode(byte[] model, long[] prompt, DecodeSpeedOptions options, String which) {
        try {
            return DecodeSpeed.measure(model, prompt, options);
        } catch (ModelRunException e) {
            throw new PermanentStageException(ReasonCodes.RUNTIME_ERROR, "the " + which + " model cannot decode: " + e.getMessage(), e);
        }
    }
}
