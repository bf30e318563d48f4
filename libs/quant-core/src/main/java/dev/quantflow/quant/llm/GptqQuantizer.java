package dev.quantflow.quant.llm;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

import dev.quantflow.quant.QuantizationException;

/**
 * GPTQ (Frantar, Ashkboos, Hoefler, Alistarh 2022, "GPTQ: Accurate Post-Training Quantization for Generative
 * Pre-trained Transformers", Algorithm 1) for one MatMul weight.
 *
 * <h2>Problem</h2>
 * For a layer {@code Y = X·W}, {@code W = [K, N]} (ONNX layout: row {@code i} of W is input feature {@code i}, i.e.
 * the paper's column {@code i} of its {@code out × in} matrix) and calibration inputs {@code X}, find quantized
 * {@code Q} (on the {@link BlockQuantGrid}) minimising {@code ‖X W − X Q‖²_F = tr((W−Q)ᵀ H (W−Q))} with the Hessian
 * {@code H = 2/n · XᵀX} ({@link LayerInputStats#hessian()}).
 *
 * <h2>Algorithm</h2>
 * <pre>
 *   dead inputs:  H_ii = 0  →  H_ii = 1, W[i,:] = 0          (the input is always 0; its weights do not matter)
 *   act-order:    P = input features by descending H_ii (stable); W ← P W, H ← P H Pᵀ
 *   damping:      H ← H + λ I,  λ = percDamp · mean(diag H); per layer, percDamp × 10, × 100, … (up to 1) while
 *                 the damped H is not positive definite or its factor is ill-conditioned ({@link #MAX_PIVOT_RATIO})
 *   U = Cholesky(H⁻¹), upper:  Uᵀ U = H⁻¹                     (row i of U carries the inverse-Hessian row of
 *                                                             feature i with features &lt; i already eliminated)
 *   for each block of B = max(128, blockSize) rows  [i1, i2):
 *     for i = i1 … i2−1:
 *       if i starts a quantization group (no act-order): group params from the current rows of that group
 *       q_i  = quant(W[i,:])                                     (RTN on the grid with the group's params)
 *       E_i  = (W[i,:] − q_i) / U_ii
 *       W[j,:] −= U_ij · E_i           for j = i+1 … i2−1        (error feedback inside the block)
 *     W[j,:] −= Σ_{i∈[i1,i2)} U_ij · E_i   for j ≥ i2            (lazy batch update: one blocked product
 *                                                               W[i2:,:] −= U[i1:i2, i2:]ᵀ · E)
 * </pre>
 * U is computed without forming {@code H⁻¹}: with {@code J} the order-reversal permutation,
 * {@code J H J = Vᵀ V} (upper Cholesky) gives {@code H = R Rᵀ}, {@code R = J Vᵀ J} upper triangular, hence
 * {@code H⁻¹ = (R⁻¹)ᵀ R⁻¹} and {@code U = R⁻¹} (a triangular inverse): about {@code K³/3} multiply-adds in all,
 * against about {@code 2K³/3} for Cholesky, the inverse from it and a second Cholesky.
 *
 * <p><b>Groups.</b> Quantization groups are the output format's blocks of {@code blockSize} consecutive input
 * features. Without act-order a group's {@code (scale, zero)} are computed when its first row is reached, from the
 * rows as updated so far (B is a multiple of blockSize, so a group never straddles two lazy blocks). With act-order
 * the groups are <em>static</em>: every group's params are computed before the loop from the original-order rows
 * (after dead-input zeroing), and row {@code i} is quantized with the params of the group it belongs to in the
 * original order, so the result stays in the contiguous block format; codes are written to the original row.
 *
 * <p>Working precision: sums of the factorisation and the error feedback in double; the factors, U and W stored
 * in float (inner loops over N run on contiguous rows and are allocation-free; each reads one primitive type and
 * writes another, which is what lets C2 vectorize them). Deterministic.
 */
