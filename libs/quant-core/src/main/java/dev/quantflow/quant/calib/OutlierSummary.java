package dev.quantflow.quant.calib;

import java.math.BigDecimal;

/**
 * How far a tensor's extreme values lie from its bulk, for diagnosing ranges dominated by outliers: with
 * {@code absMax = max|x|} and {@code absP9999} the 99.99th percentile of {@code |x|} read from the histogram
 * ({@link StreamingHistogram#absQuantile}: bin-resolution, never below the exact percentile, never above absMax),
 * a {@link #ratio()} well above 1 means that a {@code minmax} range spends most of its codes on 0.01% of the values.
 *
 * <p>JSON: {@code {"absMax": …, "absP9999": …}} ({@link #ratio()} is derived, not stored).
 */
public record OutlierSummary(float absMax, float absP9999) {

    /** The percentile recorded, as a fraction. */
    public static final BigDecimal FRACTION = new BigDecimal("0.9999");

    public OutlierSummary {
        if (!(absMax >= 0) || !(absP9999 >= 0) || Float.isInfinite(absMax) || absP9999 > absMax) {
            throw new IllegalArgumentException("need 0 <= absP9999 <= absMax (finite), got " + absP9999 + ", " + absMax);
        }
    }

    /** Summary of a non-empty histogram. */
    public static OutlierSummary of(StreamingHistogram h) {
        return new OutlierSummary(h.absMax(), h.absQuantile(FRACTION, new long[h.bins()]));
    }

    /** {@code absMax / absP9999}: 1 when there are no outliers; +Infinity if 99.99% of the values are 0 and some are not. */
    public double ratio() {
        if (absMax == 0) {
            return 1;
        }
        return (double) absMax / absP9999;
    }
}
