package dev.quantflow.validator.service;

import dev.quantflow.runtime.eval.EvalResult;

/**
 * The pass/fail rule. With labels: relative top-1 accuracy drop {@code (acc_fp32 - acc_q) / acc_fp32} must not
 * exceed the budget (default 2%, the product spec's target). Without labels: top-1 agreement with the fp32 model
 * must be at least {@code 1 - budget}.
 */
public final class Verdicts {

    private Verdicts() {
    }

    public record Verdict(boolean passed, String metric, double value, double threshold, String text) {
    }

    public static Verdict judge(EvalResult fp32, EvalResult quantized, double agreement, double maxRelativeDrop) {
        if (fp32.accuracy() != null && quantized.accuracy() != null) {
            double a32 = fp32.accuracy();
            double aq = quantized.accuracy();
            double rel = a32 <= 0 ? 0 : (a32 - aq) / a32;
            boolean ok = rel <= maxRelativeDrop + 1e-12;
            return new Verdict(ok, "top1-accuracy", rel, maxRelativeDrop, String.format(
                "top-1 accuracy %.2f%% -> %.2f%% (relative drop %.2f%%, budget %.2f%%): %s",
                a32 * 100, aq * 100, rel * 100, maxRelativeDrop * 100, ok ? "meets target" : "misses target"));
        }
        boolean ok = agreement >= 1 - maxRelativeDrop - 1e-12;
        return new Verdict(ok, "top1-agreement", agreement, 1 - maxRelativeDrop, String.format(
            "no labels: top-1 agreement with fp32 %.2f%% (needs >= %.2f%%): %s",
            agreement * 100, (1 - maxRelativeDrop) * 100, ok ? "meets target" : "misses target"));
    }

    /** Default floor of the mean cosine to fp32 when a job asks for the cosine metric without a threshold. */
    public static final double DEFAULT_MIN_COSINE = 0.99;

    /**
     * Output-similarity targets for models without labels (embeddings, regressors): mean cosine of each sample's
     * output to fp32 {@code >= threshold} (default 0.99), or MSE {@code <= threshold}.
     */
    public static Verdict judgeOutputs(dev.quantflow.runtime.eval.ComparisonResult c, String metric, Double threshold) {
        if (metric.equals("mse")) {
            double t = threshold == null ? Double.NaN : threshold;
            boolean ok = !Double.isNaN(t) && dev.quantflow.runtime.eval.OutputMetric.MSE.meets(c, t);
            return new Verdict(ok, "mse", c.mse(), t, String.format(java.util.Locale.ROOT,
                "output MSE to fp32 %.3g (needs <= %.3g): %s", c.mse(), t, ok ? "meets target" : "misses target"));
        }
        double t = threshold == null ? DEFAULT_MIN_COSINE : threshold;
        boolean ok = dev.quantflow.runtime.eval.OutputMetric.MEAN_COSINE.meets(c, t);
        return new Verdict(ok, "mean-cosine", c.meanCosine(), t, String.format(java.util.Locale.ROOT,
            "mean cosine to fp32 %.5f (min %.5f over %d samples; needs mean >= %.4f): %s", c.meanCosine(), c.minCosine(),
            c.samples(), t, ok ? "meets target" : "misses target"));
    }

    /**
     * Which metric a job is judged on. {@code auto}: top-1 accuracy with labels; otherwise top-1 agreement for a
     * classifier-like output (one score vector per sample, at most 1000 classes), else mean cosine of the outputs.
     */
    public static String resolveMetric(String requested, boolean hasLabels, long[] outputShape) {
        if (requested != null && !requested.isBlank() && !requested.equals("auto")) {
            return requested;
        }
        if (hasLabels) {
            return "top1";
        }
        boolean classifier = outputShape.length == 2 && outputShape[1] > 0 && outputShape[1] <= 1000;
        return classifier ? "agreement" : "cosine";
    }
}
