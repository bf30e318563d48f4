package dev.quantflow.quant.calib;

/**
 * {@code minmax-ema}: the moving average of per-sample minima and maxima, averaging constant
 * {@value TensorObservation#EMA_MOMENTUM} (PyTorch's {@code MovingAverageMinMaxObserver} default), updated once per
 * sample in file order (see {@link TensorObservation} for the recurrence). Recent samples weigh most
 * ({@code 0.99^k} for the sample k places back); a rare extreme sample moves the range by only 1% of its excess.
 *
 * <p>The range is the averaged one, clamped into the observed {@code [min, max]} (rounding could otherwise put it
 * a hair outside); it is not widened to include 0 (the quantizer does that, as for {@code minmax}). Independent of
 * batch size; dependent on sample order by definition.
 */
public final class MinMaxEmaCalibrator implements Calibrator {

    public static final String NAME = "minmax-ema";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TensorRange range(TensorObservation observation) {
        if (!observation.hasMovingAverage()) {
            throw new CalibrationException("tensor '" + observation.tensor() + "' has no per-sample layout (a batch's "
                + "element count was not a multiple of its sample count), so " + NAME + " cannot average per-sample "
                + "ranges; use minmax, percentile, entropy or mse for it");
        }
        float lo = clamp(observation.movingAverageMin(), observation.min(), observation.max());
        float hi = clamp(observation.movingAverageMax(), observation.min(), observation.max());
        return new TensorRange(lo, Math.max(lo, hi));
    }

    private static float clamp(float v, float lo, float hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
