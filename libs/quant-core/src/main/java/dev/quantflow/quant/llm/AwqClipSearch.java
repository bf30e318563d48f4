package dev.quantflow.quant.llm;

import java.util.Arrays;

/**
 * AWQ's weight clipping search (Lin et al. 2023, the "auto-clip" step after the scales): for every block {@code b}
 * of {@code blockSize} rows of a weight {@code W = [K, N]} and every output column {@code c}, shrink the block's
 * range before quantizing it and keep the shrink that best preserves the block's share of the output:
 * <pre>
 *   m_bc      = max_{i∈b} |W[i,c]|
 *   clip_r(w) = clamp(w, −r·m_bc, r·m_bc),     r ∈ {1, 0.95, …, 0.5}   ({@value #GRID_POINTS} points)
 *   d_r       = W_b,c − Q(clip_r(W_b,c))      (Q: round-to-nearest on the layer's grid, {@link BlockQuantGrid})
 *   E_bc(r)   = ‖X_b d_r‖² = d_rᵀ G_b d_r,    G_b = X_bᵀ X_b  (the block's diagonal block of the input's Gram matrix)
 *   r*_bc     = argmin_r E_bc(r)                (ties keep the larger r; r = 1 is the unclipped block)
 * </pre>
 * The error is that of the block's <em>own</em> contribution {@code X_b W_b} to column c, with the unclipped
 * weight as the reference, so each (block, column) is chosen independently. r = 1 is on the grid, so the chosen
 * clipping never increases {@code E_bc} (on the Gram matrix it is measured with) over plain RTN. Clipping only
 * moves the block's min/max: with the clipped weight handed to {@link RtnQuantizer}, the codes are exactly those
 * evaluated here.
 *
 * <p>The Gram matrix may be that of the reservoir sample or that of all calibration rows ({@link LayerInputStats}'s
 * XᵀX, what {@link LlmWeightQuantizer} passes: the same objective on more tokens; on the fixture GPT, q and k
 * clipped too, it gave a perplexity increase of 0.61× RTN's against 0.70× with the 512-row sample's).
 *
 * <p>With AWQ's scales, W is the scaled weight {@code diag(s)·W} and G the Gram matrix of the scaled input
 * {@code X / s}, i.e. {@code diag(1/s) · XᵀX · diag(1/s)}.
 */
public final class AwqClipSearch {

    /** Points of the shrink grid from 1 down to {@value #MIN_RATIO}. */
    public static final int GRID_POINTS = 11;
    /** Smallest fraction of the block's max |w| tried. */
    public static final double MIN_RATIO = 0.5;

    /**
     * @param clipped the weight with each (block, column) clamped at its chosen ratio (a new array)
     * @param ratios  chosen {@code r} per (block, column), {@code [blocks, n]} row-major
     * @param loss    {@code Σ E_bc(r*)}
     * @param rtnLoss {@code Σ E_bc(1)}, plain RTN
     */
    public record Result(float[] clipped, float[] ratios, double loss, double rtnLoss) {
    }

    private AwqClipSearch() {
    }

