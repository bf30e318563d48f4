package dev.quantflow.quant.calib;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything streamed about one tensor during calibration, in memory independent of the number of samples: what
 * every {@link Calibrator} reads.
 *
 * <ul>
 *   <li><b>min, max, count</b>: exact, independent of batching.
 *   <li><b>histogram</b> (optional, {@link StreamingHistogram}): independent of batching.
 *   <li><b>moving average of per-sample min/max</b>: a batch of {@code n} samples and {@code L} elements is cut into
 *       {@code n} consecutive chunks of {@code L/n} elements (sample {@code s} = chunk {@code s}, which is what axis 0
 *       = samples means). In sample order,
 *       <pre>
 *         m_1 = min(sample 1),   m_s = m_{s-1} + c·(min(sample s) - m_{s-1})      (c = {@value #EMA_MOMENTUM})
 *       </pre>
 *       and the same for max, in double precision — PyTorch's {@code MovingAverageMinMaxObserver} update (averaging
 *       constant 0.01), applied per sample instead of per batch so that it does not depend on the batch size; it
 *       does depend on sample order (file order, fixed). If a batch's element count is not a multiple of its sample
 *       count, the tensor has no per-sample layout and the average is marked unavailable.
 *   <li><b>per-channel min/max</b> (optional): channel {@code c} along axis 1 of a tensor of shape {@code [N, C, ...]}
 *       (exact, independent of batching). Tensors of rank below 2 have no channels and get none.
 * </ul>
 *
 * <p>A NaN or infinite value fails with a {@link CalibrationException} naming the tensor. Not thread-safe.
 */
public final class TensorObservation {

    /** Averaging constant {@code c} of the per-sample moving average. */
    public static final double EMA_MOMENTUM = 0.01;

    private final String tensor;
    private final StreamingHistogram histogram;
    private final boolean perChannel;

    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;
    private long count;

    private boolean emaAvailable = true;
    private boolean emaStarted;
    private double emaMin;
    private double emaMax;

    private float[] channelMin;
    private float[] channelMax;
    private boolean channelsAvailable;

    /**
     * @param tensor name used in messages
     * @param histogramBins bins of the histogram; 0 for none (for calibrators that do not read it)
     * @param perChannel whether to keep per-channel min/max along axis 1
     */
    public TensorObservation(String tensor, int histogramBins, boolean perChannel) {
        this.tensor = Objects.requireNonNull(tensor);
        this.histogram = histogramBins == 0 ? null : new StreamingHistogram(histogramBins);
        this.perChannel = perChannel;
        this.channelsAvailable = perChannel;
    }

    /**
     * Merges one batch.
     *
     * @param values the batch's elements, position to limit (position unchanged)
     * @param samples number of samples in the batch (≥ 1)
     * @param shape the batch's shape (axis 0 = samples), needed only for per-channel statistics; may be null
     */
    public void observe(FloatBuffer values, int samples, long[] shape) {
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be >= 1, was " + samples);
        }
        int start = values.position();
        int end = values.limit();
        if (start == end) {
            return;
        }
        FiniteRangeScan.MinMax range = FiniteRangeScan.scan(values,
            (value, index) -> CalibrationException.nonFinite(tensor, value, index));
        min = Math.min(min, range.min());
        max = Math.max(max, range.max());
        count += end - start;
        if (histogram != null) {
            histogram.add(values);
        }
        updateMovingAverage(values, start, end, samples);
        if (perChannel) {
            updateChannels(values, start, end, shape);
        }
    }

    /** Merges {@code values[offset .. offset+length)}; see {@link #observe(FloatBuffer, int, long[])}. */
    public void observe(float[] values, int offset, int length, int samples, long[] shape) {
        Objects.checkFromIndexSize(offset, length, values.length);
        observe(FloatBuffer.wrap(values, offset, length), samples, shape);
    }

    private void updateMovingAverage(FloatBuffer values, int start, int end, int samples) {
        int length = end - start;
        if (!emaAvailable || length % samples != 0) {
            emaAvailable = false;
            return;
        }
        int perSample = length / samples;
        for (int s = 0; s < samples; s++) {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            int from = start + s * perSample;
            for (int i = from; i < from + perSample; i++) {
                float v = values.get(i);
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            if (!emaStarted) {
                emaMin = lo;
                emaMax = hi;
                emaStarted = true;
            } else {
                emaMin += EMA_MOMENTUM * (lo - emaMin);
                emaMax += EMA_MOMENTUM * (hi - emaMax);
            }
        }
    }

    private void updateChannels(FloatBuffer values, int start, int end, long[] shape) {
        if (!channelsAvailable) {
            return;
        }
        if (shape == null || shape.length < 2) {
            channelsAvailable = false;
            return;
        }
        long inner = 1;
        for (int d = 2; d < shape.length; d++) {
            inner *= shape[d];
        }
        long channels = shape[1];
        if (shape[0] * channels * inner != end - start) {
            throw new IllegalArgumentException("tensor '" + tensor + "': shape " + java.util.Arrays.toString(shape)
                + " does not match " + (end - start) + " elements");
        }
        if (channelMin == null) {
            channelMin = new float[(int) channels];
            channelMax = new float[(int) channels];
            java.util.Arrays.fill(channelMin, Float.POSITIVE_INFINITY);
            java.util.Arrays.fill(channelMax, Float.NEGATIVE_INFINITY);
        } else if (channelMin.length != channels) {
            throw new CalibrationException("tensor '" + tensor + "' has " + channels + " channels (axis 1) in one batch and "
                + channelMin.length + " in another; per-channel statistics need a fixed channel count");
        }
        int c = channelMin.length;
        int in = (int) inner;
        int i = start;
        for (long n = 0; n < shape[0]; n++) {
            for (int ch = 0; ch < c; ch++) {
                float lo = channelMin[ch];
                float hi = channelMax[ch];
                for (int k = 0; k < in; k++, i++) {
                    float v = values.get(i);
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                channelMin[ch] = lo;
                channelMax[ch] = hi;
            }
        }
    }

    public String tensor() {
        return tensor;
    }

    /** Number of elements observed. */
    public long count() {
        return count;
    }

    /** Smallest value; +Infinity while nothing was observed. */
    public float min() {
        return min;
    }

    /** Largest value; -Infinity while nothing was observed. */
    public float max() {
        return max;
    }

    /** {@code max(|min|, |max|)}; 0 while nothing was observed. */
    public float absMax() {
        return count == 0 ? 0f : Math.max(Math.abs(min), Math.abs(max));
    }

    /** The histogram, when this observation keeps one. */
    public Optional<StreamingHistogram> histogram() {
        return Optional.ofNullable(histogram);
    }

    /** Whether the per-sample moving average exists (some value was observed, every batch divided into samples). */
    public boolean hasMovingAverage() {
        return emaAvailable && emaStarted;
    }

    /** Moving average of per-sample minima (see class doc), rounded to float. */
    public float movingAverageMin() {
        requireMovingAverage();
        return (float) emaMin;
    }

    /** Moving average of per-sample maxima (see class doc), rounded to float. */
    public float movingAverageMax() {
        requireMovingAverage();
        return (float) emaMax;
    }

    private void requireMovingAverage() {
        if (!hasMovingAverage()) {
            throw new IllegalStateException("no per-sample moving average for tensor '" + tensor + "'");
        }
    }

    /** Per-channel ranges along axis 1; empty when not asked for, or the tensor has rank below 2. */
    public List<TensorRange> channelRanges() {
        if (!channelsAvailable || channelMin == null) {
            return List.of();
        }
        List<TensorRange> out = new ArrayList<>(channelMin.length);
        for (int c = 0; c < channelMin.length; c++) {
            out.add(new TensorRange(channelMin[c], channelMax[c]));
        }
        return List.copyOf(out);
    }
}
