package dev.quantflow.runtime.calib;

import java.util.List;

import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.calib.MinMaxObserver;

/**
 * How a calibration pass runs.
 *
 * @param batchSize samples per model run (default 32); ranges do not depend on it
 * @param maxSamples use only the first {@code maxSamples} samples of the file; 0 = all (default)
 * @param calibrator range method; only {@value MinMaxObserver#NAME} exists
 * @param intraOpThreads ONNX Runtime threads inside one operator (default 1)
 */
public record CalibrationOptions(int batchSize, int maxSamples, String calibrator, int intraOpThreads) {

    /** Calibrators this runner implements. */
    public static final List<String> CALIBRATORS = List.of(MinMaxObserver.NAME);

    public CalibrationOptions {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize);
        }
        if (maxSamples < 0) {
            throw new IllegalArgumentException("maxSamples must be >= 0 (0 = all), was " + maxSamples);
        }
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, was " + intraOpThreads);
        }
        if (!CALIBRATORS.contains(calibrator)) {
            throw new CalibrationException("unknown calibrator '" + calibrator + "'; available: " + CALIBRATORS);
        }
    }

    /** batchSize 32, all samples, minmax, 1 thread. */
    public static CalibrationOptions defaults() {
        return new CalibrationOptions(32, 0, MinMaxObserver.NAME, 1);
    }

    public CalibrationOptions withBatchSize(int n) {
        return new CalibrationOptions(n, maxSamples, calibrator, intraOpThreads);
    }

    public CalibrationOptions withMaxSamples(int n) {
        return new CalibrationOptions(batchSize, n, calibrator, intraOpThreads);
    }

    public CalibrationOptions withCalibrator(String name) {
        return new CalibrationOptions(batchSize, maxSamples, name, intraOpThreads);
    }

    public CalibrationOptions withIntraOpThreads(int n) {
        return new CalibrationOptions(batchSize, maxSamples, calibrator, n);
    }
}
