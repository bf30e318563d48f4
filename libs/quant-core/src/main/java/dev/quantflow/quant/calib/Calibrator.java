package dev.quantflow.quant.calib;

/**
 * Turns what was streamed about one tensor ({@link TensorObservation}) into the range its activations are
 * quantized with. Implementations are stateless and deterministic: the same observation gives the same range.
 * Obtain one by recipe string from {@link Calibrators#parse}.
 */
public interface Calibrator {

    /** Canonical recipe string, recorded in {@link ActivationStatistics#calibrator()} (e.g. {@code percentile:99.99}). */
    String name();

    /**
     * Whether {@link #range} reads {@link TensorObservation#histogram()}; if not, none needs to be kept. Range-only
     * calibrators keep this default; the histogram ones implement {@link HistogramCalibrator}, which says true.
     */
    default boolean usesHistogram() {
        return false;
    }

    /**
     * @param observation a tensor with at least one observed value (and a histogram if {@link #usesHistogram()})
     * @throws CalibrationException if this method cannot give a range for the tensor (the message names it)
     */
    TensorRange range(TensorObservation observation);
}
