package dev.quantflow.quant.llm;

import java.util.List;

import dev.quantflow.quant.QuantizationException;

/**
 * AWQ's activation-aware per-input-channel scales (Lin et al. 2023, "AWQ: Activation-aware Weight Quantization for
 * LLM Compression and Acceleration"), for the MatMuls {@code Y_m = X · W_m} that read one activation X.
 *
 * <p>Scaling input channel {@code j} of every weight up by {@code s_j} and the activation down by it leaves the
 * product unchanged in exact arithmetic, {@code X W = (X / s) (s·W)}, but the weights of channels with large
 * activations then land on a finer relative grid. The scales are
 * <pre>
 *   s_j  = max(s_x,j ^ α, 1e−4),   s_x,j = mean |X[:, j]|   ({@link LayerInputStats#meanAbs()})
 *   s   ← s / √(max s · min s)                                  (normalised around 1)
 *   α*  = argmin over α ∈ {0, 1/19, …, 1}  Σ_m ‖X W_m − (X / s) Q(s · W_m)‖²_F
 * </pre>
 * with {@code Q} round-to-nearest on the layer's grid ({@link RtnQuantizer}) and X the calibration rows sampled by
 * {@link LayerInputStats#sample()}; the sum runs jointly over all MatMuls sharing X (q, k and v share one s). α = 0
 * gives s = 1, plain RTN, so the chosen scales never do worse than RTN on the sample. Ties keep the smaller α.
 */
public final class AwqScaleSearch {

    /** Points of the α grid over [0, 1]. */
    public static final int GRID_POINTS = 20;
    private static final float MIN_SCALE = 1e-4f;

    /** The chosen scales and the sample loss they give, next to the loss of plain RTN (α = 0). */
    public record Result(float[] scales, double alpha, double loss, double rtnLoss) {
    }

    /** One weight of the group: {@code [k, n]} row-major and the quantizer it will be quantized with. */
    public record Member(float[] weight, int n, RtnQuantizer quantizer) {
    }

    private AwqScaleSearch() {
    }

    public static Result search(List<Member> members, int k, LayerInputStats stats) {
        if (stats.k() != k) {
            throw new QuantizationException("statistics of '" + stats.tensor() + "' have " + stats.k()
                + " channels, the weights " + k);
        }
        int rows = stats.sampleRows();
        if (rows == 0) {
            throw new QuantizationException("AWQ needs sampled activation rows of '" + stats.tensor()
                + "', the statistics hold none (collect them with maxSampleRows > 0)");
        }
        float[] x = stats.sample();
        float[] meanAbs = stats.meanAbs();
        int maxN = members.stream().mapToInt(Member::n).max().orElse(0);
        float[] diff = new float[k * maxN];
        double[] y = new double[maxN];
        float[] s = new float[k];
        float[] best = null;
        double bestLoss = Double.POSITIVE_INFINITY;
        double bestAlpha = 0;
        double rtnLoss = Double.NaN;
        for (int p = 0; p < GRID_POINTS; p++) {
            double alpha = p / (double) (GRID_POINTS - 1);
            scales(meanAbs, alpha, s);
            double loss = 0;
            for (Member m : members) {
                loss += loss(m, s, k, x, rows, diff, y);
            }
            if (p == 0) {
                rtnLoss = loss;
            }
            if (loss < bestLoss) {
                bestLoss = loss;
                bestAlpha = alpha;
                best = s.clone();
            }
        }
        return new Result(best, bestAlpha, bestLoss, rtnLoss);
    }

    /** {@code s = normalise(max(meanAbs^α, 1e−4))} into {@code out}. */
    static void scales(float[] meanAbs, double alpha, float[] out) {
        float max = 0f;
        float min = Float.POSITIVE_INFINITY;
        for (int j = 0; j < meanAbs.length; j++) {
            float v = Math.max((float) Math.pow(meanAbs[j], alpha), MIN_SCALE);
            out[j] = v;
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        float norm = (float) Math.sqrt((double) max * min);
        for (int j = 0; j < out.length; j++) {
            out[j] /= norm;
        }
    }

    /** {@code diag(s) · W} into {@code out}. */
    static void scaleRows(float[] w, int k, int n, float[] s, float[] out) {
        for (int i = 0; i < k; i++) {
            float f = s[i];
            int r = i * n;
            for (int c = 0; c < n; c++) {
                out[r + c] = w[r + c] * f;
            }
        }
    }

    private static double loss(Member m, float[] s, int k, float[] x, int rows, float[] diff, double[] y) {
        int n = m.n();
        float[] w = m.weight();
        float[] sw = new float[k * n];
        scaleRows(w, k, n, s, sw);
        float[] dq = m.quantizer().quantize(sw, k, n).dequantize();
        for (int i = 0; i < k; i++) {
            float inv = 1f / s[i];
            int r = i * n;
            for (int c = 0; c < n; c++) {
                diff[r + c] = w[r + c] - dq[r + c] * inv;
            }
        }
        double total = 0;
        for (int row = 0; row < rows; row++) {
            java.util.Arrays.fill(y, 0, n, 0.0);
            int xr = row * k;
            for (int i = 0; i < k; i++) {
                double xv = x[xr + i];
                if (xv == 0.0) {
                    continue;
                }
                int r = i * n;
                for (int c = 0; c < n; c++) {
                    y[c] += xv * diff[r + c];
                }
            }
            for (int c = 0; c < n; c++) {
                total += y[c] * y[c];
            }
        }
        return total;
    }
}
