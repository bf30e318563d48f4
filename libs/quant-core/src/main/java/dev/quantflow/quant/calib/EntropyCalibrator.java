package dev.quantflow.quant.calib;

/**
 * {@code entropy}: TensorRT's entropy calibration — the clipping threshold whose 8-bit quantization loses the least
 * information, measured as the KL divergence between the reference distribution and its quantized version.
 *
 * <h2>Algorithm</h2>
 * On the histogram of {@code |x|} (the exact fold of the tensor's {@link StreamingHistogram}: bins
 * {@code h[0..J)} of width {@code w}, J = bins in use) and for every candidate bin count {@code i = L .. J}:
 * <pre>
 *   P[k] = h[k] for k &lt; i-1,   P[i-1] = h[i-1] + Σ_{k ≥ i} h[k]          clipped reference, outliers folded in
 *   split bins 0..i-1 into L groups, group g = [floor(g·i/L), floor((g+1)·i/L))
 *   Q[k] = T_g / n_g if P[k] &gt; 0, else 0    T_g = Σ_{k∈g} h[k] (without the outliers), n_g = #{k ∈ g : P[k] &gt; 0}
 *   KL_i = Σ_k p[k]·ln(p[k] / q[k]),   p = smooth(P) / ΣP,  q = smooth(Q) / ΣQ      (smoothing: see below)
 * </pre>
 * and the threshold is {@code T = i*·w} (the upper edge of the last kept bin) for the {@code i*} with the smallest
 * KL, capped at {@code max|x|}. As in TensorRT, Q is built from the bins <i>without</i> the outliers (built from P it
 * would equal P at {@code i = L} and every threshold would look lossless there) and expanded back only onto the bins
 * where P is non-zero, so empty bins stay empty.
 *
 * <h2>Levels and range</h2>
 * L = {@value #SIGNED_LEVELS} for a tensor with negative values (the code magnitudes 0..127 of an 8-bit grid
 * symmetric around 0, as in TensorRT), L = {@value #NON_NEGATIVE_LEVELS} for a non-negative tensor (min ≥ 0, e.g. a
 * Relu output: an asymmetric 8-bit grid over {@code [0, T]} has 256 codes). The range is
 * {@code [max(min, -T), min(max, T)]} widened to contain 0: a non-negative tensor keeps min 0 and a one-sided tail is
 * clipped only on its side.
 *
 * <h2>Edge cases</h2>
 * <ul>
 *   <li>Smoothing, as in the MXNet and ONNX Runtime ports of the method: before normalizing, every empty bin of P
 *       and of Q gets {@value #SMOOTHING} counts, taken evenly from the non-empty bins of the same distribution (so
 *       sums are unchanged and q &gt; 0 wherever p &gt; 0). Without it, a candidate that folds far outliers into an
 *       empty region of the histogram (Q's last group empty, P's last bin not) would have {@code KL = +∞}, and the
 *       isolated outliers that clipping is for could never be clipped. A candidate whose smoothing is impossible
 *       (Q all zero: every value lies beyond it; or a non-empty bin smaller than what it must give up) is rejected.
 *       {@code i = J} has no outliers and is never rejected by the first rule.
 *   <li>Ties: the smallest {@code i} wins (the first minimum, as argmin in the published implementations).
 *   <li>{@code J ≤ L}: the histogram is no finer than the grid, nothing can be gained by clipping, T = max|x|.
 *   <li>Resolution floor: the smallest threshold is {@code L·w}. With B = 2048 bins between B/2 and B are in use,
 *       so a non-negative tensor (L = 256) is never clipped below 1/8 to 1/4 of its max, a symmetric one (L = 128,
 *       about B/2 |x| bins) below about 1/8 (TensorRT's 2048 bins over [0, max|x|] with L = 128: 1/16). A bulk
 *       narrower than that keeps the floor as its threshold; {@code percentile} and {@code mse} have no such floor.
 * </ul>
 * Reads only the histogram (and min/max), so independent of batch size and order.
 */
public final class EntropyCalibrator implements HistogramCalibrator {

