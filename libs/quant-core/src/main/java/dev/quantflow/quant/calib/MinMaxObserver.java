package dev.quantflow.quant.calib;

import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Streaming min/max calibrator: the range of tensor {@code t} after batches {@code B_1..B_k} is
 *
 * <pre>
 *   min_t = min over all batches b, all elements x of t in b, of x
 *   max_t = max over all batches b, all elements x of t in b, of x
 * </pre>
 *
 * <p>Batches are merged one at a time, so memory is one pair of floats per tensor whatever the data size. Min and
 * max are exact and order-independent, so the result does not depend on batch size or batch order (deterministic).
 * The range is the observed one: widening it to include zero, as affine quantization needs, is the quantizer's job.
 *
 * <p>Nothing is skipped silently: a NaN or infinite element fails the observation with a {@link CalibrationException}
 * that names the tensor, because a range built around non-finite values would quantize every real value to one
 * code. Observing zero elements leaves the tensor without a range; {@link #toStatistics} refuses to return
 * statistics for a tensor that has no range, so a requested tensor cannot silently go missing.
 *
 * <p>Not thread-safe: one observer per calibration run.
 */
public final class MinMaxObserver {

    /** Name under which {@link ActivationStatistics#calibrator()} records this method. */
    public static final String NAME = "minmax";

    /** Per tensor {min, max}; insertion order kept for messages, sorted on output. */
    private final Map<String, float[]> ranges = new LinkedHashMap<>();

    /** Merges {@code values[offset .. offset+length)} into the range of {@code tensor}. */
    public void observe(String tensor, float[] values, int offset, int length) {
        if (offset < 0 || length < 0 || offset + length > values.length) {
            throw new IndexOutOfBoundsException("offset " + offset + ", length " + length + ", array " + values.length);
        }
        if (length == 0) {
            return;
        }
        merge(tensor, FiniteRangeScan.scan(values, offset, length, (value, index) -> nonFinite(tensor, value, index)));
    }

    /** Merges all of {@code values}. */
    public void observe(String tensor, float[] values) {
        observe(tensor, values, 0, values.length);
    }

    /**
     * Merges the remaining elements of {@code values} (position to limit) without copying them; the buffer's position
     * is left unchanged. Lets a caller observe a runtime's output buffer directly.
     */
    public void observe(String tensor, FloatBuffer values) {
        int start = values.position();
        int end = values.limit();
        if (start == end) {
            return;
        }
        merge(tensor, FiniteRangeScan.scan(values, (value, index) -> nonFinite(tensor, value, index)));
    }

    /** Whether at least one element of {@code tensor} has been observed. */
    public boolean hasRange(String tensor) {
        return ranges.containsKey(tensor);
    }

    /** Current ranges, sorted by tensor name. */
    public Map<String, TensorRange> ranges() {
        Map<String, TensorRange> out = new TreeMap<>();
        ranges.forEach((name, r) -> out.put(name, new TensorRange(r[0], r[1])));
        return out;
    }

    /**
     * The calibration artifact for {@code expectedTensors}.
     *
     * @param samples number of samples the ranges were observed on, recorded in the artifact
     * @param expectedTensors every tensor the caller asked to calibrate
     * @throws CalibrationException if an expected tensor never had an element observed
     */
    public ActivationStatistics toStatistics(int samples, Iterable<String> expectedTensors) {
        StringBuilder missing = new StringBuilder();
        for (String t : expectedTensors) {
            if (!ranges.containsKey(t)) {
                missing.append(missing.isEmpty() ? "" : ", ").append(t);
            }
        }
        if (!missing.isEmpty()) {
            throw new CalibrationException("no values were observed for tensor(s) " + missing
                + " (they were empty on every calibration sample), so no range can be given for them");
        }
        return new ActivationStatistics(NAME, samples, ranges());
    }

    private void merge(String tensor, FiniteRangeScan.MinMax batch) {
        float[] r = ranges.get(tensor);
        if (r == null) {
            ranges.put(tensor, new float[] {batch.min(), batch.max()});
        } else {
            r[0] = Math.min(r[0], batch.min());
            r[1] = Math.max(r[1], batch.max());
        }
    }

    private static CalibrationException nonFinite(String tensor, float v, int index) {
        return CalibrationException.nonFinite(tensor, v, index);
    }
}
