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
}