    public static final String NAME = "entropy";

    /** Quantization levels for a tensor with negative values. */
    public static final int SIGNED_LEVELS = 128;

    /** Quantization levels for a non-negative tensor. */
    public static final int NON_NEGATIVE_LEVELS = 256;

    /** Count given to empty bins of P and Q before normalizing (see class doc). */
    static final double SMOOTHING = 1e-4;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TensorRange range(StreamingHistogram h) {
        float min = h.min();
        float max = h.max();
        int levels = min >= 0 ? NON_NEGATIVE_LEVELS : SIGNED_LEVELS;
        long[] folded = new long[h.bins()];
        int used = h.foldAbs(folded);
        int kept = optimalBinCount(folded, used, levels);
        double threshold = Math.min(h.absMax(), kept * h.binWidth());
        float lo = (float) Math.max(min, -threshold);
        float hi = (float) Math.min(max, threshold);
        return new TensorRange(Math.min(lo, 0f), Math.max(hi, 0f));
    }

    /**
     * The bin count {@code i*} minimizing {@link #divergence} over {@code i = levels .. used}; {@code used} when
     * {@code used ≤ levels}.
     *
     * @param hist |x| counts, {@code hist[0 .. used)}
     */
    static int optimalBinCount(long[] hist, int used, int levels) {
        if (used <= levels) {
            return used;
        }
        double[] p = new double[used];
        double[] q = new double[used];
        int best = used;
        double bestKl = Double.POSITIVE_INFINITY;
        for (int i = levels; i <= used; i++) {
            double kl = divergence(hist, used, i, levels, p, q);
            if (kl < bestKl) {
                bestKl = kl;
                best = i;
            }
        }
        return best;
    }

    /**
     * {@code KL_i} of the class doc, smoothed.
     *
     * @param used bins in use, {@code hist[0 .. used)}
     * @param p scratch, at least {@code i} long (caller-owned)
     * @param q scratch, at least {@code i} long (caller-owned)
     */
    static double divergence(long[] hist, int used, int i, int levels, double[] p, double[] q) {
        long outliers = 0;
        for (int k = i; k < used; k++) {
            outliers += hist[k];
        }
        for (int k = 0; k < i; k++) {
            p[k] = hist[k];
        }
        p[i - 1] += outliers;
        for (int g = 0; g < levels; g++) {
            int from = (int) ((long) g * i / levels);
            int to = (int) ((long) (g + 1) * i / levels);
            double groupTotal = 0;
            int support = 0;
            for (int k = from; k < to; k++) {
                groupTotal += hist[k];
                support += p[k] != 0 ? 1 : 0;
            }
            for (int k = from; k < to; k++) {
                q[k] = p[k] != 0 ? groupTotal / support : 0;
            }
        }
        if (!smooth(p, i) || !smooth(q, i)) {
            return Double.POSITIVE_INFINITY;
        }
        double pSum = 0;
        double qSum = 0;
        for (int k = 0; k < i; k++) {
            pSum += p[k];
            qSum += q[k];
        }
        double kl = 0;
        for (int k = 0; k < i; k++) {
            double pk = p[k] / pSum;
            kl += pk * Math.log(pk / (q[k] / qSum));
        }
        return kl;
    }

    /**
     * Gives every zero of {@code d[0 .. n)} {@value #SMOOTHING} and takes the same total evenly from the non-zero
     * entries; false when that is impossible (no non-zero entry, or one would drop to ≤ 0).
     */
    private static boolean smooth(double[] d, int n) {
        int zeros = 0;
        for (int k = 0; k < n; k++) {
            zeros += d[k] == 0 ? 1 : 0;
        }
        if (zeros == n) {
            return false;
        }
        double take = SMOOTHING * zeros / (n - zeros);
        for (int k = 0; k < n; k++) {
            if (d[k] == 0) {
                d[k] = SMOOTHING;
            } else {
                d[k] -= take;
                if (d[k] <= 0) {
                    return false;
                }
            }
        }
        return true;
    }
}
