package dev.quantflow.quant.calib;

import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Streams calibration batches of many tensors through one {@link TensorObservation} each and, at the end, asks a
 * {@link Calibrator} for every tensor's range. Memory is O(tensors × (histogram bins + channels)), whatever the
 * number of samples: no value is kept after its batch has been merged.
 *
 * <p>A histogram ({@link StreamingHistogram#DEFAULT_BINS} bins) is kept per tensor only when the calibrator reads it
 * or outlier summaries are asked for, so {@code minmax} costs what {@link MinMaxObserver} costs and gives the same
 * ranges, bit for bit. Results are deterministic; which of them depend on batching is documented per calibrator.
 *
 * <p>Not thread-safe: one observer per calibration run.
 */
public final class CalibrationObserver {

    private final Calibrator calibrator;
    private final boolean perChannel;
    private final boolean outlierSummary;
    private final int bins;
    private final Map<String, TensorObservation> tensors = new LinkedHashMap<>();

    /** Ranges only: no per-channel statistics, no outlier summaries. */
    public CalibrationObserver(Calibrator calibrator) {
        this(calibrator, false, false);
    }

    /**
     * @param perChannel also record per-channel min/max along axis 1 ({@link ActivationStatistics#channelRanges()})
     * @param outlierSummary also record {@link OutlierSummary} per tensor ({@link ActivationStatistics#outliers()})
     */
    public CalibrationObserver(Calibrator calibrator, boolean perChannel, boolean outlierSummary) {
        this.calibrator = Objects.requireNonNull(calibrator);
        this.perChannel = perChannel;
        this.outlierSummary = outlierSummary;
        this.bins = calibrator.usesHistogram() || outlierSummary ? StreamingHistogram.DEFAULT_BINS : 0;
    }

    public Calibrator calibrator() {
        return calibrator;
    }

    /**
     * Merges one batch of {@code tensor}: the remaining elements of {@code values} (position unchanged).
     *
     * @param samples samples in the batch (axis 0), ≥ 1
     * @param shape the batch's shape, used for per-channel statistics; may be null when not asked for
     * @throws CalibrationException for a NaN or infinite value (naming the tensor)
     */
    public void observe(String tensor, FloatBuffer values, int samples, long[] shape) {
        if (values.remaining() == 0) {
            return;
        }
        tensors.computeIfAbsent(tensor, t -> new TensorObservation(t, bins, perChannel)).observe(values, samples, shape);
    }

    /** Merges {@code values[offset .. offset+length)}; see {@link #observe(String, FloatBuffer, int, long[])}. */
    public void observe(String tensor, float[] values, int offset, int length, int samples, long[] shape) {
        Objects.checkFromIndexSize(offset, length, values.length);
        observe(tensor, FloatBuffer.wrap(values, offset, length), samples, shape);
    }

    /** What has been streamed for {@code tensor}, if any value was. */
    public java.util.Optional<TensorObservation> observation(String tensor) {
        return java.util.Optional.ofNullable(tensors.get(tensor));
    }

    /**
     * The calibration artifact for {@code expectedTensors}, named after the calibrator.
     *
     * @param samples number of samples observed, recorded in the artifact
     * @throws CalibrationException if an expected tensor never had a value observed, or the calibrator cannot give
     *                              a range for one
     */
    public ActivationStatistics toStatistics(int samples, Iterable<String> expectedTensors) {
        StringBuilder missing = new StringBuilder();
        for (String t : expectedTensors) {
            if (!tensors.containsKey(t)) {
                missing.append(missing.isEmpty() ? "" : ", ").append(t);
            }
        }
        if (!missing.isEmpty()) {
            throw new CalibrationException("no values were observed for tensor(s) " + missing
                + " (they were empty on every calibration sample), so no range can be given for them");
        }
        Map<String, TensorRange> ranges = new TreeMap<>();
        Map<String, List<TensorRange>> channels = new TreeMap<>();
        Map<String, OutlierSummary> outliers = new TreeMap<>();
        for (TensorObservation o : tensors.values()) {
            ranges.put(o.tensor(), calibrator.range(o));
            if (perChannel && !o.channelRanges().isEmpty()) {
                channels.put(o.tensor(), o.channelRanges());
            }
            if (outlierSummary) {
                outliers.put(o.tensor(), OutlierSummary.of(Calibrators.histogramOf(o)));
            }
        }
        return new ActivationStatistics(calibrator.name(), samples, ranges, channels, outliers);
    }
}
