package dev.quantflow.quant.calib;

/**
 * Calibration cannot produce trustworthy ranges (a tensor holds NaN or Inf, a requested tensor produced no values,
 * an unknown calibrator was asked for). Permanent: running again on the same model and data fails the same way.
 * The message names the tensor and says what to check.
 */
public class CalibrationException extends RuntimeException {
    public CalibrationException(String message) {
        super(message);
    }

    public CalibrationException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The failure for a NaN or infinite element {@code index} of a batch of {@code tensor}. */
    static CalibrationException nonFinite(String tensor, float v, int index) {
        return new CalibrationException("tensor '" + tensor + "' holds " + (Float.isNaN(v) ? "NaN" : Float.toString(v))
            + " (element " + index + " of the batch): the model produces non-finite values on the calibration data, "
            + "so no usable range exists; check the input data (NaN/Inf, wrong scaling) and the model");
    }
}
