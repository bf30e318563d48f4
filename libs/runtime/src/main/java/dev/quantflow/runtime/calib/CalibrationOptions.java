package dev.quantflow.runtime.calib;

import java.util.List;

import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.calib.Calibrators;
import dev.quantflow.quant.calib.MinMaxObserver;
import java.util.function.Consumer;

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
        return copy(c -> c.batchSize = n);
    }

    public CalibrationOptions withMaxSamples(int n) {
        return copy(c -> c.maxSamples = n);
    }

    /** @throws CalibrationException for a recipe string {@link Calibrators#parse} does not accept */
    public CalibrationOptions withCalibrator(String name) {
        return copy(c -> c.calibrator = name);
    }

    public CalibrationOptions withIntraOpThreads(int n) {
        return copy(c -> c.intraOpThreads = n);
    }

    public CalibrationOptions withPerChannel(boolean on) {
        return copy(c -> c.perChannel = on);
    }

    public CalibrationOptions withOutlierSummary(boolean on) {
        return copy(c -> c.outlierSummary = on);
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private CalibrationOptions copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private int batchSize;
        private int maxSamples;
        private String calibrator;
        private int intraOpThreads;
        private boolean perChannel;
        private boolean outlierSummary;

        private Copy(CalibrationOptions from) {
            batchSize = from.batchSize;
            maxSamples = from.maxSamples;
            calibrator = from.calibrator;
            intraOpThreads = from.intraOpThreads;
            perChannel = from.perChannel;
            outlierSummary = from.outlierSummary;
        }

        private CalibrationOptions build() {
            return new CalibrationOptions(batchSize, maxSamples, calibrator, intraOpThreads, perChannel,
                outlierSummary);
        }
    }
}
