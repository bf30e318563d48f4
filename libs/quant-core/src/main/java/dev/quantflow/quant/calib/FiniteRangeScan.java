package dev.quantflow.quant.calib;

import java.nio.FloatBuffer;

/**
 * One pass over a run of floats that yields its minimum and maximum and refuses NaN and ±Inf: the scan every
 * observer does before it folds a batch into its statistics.
 *
 * <p>{@code min = min_i x_i}, {@code max = max_i x_i} over the run; the first non-finite element (in index order)
 * stops the scan with the exception {@code onNonFinite} builds from its value and its index relative to the run's
 * start, so the caller keeps its own error type and message. An empty run is not scanned here: callers return early.
 */
public final class FiniteRangeScan {

    /** Builds the caller's error for a non-finite element. */
    @FunctionalInterface
    public interface NonFiniteError {
        RuntimeException at(float value, int index);
    }

    /** The minimum and maximum of a non-empty, all-finite run. */
    public record MinMax(float min, float max) {
    }

    private FiniteRangeScan() {
    }

    /** Scans {@code values[offset .. offset+length)}; {@code length >= 1}. */
    public static MinMax scan(float[] values, int offset, int length, NonFiniteError onNonFinite) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + length; i++) {
            float v = values[i];
            if (!Float.isFinite(v)) {
                throw onNonFinite.at(v, i - offset);
            }
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return new MinMax(lo, hi);
    }

    /** Scans the buffer from its position to its limit by absolute reads (the position is left unchanged). */
    public static MinMax scan(FloatBuffer values, NonFiniteError onNonFinite) {
        int start = values.position();
        int end = values.limit();
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (int i = start; i < end; i++) {
            float v = values.get(i);
            if (!Float.isFinite(v)) {
                throw onNonFinite.at(v, i - start);
            }
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return new MinMax(lo, hi);
    }
}
