package dev.quantflow.quant.calib;

import dev.quantflow.quant.QuantParams;
import dev.quantflow.quant.QuantType;

/**
 * {@code mse}: the clipping range whose 8-bit activation grid gives the smallest expected squared quantization error
 * over the tensor's histogram.
 *
 * <h2>Objective</h2>
 * With {@code [a, b] = [min(min, 0), max(max, 0)]} the observed range widened to 0, the candidates are its
 * contractions toward 0, {@code r_k = [a·k/K, b·k/K]} for {@code k = 1 .. K} ({@code K = }{@value #CANDIDATES}:
 * 0.2% steps). Both ends shrink together: a non-negative tensor is clipped at the top only, but a signed tensor with
 * a long tail on one side is also clipped a little on the other (a one-dimensional search; the full two-dimensional
 * one would cost K times more). For each candidate the
 * grid is exactly the quantizer's: {@link QuantParams#asymmetric} (scale {@code (b'-a')/255}, zero point rounded so
 * that 0 is a code; UINT8 and INT8 give the same grid shifted by 128), and
 * <pre>
 *   MSE(r) = Σ_j c_j · (x_j - DQ(Q(x_j)))²  /  N
 * </pre>
 * where bin j (count {@code c_j}) is represented by the midpoint of the part of the bin inside the observed
 * {@code [min, max]} (the midpoint rule; values beyond the candidate's range are clamped by Q, which is the clipping
 * error). The candidate with the smallest MSE wins; ties go to the wider range (k is scanned from K down and only a
 * strictly smaller MSE replaces the best). A tensor that is always 0 gets {@code [0, 0]}.
 *
 * <p>Cost: K × (non-empty bins) quantizations per tensor, at the end of calibration. Reads only the histogram, so
 * independent of batch size and order.
 */
public final class MseCalibrator implements HistogramCalibrator {

    public static final String NAME = "mse";

    /** Number of candidate ranges K. */
    public static final int CANDIDATES = 512;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public TensorRange range(StreamingHistogram h) {
        float a = Math.min(h.min(), 0f);
        float b = Math.max(h.max(), 0f);
        if (a == b) {
            return new TensorRange(a, b);
        }
        int bins = h.bins();
        float[] centers = new float[bins];
        long[] counts = new long[bins];
        int n = representatives(h, centers, counts);
        int bestK = CANDIDATES;
        double best = Double.POSITIVE_INFINITY;
        for (int k = CANDIDATES; k >= 1; k--) {
            TensorRange r = candidate(a, b, k);
            double error = squaredError(centers, counts, n, r);
            if (error < best) {
                best = error;
                bestK = k;
            }
        }
        return candidate(a, b, bestK);
    }

    /** {@code [a·k/K, b·k/K]} rounded to float. */
    static TensorRange candidate(float a, float b, int k) {
        return new TensorRange((float) ((double) a * k / CANDIDATES), (float) ((double) b * k / CANDIDATES));
    }

    /**
     * Writes the non-empty bins' representatives (midpoint of bin ∩ [min, max]) and counts into caller-owned
     * buffers; returns how many.
     */
    static int representatives(StreamingHistogram h, float[] centers, long[] counts) {
        int n = 0;
        for (int j = 0; j < h.bins(); j++) {
            long c = h.count(j);
            if (c != 0) {
                double lo = Math.max(h.min(), h.lowerEdge(j));
                double hi = Math.min(h.max(), h.upperEdge(j));
                centers[n] = (float) ((lo + hi) / 2);
                counts[n] = c;
                n++;
            }
        }
        return n;
    }

    /** {@code Σ c_j (x_j - DQ(Q(x_j)))²} on the asymmetric UINT8 grid of {@code range}; +∞ if it has no usable scale. */
    static double squaredError(float[] centers, long[] counts, int n, TensorRange range) {
        QuantParams grid;
        try {
            grid = QuantParams.asymmetric(range.min(), range.max(), QuantType.UINT8);
        } catch (IllegalArgumentException e) {
            return Double.POSITIVE_INFINITY;
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double d = centers[j] - (double) grid.dequantize(grid.quantize(centers[j]));
            sum += counts[j] * d * d;
        }
        return sum;
    }
}
