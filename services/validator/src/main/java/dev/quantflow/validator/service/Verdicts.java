package dev.quantflow.validator.service;

import java.util.Locale;

import dev.quantflow.runtime.eval.ComparisonResult;
import dev.quantflow.runtime.eval.EvalResult;
import dev.quantflow.runtime.eval.OutputLayout;

/**
 * The pass/fail rule. With labels: relative top-1 accuracy drop {@code (acc_fp32 - acc_q) / acc_fp32} must not
 * exceed the budget (default 2%, the product spec's target). Without labels: top-1 agreement with the fp32 model
 * must be at least {@code 1 - budget}; output similarity (cosine, MSE) against its threshold; the mean IoU of maps
 * and the agreement per position against metricThreshold, else {@code 1 - budget}.
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
     * IoU of output maps and per-position agreement: {@code meanIou} (or {@code positionAgreement}) must be at least
     * {@code threshold} when the job gave one (metricThreshold), else at least {@code 1 - maxRelativeDrop}, the same
     * floor as top-1 agreement without labels. NaN (a non-finite output) never passes.
     */
    public static Verdict judgeMaps(ComparisonResult c, String metric, Double threshold, double maxRelativeDrop) {
        boolean iou = metric.equals("iou");
        Double measured = iou ? c.meanIou() : c.positionAgreement();
        if (measured == null) {
            String what = iou ? "the IoU of maps needs an output compared without pooling"
                : "agreement per position needs an output of rank 3 or more ([N,T,C] or [N,C,H,W])";
            return new Verdict(false, iou ? "mean-iou" : "position-agreement", Double.NaN, Double.NaN,
                what + "; output '" + c.outputName() + "' is not one");
        }
        double t = threshold != null ? threshold : 1 - maxRelativeDrop;
        String floor = threshold != null ? "metricThreshold" : String.format(Locale.ROOT, "1 - max relative drop %.2f%%",
            maxRelativeDrop * 100);
        boolean ok = !Double.isNaN(measured) && measured >= t - 1e-12;
        String verdict = ok ? "meets target" : "misses target";
        if (iou) {
            return new Verdict(ok, "mean-iou", measured, t, String.format(Locale.ROOT,
                "mean IoU to fp32 of the maps binarized at > %.2f: %.4f (min %.4f over %d samples; needs >= %.4f, %s): %s",
                c.mapThreshold(), measured, c.minIou(), c.samples(), t, floor, verdict));
        }
        return new Verdict(ok, "position-agreement", measured, t, String.format(Locale.ROOT,
            "argmax agreement with fp32 at every position: %.2f%% of %d samples x %d positions (needs >= %.2f%%, %s): %s",
            measured * 100, c.samples(), c.positionsPerSample(), t * 100, floor, verdict));
    }

    /** The metric a job was judged on once its outputs were compared, and the verdict. */
    public record Judged(MetricChoice metric, Verdict verdict) {
    }

    /**
     * A job judged on its outputs: an {@code auto} IoU choice is first checked against the fp32 range
     * ({@link #confirmMap}); then IoU and per-position agreement follow {@link #judgeMaps}, cosine and MSE
     * {@link #judgeOutputs}.
     */
    public static Judged judgeComparison(MetricChoice metric, ComparisonResult c, Double metricThreshold,
                                         double maxRelativeDrop) {
        MetricChoice confirmed = confirmMap(metric, c.referenceMin(), c.referenceMax());
        Verdict verdict = confirmed.metric().equals("iou") || confirmed.perPosition()
            ? judgeMaps(c, confirmed.metric(), metricThreshold, maxRelativeDrop)
            : judgeOutputs(c, confirmed.metric(), metricThreshold);
        return new Judged(confirmed, verdict);
    }

    /**
     * The metric a job is judged on, and why.
     *
     * @param metric  {@code top1}, {@code agreement}, {@code cosine}, {@code mse}, {@code iou}
     * @param reason  the job named it, or what {@code auto} read from the output
     * @param perPosition agreement is counted at every position of a rank-3+ output, not once per sample
     * @param probabilityMapCandidate auto took {@code iou} from the shape alone; {@link #confirmMap} checks the fp32
     *                                values lie in [0, 1] once they are known
     */
    public record MetricChoice(String metric, String reason, boolean perPosition, boolean probabilityMapCandidate) {

        /** Whether the outputs must be compared (cosine, MSE, IoU, per-position agreement). */
        public boolean comparesOutputs() {
            return metric.equals("cosine") || metric.equals("mse") || metric.equals("iou") || perPosition;
        }
    }

    /**
     * Which metric a job is judged on. A named metric is used as named (agreement on an output of rank 3 or more is
     * counted per position). {@code auto}, from the first output's shape ({@link OutputLayout}):
     * <ul>
     *   <li>labels given: top-1 accuracy (one value per sample, [N, 1]: the binary decisions against labels 0/1);</li>
     *   <li>[N, 1, H, W]: IoU of the maps, if the fp32 values lie in [0, 1] (a probability map; checked by
     *       {@link #confirmMap}), else mean cosine;</li>
     *   <li>[N, C] with at most 1000 classes: top-1 agreement with fp32;</li>
     *   <li>[N, T, D] of a model with an {@code attention_mask} input: token embeddings, mean cosine (pooled);</li>
     *   <li>other outputs of rank 3 or more ([N, T, C] of a CTC recognizer, [N, C, H, W] of a segmenter): argmax
     *       agreement at every position;</li>
     *   <li>anything else (embeddings, regressors): mean cosine.</li>
     * </ul>
     */
    public static MetricChoice resolveMetric(String requested, boolean hasLabels, long[] outputShape,
                                             boolean tokenInputs) {
        String shape = shapeText(outputShape);
        boolean perPosition = OutputLayout.isPerPosition(outputShape) && !(outputShape.length == 3 && tokenInputs);
        if (requested != null && !requested.isBlank() && !requested.equals("auto")) {
            return new MetricChoice(requested, "named by the job", requested.equals("agreement") && perPosition, false);
        }
        if (hasLabels) {
            boolean binary = outputShape.length == 1 || (outputShape.length == 2 && outputShape[1] == 1);
            return new MetricChoice("top1", binary
                ? "auto: labels with one value per sample " + shape + ": a binary classifier, accuracy of its 0/1 decisions"
                : "auto: labels given, output " + shape + ": top-1 accuracy", false, false);
        }
        if (OutputLayout.isSingleChannelMap(outputShape)) {
            return new MetricChoice("iou", "auto: one-channel map " + shape, false, true);
        }
        if (outputShape.length == 2 && outputShape[1] > 0 && outputShape[1] <= 1000) {
            return new MetricChoice("agreement", "auto: no labels, one score vector per sample " + shape
                + ": top-1 agreement with fp32", false, false);
        }
        if (outputShape.length == 3 && tokenInputs) {
            return new MetricChoice("cosine", "auto: token outputs " + shape
                + " of a model with an attention_mask: embeddings, mean cosine of the pooled vectors", false, false);
        }
        if (perPosition) {
            String what = outputShape.length == 3 ? "class scores per time step [N, T, C] (a CTC recognizer)"
                : "class scores per pixel [N, C, H, W] (a segmenter)";
            return new MetricChoice("agreement", "auto: " + shape + ": " + what + ", argmax agreement per position", true,
                false);
        }
        return new MetricChoice("cosine", "auto: output " + shape + " is not class scores: embeddings, mean cosine",
            false, false);
    }

    /**
     * An {@code auto} choice of IoU made from the shape, checked against the fp32 output's range: a probability map
     * lies in [0, 1]; otherwise (logits, a regression map) the outputs are compared by mean cosine.
     */
    public static MetricChoice confirmMap(MetricChoice choice, double fp32Min, double fp32Max) {
        if (!choice.probabilityMapCandidate()) {
            return choice;
        }
        String range = String.format(Locale.ROOT, "[%.3g, %.3g]", fp32Min, fp32Max);
        if (fp32Min >= 0 && fp32Max <= 1) {
            return new MetricChoice("iou", choice.reason() + " with fp32 values in " + range
                + ": a probability map, mean IoU", false, false);
        }
        return new MetricChoice("cosine", choice.reason() + " with fp32 values in " + range
            + ", not probabilities: mean cosine", false, false);
    }

    private static String shapeText(long[] shape) {
        StringBuilder s = new StringBuilder("[N");
        for (int d = 1; d < shape.length; d++) {
            s.append(", ").append(shape[d] < 0 ? "?" : Long.toString(shape[d]));
        }
        return s.append(']').toString();
    }
}
