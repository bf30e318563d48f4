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
 *
 * <p><b>The LM head</b> ({@link Member#logits()}): its output is the logits, whose squared error is dominated by the
 * many tokens of negligible probability; its loss is instead {@code Σ_rows KL(softmax(X W) ‖ softmax(X Ŵ))} on the
 * same sample, with Ŵ the effective quantized weight. (On fixtures/gpt-tied both losses pick α ≈ 0.37 and the
 * held-out perplexity is worse than RTN's for either: see docs/benchmarks.md, issue 16.)
 */
public final class AwqScaleSearch {

    /** Points of the α grid over [0, 1]. */
    public static final int GRID_POINTS = 20;
    private static final float MIN_SCALE = 1e-4f;

    /** The chosen scales and the sample loss they give, next to the loss of plain RTN (α = 0). */
    public record Result(float[] scales, double alpha, double loss, double rtnLoss) {
    }

    /**
     * One weight of the group: {@code [k, n]} row-major and the quantizer it will be quantized with. {@code logits}:
     * the MatMul produces the model's logits (the LM head), whose loss is the KL divergence of the next-token
     * distributions instead of the squared output error (see the class comment).
     */
    public record Member(float[] weight, int n, RtnQuantizer quantizer, boolean logits) {

        public Member(float[] weight, int n, RtnQuantizer quantizer) {
            this(weight, n, quantizer, false);
        }
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
        double[][] reference = new double[members.size()][];
        for (int p = 0; p < GRID_POINTS; p++) {
            double alpha = p / (double) (GRID_POINTS - 1);
            scales(meanAbs, alpha, s);
            double loss = 0;
            for (int mi = 0; mi < members.size(); mi++) {
                Member m = members.get(mi);
                if (m.logits()) {
                    if (reference[mi] == null) {
                        reference[mi] = logSoftmaxRows(m.weight(), null, m.n(), k, x, rows);
                    }
                    loss += klLoss(m, s, k, x, rows, reference[mi]);
                } else {
                    loss += loss(m, s, k, x, rows, diff, y);
                }
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

    /** The effective weight {@code diag(1/s) · Q(diag(s) · W)}. */
    static float[] effective(Member m, float[] s, int k) {
        int n = m.n();
        float[] sw = new float[k * n];
        scaleRows(m.weight(), k, n, s, sw);
        float[] dq = m.quantizer().quantize(sw, k, n).dequantize();
        for (int i = 0; i < k; i++) {
            float inv = 1f / s[i];
            int r = i * n;
            for (int c = 0; c < n; c++) {
                dq[r + c] *= inv;
            }
        }
        return dq;
    }

    /**
     * Row-wise log-softmax of {@code X · W} ({@code rows × n}, a new array), with {@code W = w} or, when
     * {@code w} is null, the weight passed as {@code eff}.
     */
    static double[] logSoftmaxRows(float[] w, float[] eff, int n, int k, float[] x, int rows) {
        float[] weight = w != null ? w : eff;
        double[] out = new double[rows * n];
        for (int row = 0; row < rows; row++) {
            int o = row * n;
            int xr = row * k;
            for (int i = 0; i < k; i++) {
                double xv = x[xr + i];
                if (xv == 0.0) {
                    continue;
                }
                int r = i * n;
                for (int c = 0; c < n; c++) {
                    out[o + c] += xv * weight[r + c];
                }
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < n; c++) {
                max = Math.max(max, out[o + c]);
            }
            double sum = 0;
            for (int c = 0; c < n; c++) {
                sum += Math.exp(out[o + c] - max);
            }
            double lse = max + Math.log(sum);
            for (int c = 0; c < n; c++) {
                out[o + c] -= lse;
            }
        }
        return out;
    }

    /** {@code Σ_rows KL(softmax(X W) ‖ softmax(X Ŵ))} with Ŵ the effective quantized weight. */
    private static double klLoss(Member m, float[] s, int k, float[] x, int rows, double[] reference) {
        int n = m.n();
        double[] q = logSoftmaxRows(null, effective(m, s, k), n, k, x, rows);
        double total = 0;
        for (int i = 0; i < rows * n; i++) {
            double lp = reference[i];
            total += Math.exp(lp) * (lp - q[i]);
        }
        return total;
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
