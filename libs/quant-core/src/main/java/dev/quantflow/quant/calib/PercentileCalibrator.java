package dev.quantflow.quant.calib;

import java.math.BigDecimal;

/**
 * {@code percentile:p}: clips each tail of the distribution of {@code x} (not of {@code |x|}) at its p-th
 * percentile, so that at least p% of the values lie at or below the upper bound and at least p% at or above the
 * lower one (each tail loses at most (100 - p)%):
 *
 * <pre>
 *   hi = H.upperQuantile(p / 100),   lo = H.lowerQuantile(p / 100)      (H: the tensor's {@link StreamingHistogram})
 *   range = [min(lo, 0), max(hi, 0)]
 * </pre>
 *
 * The quantiles are bin-resolution and conservative (never inside the exact percentile, at most one bin outside,
 * and never beyond the observed min/max). The count to keep, {@code ceil(p·N/100)}, is computed exactly in decimal
 * (p as written in the recipe), so binary rounding of p/100 cannot move the bound by one value. Two-sided on {@code x} rather than symmetric on {@code |x|} because activations are
 * quantized asymmetrically: a Relu output keeps min 0, and a tensor with a long positive tail and a short negative
 * one is clipped only where it has a tail. The range always contains 0 (the quantizer would widen it anyway). Depends
 * only on the histogram, so independent of batch size and order.
 */
public final class PercentileCalibrator implements HistogramCalibrator {

    public static final String NAME = "percentile";

    /** Percentile used for a bare {@code percentile}. */
    public static final BigDecimal DEFAULT_PERCENTILE = new BigDecimal("99.99");

    private static final BigDecimal FIFTY = BigDecimal.valueOf(50);
    private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

    private final BigDecimal percentile;
    private final BigDecimal fraction;

    /** @param percentile p, in (50, 100] */
    public PercentileCalibrator(BigDecimal percentile) {
        if (percentile.compareTo(FIFTY) <= 0 || percentile.compareTo(HUNDRED) > 0) {
            throw new CalibrationException("percentile must be in (50, 100], was " + percentile.toPlainString());
        }
        this.percentile = percentile.stripTrailingZeros();
        this.fraction = this.percentile.movePointLeft(2);
    }

    public BigDecimal percentile() {
        return percentile;
    }

    @Override
    public String name() {
        return NAME + ":" + percentile.toPlainString();
    }

    @Override
    public TensorRange range(StreamingHistogram h) {
        float hi = h.upperQuantile(fraction);
        float lo = h.lowerQuantile(fraction);
        return new TensorRange(Math.min(lo, 0f), Math.max(hi, 0f));
    }
}
