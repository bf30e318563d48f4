package dev.quantflow.quant.calib;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Fixed-size histogram of one tensor's values, merged batch by batch, in O(bins) memory whatever the number of
 * values.
 *
 * <h2>Grid</h2>
 * Bin {@code j} (0 ≤ j &lt; B) holds the values {@code x} with
 *
 * <pre>
 *   floor(x / w) = o + j,     i.e. x ∈ [(o + j)·w, (o + j + 1)·w)
 * </pre>
 *
 * where the width {@code w} is a power of two and {@code o = floor(lo / w)} for the span {@code [lo, hi] =
 * [min(min, 0), max(max, 0)]}. The span always contains 0 because every quantization grid does (0 must be exact), so
 * 0 is a bin edge, clipping thresholds can be read off bin edges, and the histogram of {@code |x|} is an exact fold of
 * this one (see {@link #foldAbs}). {@code w} is the smallest power of two, not below {@code 2^-149}, with
 * {@code floor(hi / w) - floor(lo / w) ≤ B - 1}; so between B/2 and B bins are in use (data spanning exactly
 * {@code [0, 1]} uses B/2 + 1 bins, because 1 is the left edge of a new bin).
 *
 * <h2>Growing, and why the result does not depend on batching</h2>
 * When a batch widens the span so that it no longer fits, {@code w} doubles until it fits again, and old bin
 * {@code o + j} moves to new bin {@code floor((o + j) / 2^k)}. Because {@code floor(floor(x / w) / 2^k) =
 * floor(x / (2^k·w))}, every value ends in exactly the bin it would have been put in directly: re-binning is an exact
 * merge of whole bins, never a split or an interpolation. The smallest fitting width only grows as the span grows, so
 * after any sequence of batches {@code w} is the smallest fitting width for the final span. Hence the counts, min,
 * max and total are a function of the <b>multiset</b> of values only: any batch size, any batch order and
 * {@link #merge} of partial histograms give identical state. All index arithmetic is exact (powers of two, and all
 * bin indices lie in {@code [-B, B]} because 0 is in the span).
 *
 * <h2>Quantiles</h2>
 * For a fraction {@code q}, the number of values to keep is {@code n = ceil(q·N)}, computed exactly in decimal.
 * {@link #upperQuantile} is the upper edge of the first bin where the cumulative count reaches {@code n}, capped at
 * {@code max}: never less than the true q-quantile, and at most one bin above it. {@link #lowerQuantile} mirrors it
 * from the top, {@link #absQuantile} does the same on the fold of {@code |x|}.
 *
 * <p>Values must be finite; the caller (who knows the tensor name) reports NaN/Inf. Not thread-safe.
 */
public final class StreamingHistogram {

    /** Default bin count. 2048 longs: 16 KiB per tensor. */
    public static final int DEFAULT_BINS = 2048;

    /** Smallest width: the spacing of the smallest float subnormals, so a constant tensor still has a grid. */
    static final double MIN_WIDTH = 0x1p-149;

    private long[] counts;
    private long[] scratch;
    private final int bins;
    private double width;   // 0 while empty
    private int origin;     // o = floor(lo / w), in [-(B-1), 0]
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;
    private long total;

    public StreamingHistogram() {
        this(DEFAULT_BINS);
    }

    /** @param bins number of bins B, at least 2 */
    public StreamingHistogram(int bins) {
        if (bins < 2) {
            throw new IllegalArgumentException("a histogram needs at least 2 bins, was " + bins);
        }
        this.bins = bins;
        this.counts = new long[bins];
        this.scratch = new long[bins];
    }

    /** Adds {@code values[offset .. offset+length)}. */
    public void add(float[] values, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, values.length);
        add(FloatBuffer.wrap(values, offset, length));
    }

    /** Adds the remaining elements of {@code values} (position to limit); the position is left unchanged. */
    public void add(FloatBuffer values) {
        int start = values.position();
        int end = values.limit();
        if (start == end) {
            return;
        }
        FiniteRangeScan.MinMax range = FiniteRangeScan.scan(values, (value, index) ->
            new IllegalArgumentException("histogram values must be finite, element " + index + " is " + value));
        cover(range.min(), range.max());
        double inverse = 1.0 / width;
        for (int i = start; i < end; i++) {
            counts[(int) Math.floor(values.get(i) * inverse) - origin]++;
        }
        total += end - start;
    }

    /** Adds {@code count} copies of {@code value} (count ≥ 0). */
    public void add(float value, long count) {
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, was " + count);
        }
        if (!Float.isFinite(value)) {
            throw new IllegalArgumentException("histogram values must be finite, was " + value);
        }
        if (count == 0) {
            return;
        }
        cover(value, value);
        counts[(int) Math.floor(value * (1.0 / width)) - origin] += count;
        total += count;
    }

    /** Adds everything {@code other} holds; exact, the same as adding its values one by one. */
    public void merge(StreamingHistogram other) {
        if (other.bins != bins) {
            throw new IllegalArgumentException("cannot merge a " + other.bins + "-bin histogram into a " + bins + "-bin one");
        }
        if (other.total == 0) {
            return;
        }
        cover(other.min, other.max);
        double ratio = width / other.width;   // a power of two >= 1: the span here covers other's span
        for (int j = 0; j < bins; j++) {
            if (other.counts[j] != 0) {
                counts[(int) Math.floor((other.origin + j) / ratio) - origin] += other.counts[j];
            }
        }
        total += other.total;
    }

    /** Widens the span to include [lo, hi] (and 0), doubling the width and re-binning exactly when needed. */
    private void cover(float lo, float hi) {
        min = Math.min(min, lo);
        max = Math.max(max, hi);
        double spanLo = Math.min(min, 0f);
        double spanHi = Math.max(max, 0f);
        if (width == 0) {
            width = smallestWidth(spanLo, spanHi);
            origin = (int) Math.floor(spanLo / width);
            return;
        }
        double w = width;
        while (!fits(w, spanLo, spanHi)) {
            w *= 2;
        }
        int o = (int) Math.floor(spanLo / w);
        if (w == width && o == origin) {
            return;
        }
        double ratio = w / width;
        Arrays.fill(scratch, 0L);
        for (int j = 0; j < bins; j++) {
            if (counts[j] != 0) {
                scratch[(int) Math.floor((origin + j) / ratio) - o] += counts[j];
            }
        }
        long[] swap = counts;
        counts = scratch;
        scratch = swap;
        width = w;
        origin = o;
    }

    private boolean fits(double w, double lo, double hi) {
        return Math.floor(hi / w) - Math.floor(lo / w) <= bins - 1;
    }

    private double smallestWidth(double lo, double hi) {
        double span = hi - lo;
        double w = span > 0 ? Math.max(MIN_WIDTH, Math.scalb(1.0, Math.getExponent(span / bins))) : MIN_WIDTH;
        while (w > MIN_WIDTH && fits(w / 2, lo, hi)) {
            w /= 2;
        }
        while (!fits(w, lo, hi)) {
            w *= 2;
        }
        return w;
    }

    public int bins() {
        return bins;
    }

    /** Bin width {@code w} (a power of two); 0 while empty. */
    public double binWidth() {
        return width;
    }

    /** Lower edge of bin {@code j}: {@code (o + j)·w} (exact). */
    public double lowerEdge(int j) {
        Objects.checkIndex(j, bins);
        return (origin + j) * width;
    }

    /** Upper edge of bin {@code j}: {@code (o + j + 1)·w} (exact). */
    public double upperEdge(int j) {
        Objects.checkIndex(j, bins);
        return (origin + j + 1) * width;
    }

    /** Bin holding 0.0 (and the first non-negative bin). */
    public int zeroBin() {
        return -origin;
    }

    public long count(int j) {
        return counts[Objects.checkIndex(j, bins)];
    }

    /** Copies the counts into {@code dst[0 .. bins)} (caller-owned). */
    public void copyCounts(long[] dst) {
        System.arraycopy(counts, 0, dst, 0, bins);
    }

    public long totalCount() {
        return total;
    }

    public boolean isEmpty() {
        return total == 0;
    }

    /** Smallest value added; +Infinity while empty. */
    public float min() {
        return min;
    }

    /** Largest value added; -Infinity while empty. */
    public float max() {
        return max;
    }

    /** {@code max(|min|, |max|)}; 0 while empty. */
    public float absMax() {
        return total == 0 ? 0f : Math.max(Math.abs(min), Math.abs(max));
    }

    /**
     * Histogram of {@code |x|} on the same width: {@code dst[k]} counts the values with {@code |x|} in bin
     * {@code [k·w, (k+1)·w)} (for x ≥ 0) or {@code (k·w, (k+1)·w]} (for x &lt; 0, whose bins are mirrored; only a
     * value exactly on an edge can tell the two conventions apart).
     *
     * @param dst caller-owned, at least {@link #bins()} long; overwritten
     * @return the number of |x| bins in use: 1 + the last non-empty one (0 when empty)
     */
    public int foldAbs(long[] dst) {
        if (dst.length < bins) {
            throw new IllegalArgumentException("need " + bins + " slots, got " + dst.length);
        }
        Arrays.fill(dst, 0, bins, 0L);
        int used = 0;
        for (int j = 0; j < bins; j++) {
            if (counts[j] != 0) {
                int a = origin + j;
                int k = a >= 0 ? a : -a - 1;
                dst[k] += counts[j];
                used = Math.max(used, k + 1);
            }
        }
        return used;
    }

    /** Number of values that must lie at or below a q-quantile: {@code ceil(q·N)}, exact, at least 1. */
    static long keepCount(BigDecimal fraction, long n) {
        long keep = fraction.multiply(BigDecimal.valueOf(n)).setScale(0, RoundingMode.CEILING).longValueExact();
        return Math.max(1, Math.min(n, keep));
    }

    /**
     * Upper q-quantile: upper edge of the first bin where the cumulative count reaches {@code ceil(q·N)}, capped at
     * {@link #max()}.
     *
     * @param fraction q in (0, 1]
     */
    public float upperQuantile(BigDecimal fraction) {
        long keep = keepCount(checkFraction(fraction), checkNotEmpty());
        long cumulative = 0;
        for (int j = 0; j < bins; j++) {
            cumulative += counts[j];
            if (cumulative >= keep) {
                return (float) Math.min(max, upperEdge(j));
            }
        }
        return max;
    }

    /**
     * Lower q-quantile (mirror of {@link #upperQuantile}): lower edge of the last bin where the count from the top
     * reaches {@code ceil(q·N)}, floored at {@link #min()}.
     */
    public float lowerQuantile(BigDecimal fraction) {
        long keep = keepCount(checkFraction(fraction), checkNotEmpty());
        long cumulative = 0;
        for (int j = bins - 1; j >= 0; j--) {
            cumulative += counts[j];
            if (cumulative >= keep) {
                return (float) Math.max(min, lowerEdge(j));
            }
        }
        return min;
    }

    /**
     * q-quantile of {@code |x|}: upper edge {@code (k+1)·w} of the first {@link #foldAbs folded} bin where the
     * cumulative count reaches {@code ceil(q·N)}, capped at {@link #absMax()}.
     *
     * @param scratchBins caller-owned, at least {@link #bins()} long; overwritten
     */
    public float absQuantile(BigDecimal fraction, long[] scratchBins) {
        long keep = keepCount(checkFraction(fraction), checkNotEmpty());
        int used = foldAbs(scratchBins);
        long cumulative = 0;
        for (int k = 0; k < used; k++) {
            cumulative += scratchBins[k];
            if (cumulative >= keep) {
                return (float) Math.min(absMax(), (k + 1) * width);
            }
        }
        return absMax();
    }

    private long checkNotEmpty() {
        if (total == 0) {
            throw new IllegalStateException("empty histogram has no quantiles");
        }
        return total;
    }

    private static BigDecimal checkFraction(BigDecimal fraction) {
        if (fraction.signum() <= 0 || fraction.compareTo(BigDecimal.ONE) > 0) {
            throw new IllegalArgumentException("quantile fraction must be in (0, 1], was " + fraction);
        }
        return fraction;
    }
}
