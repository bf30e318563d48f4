package dev.quantflow.runtime.calib;

import java.util.List;

import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.calib.Calibrators;
import dev.quantflow.quant.calib.MinMaxObserver;

/**
 * How a calibration pass runs.
 *
 * @param batchSize samples per model run (default 32); ranges do not depend on it (every calibrator reads
 *                  batch-independent statistics; {@code minmax-ema} averages per sample)
 * @param maxSamples use only the first {@code maxSamples} samples of the file; 0 = all (default)
 * @param calibrator range method, a recipe string of {@link Calibrators#parse}: {@code minmax} (default),
 *                   {@code minmax-ema}, {@code percentile[:p]}, {@code entropy}, {@code mse}
 * @param intraOpThreads ONNX Runtime threads inside one operator (default 1)
 * @param perChannel also record per-channel min/max along axis 1 (default off)
 * @param outlierSummary also record max|x| and the 99.99th percentile of |x| per tensor (default off, so the default
 *                       artifact keeps its bytes)
 */
public record CalibrationOptions(int batchSize, int maxSamples, String calibrator, int intraOpThreads,
                                 boolean perChannel, boolean outlierSummary) {

    /** Calibrator names this runner implements (a parameter may follow {@code percentile:}). */
    public static final List<String> CALIBRATORS = Calibrators.NAMES;

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
        Calibrators.parse(calibrator); // throws CalibrationException naming what exists
    }

    /** Ranges only (no per-channel statistics, no outlier summaries). */
    public CalibrationOptions(int batchSize, int maxSamples, String calibrator, int intraOpThreads) {
        this(batchSize, maxSamples, calibrator, intraOpThreads, false, false);
    }

    /** batchSize 32, all samples, minmax, 1 thread, no per-channel statistics, no outlier summaries. */
    public static CalibrationOptions defaults() {
        return new CalibrationOptions(32, 0, MinMaxObserver.NAME, 1);
    }

    public CalibrationOptions withBatchSize(int n) {
        return new CalibrationOptions(n, maxSamples, calibrator, intraOpThreads, perChannel, outlierSummary);
    }

    public CalibrationOptions withMaxSamples(int n) {
        return new CalibrationOptions(batchSize, n, calibrator, intraOpThreads, perChannel, outlierSummary);
    }

    /** @throws CalibrationException for a recipe string {@link Calibrators#parse} does not accept */
    public CalibrationOptions withCalibrator(String name) {
        return new CalibrationOptions(batchSize, maxSamples, name, intraOpThreads, perChannel, outlierSummary);
    }

    public CalibrationOptions withIntraOpThreads(int n) {
        return new CalibrationOptions(batchSize, maxSamples, calibrator, n, perChannel, outlierSummary);
    }

    public CalibrationOptions withPerChannel(boolean on) {
        return new CalibrationOptions(batchSize, maxSamples, calibrator, intraOpThreads, on, outlierSummary);
    }

    public CalibrationOptions withOutlierSummary(boolean on) {
        return new CalibrationOptions(batchSize, maxSamples, calibrator, intraOpThreads, perChannel, on);
    }
}
