package dev.quantflow.runtime.eval;

import java.util.Arrays;
import java.util.Locale;

/**
 * A metric of a {@link ComparisonResult} that a request can name with a budget, e.g. {@code mean_cosine >= 0.99}
 * or {@code mse <= 1e-4}. NaN never meets a budget.
 */
public enum OutputMetric {

    MEAN_COSINE(true),
    MIN_COSINE(true),
    MSE(false),
    MAX_ABS_DIFF(false),
    TOP1_AGREEMENT(true);

    private final boolean higherIsBetter;

    OutputMetric(boolean higherIsBetter) {
        this.higherIsBetter = higherIsBetter;
    }

    /** Whether a larger value is better (the budget is a floor) or worse (the budget is a ceiling). */
    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    /** The name used in requests and reports: {@code mean_cosine}, {@code min_cosine}, {@code mse}, … */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @throws IllegalArgumentException naming the known metrics
     */
    public static OutputMetric parse(String key) {
        for (OutputMetric m : values()) {
            if (m.key().equals(key.trim().toLowerCase(Locale.ROOT).replace('-', '_'))) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown output metric '" + key + "'; known: "
            + Arrays.stream(values()).map(OutputMetric::key).toList());
    }

    /**
     * The metric's value in a result.
     *
     * @throws IllegalArgumentException for {@link #TOP1_AGREEMENT} when the result has none (not a classifier output)
     */
    public double value(ComparisonResult r) {
        return switch (this) {
            case MEAN_COSINE -> r.meanCosine();
            case MIN_COSINE -> r.minCosine();
            case MSE -> r.mse();
            case MAX_ABS_DIFF -> r.maxAbsDiff();
            case TOP1_AGREEMENT -> {
                if (r.top1Agreement() == null) {
                    throw new IllegalArgumentException("top-1 agreement needs an output of one score vector per sample "
                        + "([N, classes]) compared without pooling; output '" + r.outputName() + "' is not one");
                }
                yield r.top1Agreement();
            }
        };
    }

    /** Whether {@code value} is within {@code budget}: {@code >=} for higher-is-better metrics, else {@code <=}. */
    public boolean meets(double value, double budget) {
        if (Double.isNaN(value)) {
            return false;
        }
        return higherIsBetter ? value >= budget : value <= budget;
    }

    /** {@link #meets} on the value in {@code r}. */
    public boolean meets(ComparisonResult r, double budget) {
        return meets(value(r), budget);
    }
}
