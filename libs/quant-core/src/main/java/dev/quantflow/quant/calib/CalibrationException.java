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
}