public final class GptqQuantizer {

    /** Rows per lazy batch (the paper's B). */
    public static final int LAZY_BLOCK = 128;
    public static final double DEFAULT_PERC_DAMP = 0.01;

    private final BlockQuantGrid grid;
    private final int blockSize;
    private final double percDamp;
    private final boolean actOrder;

    public GptqQuantizer(BlockQuantGrid grid, int blockSize, double percDamp, boolean actOrder) {
        if (blockSize < 16 || Integer.bitCount(blockSize) != 1) {
            throw new QuantizationException("block size must be a power of two >= 16, got " + blockSize);
        }
        if (!(percDamp >= 0) || percDamp > 1) {
            throw new QuantizationException("percDamp must be in [0, 1], got " + percDamp);
        }
        this.grid = grid;
        this.blockSize = blockSize;
        this.percDamp = percDamp;
        this.actOrder = actOrder;
    }

    /**
     * Quantizes {@code weight} ({@code [k, n]} row-major, not modified) against {@code hessian} ({@code k × k}
     * row-major, symmetric, not modified).
     *
     * @throws QuantizationException if the damped Hessian is not positive definite
     */
    public BlockQuantizedWeight quantize(float[] weight, int k, int n, double[] hessian) {
        if (weight.length != k * n || hessian.length != k * k) {
            throw new IllegalArgumentException("weight " + weight.length + " / hessian " + hessian.length
                + " do not match k=" + k + ", n=" + n);
        }
        double[] h = hessian.clone();
        float[] original = weight.clone();
        for (int i = 0; i < k; i++) {
            if (h[i * k + i] == 0.0) {
                h[i * k + i] = 1.0;
                Arrays.fill(original, i * n, (i + 1) * n, 0f);
            }
        }
        int blocks = BlockQuantizedWeight.blocks(k, blockSize);
        float[] scales = new float[blocks * n];
        byte[] zeros = new byte[blocks * n];
        float[] lo = new float[n];
        float[] hi = new float[n];
        int[] perm = IntStream.range(0, k).toArray();
        if (actOrder) {
            for (int g = 0; g < blocks; g++) {
                grid.findParams(original, g * blockSize, Math.min(k, (g + 1) * blockSize), n, scales, zeros, g * n,
                    lo, hi);
            }
            double[] diag = new double[k];
            for (int i = 0; i < k; i++) {
                diag[i] = h[i * k + i];
            }
            perm = IntStream.range(0, k).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -diag[i]).thenComparingInt(i -> i))
                .mapToInt(Integer::intValue).toArray();
        }
        float[] w = new float[k * n];
        double[] hp = new double[k * k];
        for (int t = 0; t < k; t++) {
            System.arraycopy(original, perm[t] * n, w, t * n, n);
            int src = perm[t] * k;
            for (int u = 0; u < k; u++) {
                hp[t * k + u] = h[src + perm[u]];
            }
        }
        double mean = 0;
        for (int i = 0; i < k; i++) {
            mean += hp[i * k + i];
        }
        mean /= k;
        float[] u = null;
        double chosen = percDamp;
        QuantizationException failure = null;
        // damping chosen per layer: the requested fraction first, ten times more while the damped Hessian is not
        // positive definite in the working precision or its factor is ill-conditioned (see MAX_PIVOT_RATIO)
        for (double pd = percDamp; ; pd = Math.min(1.0, pd * 10)) {
            double[] damped = hp.clone();
            for (int i = 0; i < k; i++) {
                damped[i * k + i] += pd * mean;
            }
            try {
                float[] cand = upperCholeskyOfInverse(damped, k);
                if (wellConditioned(cand, k) || pd >= 1.0 || pd == 0) {
                    u = cand;
                    chosen = pd;
                    break;
                }
            } catch (QuantizationException e) {
                failure = e;
            }
            if (pd == 0 || pd >= 1.0) {
                break;
            }
        }
        if (u == null) {
            throw failure != null ? failure : new QuantizationException("the damped Hessian is not positive definite");
        }
        usedPercDamp = chosen;

        byte[] codes = new byte[k * n];
        int lazy = Math.max(LAZY_BLOCK, blockSize);
        // double, unlike W: loops that read one array type and write another vectorize (C2 cannot rule out that
        // two float[] alias at different offsets), and the error feedback is accumulated more precisely
        double[] err = new double[Math.min(lazy, k) * n];
        float[] q = new float[n];
        for (int i1 = 0; i1 < k; i1 += lazy) {
            int i2 = Math.min(i1 + lazy, k);
            for (int t = i1; t < i2; t++) {
                int orig = perm[t];
                int p = (orig / blockSize) * n;
                if (!actOrder && t % blockSize == 0) {
                    grid.findParams(w, t, Math.min(t + blockSize, k), n, scales, zeros, p, lo, hi);
                }
                int row = t * n;
                grid.quantizeRow(w, row, n, scales, zeros, p, codes, orig * n, q, 0);
                double d = u[t * k + t];
                int e = (t - i1) * n;
                for (int c = 0; c < n; c++) {
                    err[e + c] = (w[row + c] - q[c]) / d;
                }
                int uRow = t * k;
                for (int j = t + 1; j < i2; j++) {
                    double f = u[uRow + j];
                    int wj = j * n;
                    for (int c = 0; c < n; c++) {
                        w[wj + c] -= f * err[e + c];
                    }
                }
            }
            lazyUpdate(w, u, err, k, n, i1, i2);
        }
        return new BlockQuantizedWeight(k, n, grid.bits(), blockSize, grid.symmetric(), codes, scales, zeros);
    }

    /**
     * Largest ratio of the diagonal entries of U (the inverse square roots of the Cholesky pivots of the damped
     * Hessian) accepted before the damping is raised: 1e4 is a pivot ratio of 1e8, past which float32 U loses the
     * small pivots' digits and GPTQ's error feedback amplifies noise.
     */
    static final double MAX_PIVOT_RATIO = 1e4;

    private double usedPercDamp = Double.NaN;

    /** The damping fraction the last {@link #quantize} call used (≥ the requested one; NaN before any call). */
    public double usedPercDamp() {
        return usedPercDamp;
    }

    private static boolean wellConditioned(float[] u, int k) {
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (int i = 0; i < k; i++) {
            double d = u[i * k + i];
            if (!(d > 0) || Double.isInfinite(d)) {
                return false;
            }
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        return max <= MAX_PIVOT_RATIO * min;
    }

    /** {@code W[j,:] −= Σ_{t∈[i1,i2)} U[t,j] · E[t−i1,:]} for every {@code j ≥ i2}; four error rows per pass. */
    private static void lazyUpdate(float[] w, float[] u, double[] err, int k, int n, int i1, int i2) {
        for (int j = i2; j < k; j++) {
            int wj = j * n;
            int t = i1;
            for (; t + 3 < i2; t += 4) {
                double f0 = u[t * k + j];
                double f1 = u[(t + 1) * k + j];
                double f2 = u[(t + 2) * k + j];
                double f3 = u[(t + 3) * k + j];
                int e0 = (t - i1) * n;
                int e1 = e0 + n;
                int e2 = e1 + n;
                int e3 = e2 + n;
                for (int c = 0; c < n; c++) {
                    w[wj + c] -= f0 * err[e0 + c] + f1 * err[e1 + c] + f2 * err[e2 + c] + f3 * err[e3 + c];
                }
            }
            for (; t < i2; t++) {
                double f = u[t * k + j];
                int e = (t - i1) * n;
                for (int c = 0; c < n; c++) {
                    w[wj + c] -= f * err[e + c];
                }
            }
        }
    }

    /**
     * The upper Cholesky factor {@code U} of {@code a⁻¹} ({@code Uᵀ U = a⁻¹}) for symmetric positive definite
     * {@code a} ({@code k × k} row-major, not modified), via the reversal identity in the class Javadoc.
     *
     * @throws QuantizationException if {@code a} is not positive definite
     */
    static float[] upperCholeskyOfInverse(double[] a, int k) {
        float[] v = upperCholeskyOfReversed(a, k);
        // R = J vᵀ J (upper): R[p][m] = v[k−1−m][k−1−p], i.e. row p of R is column k−1−p of v reversed.
        double[] rt = new double[k * k];
        for (int p = 0; p < k; p++) {
            int col = k - 1 - p;
            for (int m = p; m < k; m++) {
                rt[p * k + m] = v[(k - 1 - m) * k + col];
            }
        }
        return upperTriangularInverse(rt, k);
    }

    /**
     * Upper Cholesky factor v of {@code b = J a J} ({@code vᵀ v = b}; only the upper triangle of a is read),
     * left-looking by rows: {@code v[i, i:] = (b[i, i:] − Σ_{m<i} v[m,i] · v[m, i:]) / v[i,i]}. Four rows are formed
     * together so every finished row streamed from memory feeds four accumulators (which stay in L1); the
     * right-looking form instead rewrites the whole trailing matrix per step and is memory-bound for k in the
     * thousands. Finished rows are stored in float (what GPTQ uses in the end), sums are accumulated in double; the
     * mixed types also let C2 vectorize the inner loops.
     */
    private static float[] upperCholeskyOfReversed(double[] a, int k) {
        float[] v = new float[k * k];
        double[] acc = new double[4 * k];
        double[] a0 = new double[k];
        double[] a1 = new double[k];
        double[] a2 = new double[k];
        double[] a3 = new double[k];
        for (int i0 = 0; i0 < k; i0 += 4) {
            int rowsHere = Math.min(4, k - i0);
            for (int r = 0; r < rowsHere; r++) {
                int i = i0 + r;
                int src = (k - 1 - i) * k + (k - 1);
                for (int j = i0; j < k; j++) {
                    // b[i][j] = a[k−1−i][k−1−j]; below the diagonal take the mirror (a is symmetric)
                    acc[r * k + j] = j >= i ? a[src - j] : a[(k - 1 - j) * k + (k - 1 - i)];
                }
            }
            if (rowsHere == 4 && i0 > 0) {
                java.util.Arrays.fill(a0, i0, k, 0.0);
                java.util.Arrays.fill(a1, i0, k, 0.0);
                java.util.Arrays.fill(a2, i0, k, 0.0);
                java.util.Arrays.fill(a3, i0, k, 0.0);
                for (int m = 0; m < i0; m++) {
                    int rm = m * k;
                    double f0 = v[rm + i0];
                    double f1 = v[rm + i0 + 1];
                    double f2 = v[rm + i0 + 2];
                    double f3 = v[rm + i0 + 3];
                    for (int c = i0; c < k; c++) {
                        double vm = v[rm + c];
                        a0[c] += f0 * vm;
                        a1[c] += f1 * vm;
                        a2[c] += f2 * vm;
                        a3[c] += f3 * vm;
                    }
                }
                for (int c = i0; c < k; c++) {
                    acc[c] -= a0[c];
                    acc[k + c] -= a1[c];
                    acc[2 * k + c] -= a2[c];
                    acc[3 * k + c] -= a3[c];
                }
            } else {
                for (int m = 0; m < i0; m++) {
                    int rm = m * k;
                    for (int r = 0; r < rowsHere; r++) {
                        double f = v[rm + i0 + r];
                        int ar = r * k;
                        for (int c = i0; c < k; c++) {
                            acc[ar + c] -= f * v[rm + c];
                        }
                    }
                }
            }
            for (int r = 0; r < rowsHere; r++) {
                int i = i0 + r;
                int ar = r * k;
                for (int q = 0; q < r; q++) { // rows of this group finished before row i
                    int rq = (i0 + q) * k;
                    double f = v[rq + i];
                    for (int c = i; c < k; c++) {
                        acc[ar + c] -= f * v[rq + c];
                    }
                }
                double piv = acc[ar + i];
                if (!(piv > 0.0) || Double.isInfinite(piv)) {
                    throw new QuantizationException("the damped Hessian is not positive definite (pivot " + piv
                        + " at input " + (k - 1 - i) + "): raise percDamp or check the calibration statistics");
                }
                double d = Math.sqrt(piv);
                double inv = 1.0 / d;
                int ri = i * k;
                v[ri + i] = (float) d;
                for (int c = i + 1; c < k; c++) {
                    v[ri + c] = (float) (acc[ar + c] * inv);
                }
            }
        }
        return v;
    }

    /**
     * {@code X = R⁻¹} for upper triangular R, by rows from the bottom:
     * {@code X[i,:] = (e_i − Σ_{m>i} R[i][m] · X[m,:]) / R[i][i]}, four rows at a time like the Cholesky above
     * (rows stored in float, sums in double).
     */
    private static float[] upperTriangularInverse(double[] rt, int k) {
        float[] x = new float[k * k];
        double[] acc = new double[4 * k];
        double[] a0 = new double[k];
        double[] a1 = new double[k];
        double[] a2 = new double[k];
        double[] a3 = new double[k];
        for (int top = k - 1; top >= 0; top -= 4) {
            int rowsHere = Math.min(4, top + 1);
            int lowest = top - rowsHere + 1; // rows lowest … top; all rows > top are done
            java.util.Arrays.fill(acc, 0.0);
            for (int r = 0; r < rowsHere; r++) {
                acc[r * k + lowest + r] = 1.0;
            }
            if (rowsHere == 4 && top + 1 < k) {
                int r0 = lowest * k;
                java.util.Arrays.fill(a0, top + 1, k, 0.0);
                java.util.Arrays.fill(a1, top + 1, k, 0.0);
                java.util.Arrays.fill(a2, top + 1, k, 0.0);
                java.util.Arrays.fill(a3, top + 1, k, 0.0);
                for (int m = top + 1; m < k; m++) {
                    double f0 = rt[r0 + m];
                    double f1 = rt[r0 + k + m];
                    double f2 = rt[r0 + 2 * k + m];
                    double f3 = rt[r0 + 3 * k + m];
                    int xm = m * k;
                    for (int c = m; c < k; c++) {
                        double xv = x[xm + c];
                        a0[c] += f0 * xv;
                        a1[c] += f1 * xv;
                        a2[c] += f2 * xv;
                        a3[c] += f3 * xv;
                    }
                }
                for (int c = top + 1; c < k; c++) {
                    acc[c] -= a0[c];
                    acc[k + c] -= a1[c];
                    acc[2 * k + c] -= a2[c];
                    acc[3 * k + c] -= a3[c];
                }
            } else {
                for (int m = top + 1; m < k; m++) {
                    int xm = m * k;
                    for (int r = 0; r < rowsHere; r++) {
                        double f = rt[(lowest + r) * k + m];
                        int ar = r * k;
                        for (int c = m; c < k; c++) {
                            acc[ar + c] -= f * x[xm + c];
                        }
                    }
                }
            }
            for (int r = rowsHere - 1; r >= 0; r--) {
                int i = lowest + r;
                int ar = r * k;
                for (int q = r + 1; q < rowsHere; q++) { // rows of this group below row i, finished
                    int m = lowest + q;
                    double f = rt[i * k + m];
                    int xm = m * k;
                    for (int c = m; c < k; c++) {
                        acc[ar + c] -= f * x[xm + c];
                    }
                }
                double inv = 1.0 / rt[i * k + i];
                int xi = i * k;
                for (int c = i; c < k; c++) {
                    x[xi + c] = (float) (acc[ar + c] * inv);
                }
            }
        }
        return x;
    }
}
