package dev.quantflow.quant.calib;

/**
 * {@code minmax}: the exact observed range {@code [min x, max x]} over all samples (see {@link MinMaxObserver}).
 * No clipping, so one outlier sets the scale for every value. Independent of batch size and order.
 */
public final class MinMaxCalibrator implements Calibrator {

    public static final String NAME = MinMaxObserver.NAME;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TensorRange range(TensorObservation observation) {
        return new TensorRange(observation.min(), observation.max());
    }
}