    /**
     * Searches the clipping of {@code w} ({@code [k, n]} row-major, not modified).
     *
     * @param gram the k × k Gram matrix (row-major, symmetric; any positive multiple of XᵀX gives the same choice)
     *             of the input the weight multiplies; only its diagonal blocks are read
     */
    public static Result search(float[] w, int k, int n, double[] gram, BlockQuantGrid grid, int blockSize) {
        if (w.length != k * n || gram.length != k * k) {
            throw new IllegalArgumentException("weight " + w.length + " / gram " + gram.length + " do not match "
                + k + "×" + n);
        }
        int blocks = BlockQuantizedWeight.blocks(k, blockSize);
        float[] ratios = new float[blocks * n];
        float[] clipped = new float[k * n];
        int maxRows = Math.min(blockSize, k);
        Scratch sc = new Scratch(maxRows, n);
        float[] amax = new float[n];
        float[] limit = new float[n];
        double[] bestErr = new double[n];
        double loss = 0;
        double rtnLoss = 0;
        for (int g = 0; g < blocks; g++) {
            int r0 = g * blockSize;
            int rows = Math.min(k, r0 + blockSize) - r0;
            Arrays.fill(amax, 0f);
            for (int i = 0; i < rows; i++) {
                int base = (r0 + i) * n;
                for (int c = 0; c < n; c++) {
                    amax[c] = Math.max(amax[c], Math.abs(w[base + c]));
                }
            }
            for (int p = 0; p < GRID_POINTS; p++) {
                float ratio = ratio(p);
                for (int c = 0; c < n; c++) {
                    limit[c] = ratio * amax[c];
                }
                clipAndQuantize(w, n, r0, rows, limit, grid, sc);
                for (int i = 0; i < rows; i++) {
                    int base = (r0 + i) * n;
                    int t = i * n;
                    for (int c = 0; c < n; c++) {
                        sc.diff[t + c] = (double) w[base + c] - sc.dq[t + c];
                    }
                }
                blockError(sc.diff, rows, n, gram, k, r0, sc.gd, sc.err);
                for (int c = 0; c < n; c++) {
                    if (p == 0) {
                        rtnLoss += sc.err[c];
                        bestErr[c] = sc.err[c];
                        ratios[g * n + c] = 1f;
                    } else if (sc.err[c] < bestErr[c]) {
                        bestErr[c] = sc.err[c];
                        ratios[g * n + c] = ratio;
                    }
                }
            }
            for (int c = 0; c < n; c++) {
                loss += bestErr[c];
                limit[c] = ratios[g * n + c] * amax[c];
            }
            for (int i = 0; i < rows; i++) {
                int base = (r0 + i) * n;
                for (int c = 0; c < n; c++) {
                    clipped[base + c] = Math.max(-limit[c], Math.min(limit[c], w[base + c]));
                }
            }
        }
        return new Result(clipped, ratios, loss, rtnLoss);
    }

    /** Point {@code p} of the shrink grid: {@code 1 − p · (1 − MIN_RATIO) / (GRID_POINTS − 1)}. */
    static float ratio(int p) {
        return (float) (1.0 - p * (1.0 - MIN_RATIO) / (GRID_POINTS - 1));
    }

    /** Working arrays of one block, allocated once per search. */
    private static final class Scratch {
        final float[] trial;
        final float[] dq;
        final double[] diff;
        final double[] gd;
        final double[] err;
        final float[] scales;
        final byte[] zeros;
        final byte[] codes;
        final float[] lo;
        final float[] hi;

        Scratch(int rows, int n) {
            trial = new float[rows * n];
            dq = new float[rows * n];
            diff = new double[rows * n];
            gd = new double[n];
            err = new double[n];
            scales = new float[n];
            zeros = new byte[n];
            codes = new byte[n];
            lo = new float[n];
            hi = new float[n];
        }
    }

    /** The block's rows clamped to {@code ±limit[c]} per column, quantized, dequantized into {@code sc.dq}. */
    private static void clipAndQuantize(float[] w, int n, int r0, int rows, float[] limit, BlockQuantGrid grid,
                                        Scratch sc) {
        for (int i = 0; i < rows; i++) {
            int base = (r0 + i) * n;
            int t = i * n;
            for (int c = 0; c < n; c++) {
                sc.trial[t + c] = Math.max(-limit[c], Math.min(limit[c], w[base + c]));
            }
        }
        grid.findParams(sc.trial, 0, rows, n, sc.scales, sc.zeros, 0, sc.lo, sc.hi);
        for (int i = 0; i < rows; i++) {
            grid.quantizeRow(sc.trial, i * n, n, sc.scales, sc.zeros, 0, sc.codes, 0, sc.dq, i * n);
        }
    }

    /**
     * {@code err[c] = Σ_i d[i,c] · (G_b d)[i,c]} for the block of {@code rows} rows at {@code r0}: row i of
     * {@code G_b d} is accumulated into {@code gd} and dotted with row i of d at once.
     */
    private static void blockError(double[] d, int rows, int n, double[] gram, int k, int r0, double[] gd,
                                   double[] err) {
        Arrays.fill(err, 0, n, 0.0);
        for (int i = 0; i < rows; i++) {
            Arrays.fill(gd, 0, n, 0.0);
            int gRow = (r0 + i) * k + r0;
            for (int j = 0; j < rows; j++) {
                double gij = gram[gRow + j];
                if (gij == 0.0) {
                    continue;
                }
                int dj = j * n;
                for (int c = 0; c < n; c++) {
                    gd[c] += gij * d[dj + c];
                }
            }
            int di = i * n;
            for (int c = 0; c < n; c++) {
                err[c] += d[di + c] * gd[c];
            }
        }
    }
}
