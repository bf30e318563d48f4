package dev.quantflow.quant.llm;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * Streaming statistics of the input {@code X} (rows × k, one row per token) of the weight MatMuls that read one
 * activation tensor. What the LLM weight quantizers need, accumulated batch by batch without storing activations:
 * <ul>
 *   <li>{@code XᵀX} (k × k, double): GPTQ's Hessian of the layer reconstruction error is {@code H = 2/n · XᵀX}
 *       (the factor 2 and the 1/n only scale H; GPTQ's update is invariant to it, damping is relative to mean diag).</li>
 *   <li>{@code Σ|x_j|} per input channel: AWQ's activation magnitude {@code s_x = mean |x_j|}.</li>
 *   <li>A uniform reservoir sample of at most {@code maxSampleRows} rows (seeded, so the same input gives the same
 *       sample): AWQ's scale search evaluates the layer output error on it.</li>
 * </ul>
 * Memory is {@code 8k² + 8k + 4·maxSampleRows·k} bytes, independent of the number of calibration tokens.
 *
 * <p>Reservoir (Vitter's algorithm R): row {@code t} (0-based) replaces slot {@code j = u_t mod (t+1)} when
 * {@code j < maxSampleRows}, where {@code u_t} is a SplitMix64 hash of {@code (seed, t)}. The draw depends only on
 * the seed and the row index, so a record read back with {@link #readFrom} and fed more rows continues exactly as
 * the original would have.
 */
public final class LayerInputStats {

    private static final int MAGIC = 0x51464C32; // "QFL2"
    /** Rows of X added to XᵀX together (see {@link #addPanel}). */
    static final int PANEL_ROWS = 64;
    /** Columns of XᵀX per tile: 512 doubles (4 KiB) of one XᵀX row and 64 × 2 KiB of panel stay in L1/L2. */
    static final int TILE = 512;

    private final String tensor;
    private final int k;
    private final int maxSampleRows;
    private final double[] xtx;
    private final double[] absSum;
    private final float[] sample;
    private final long seed;
    private long rows;
    private int sampleRows;

    public LayerInputStats(String tensor, int k, int maxSampleRows, long seed) {
        if (k <= 0) throw new IllegalArgumentException("k must be positive: " + k);
        if (maxSampleRows < 0) throw new IllegalArgumentException("maxSampleRows must be >= 0");
        this.tensor = tensor;
        this.k = k;
        this.maxSampleRows = maxSampleRows;
        this.xtx = new double[k * k];
        this.absSum = new double[k];
        this.sample = new float[maxSampleRows * k];
        this.seed = seed;
    }

    /** Adds {@code n} rows of {@code x} (row-major, {@code n × k}, starting at {@code offset}). */
    public void accumulate(float[] x, int offset, int n) {
        if (offset < 0 || n < 0 || (long) offset + (long) n * k > x.length) {
            throw new IllegalArgumentException("rows out of range: offset " + offset + ", " + n + " rows of " + k);
        }
        for (int p = 0; p < n; p += PANEL_ROWS) {
            int rowsInPanel = Math.min(PANEL_ROWS, n - p);
            int panelStart = offset + p * k;
            addPanel(x, panelStart, rowsInPanel);
            for (int r = 0; r < rowsInPanel; r++) {
                int base = panelStart + r * k;
                for (int j = 0; j < k; j++) {
                    absSum[j] += Math.abs(x[base + j]);
                }
                reservoir(x, base);
                rows++;
            }
        }
    }

    /**
     * Upper triangle of {@code XᵀX += PᵀP} for a panel P of {@code m ≤ PANEL_ROWS} rows, in tiles of {@code TILE}
     * columns: the tile of row i of XᵀX stays in L1 while the panel rows are added to it, four at a time with one
     * load and one store of each accumulator. Each entry still receives its products one row after the other in
     * the input order ({@code ((t + a0·x0) + a1·x1) + …}), and a product of two floats is exact in double, so the
     * sums are bit-identical to one rank-1 update per row.
     */
    private void addPanel(float[] x, int panelStart, int m) {
        for (int jt = 0; jt < k; jt += TILE) {
            int jEnd = Math.min(k, jt + TILE);
            for (int i = 0; i < jEnd; i++) {
                int j0 = Math.max(i, jt);
                int rowStart = i * k;
                int r = 0;
                for (; r + 4 <= m; r += 4) {
                    int b0 = panelStart + r * k;
                    int b1 = b0 + k;
                    int b2 = b1 + k;
                    int b3 = b2 + k;
                    double a0 = x[b0 + i];
                    double a1 = x[b1 + i];
                    double a2 = x[b2 + i];
                    double a3 = x[b3 + i];
                    if (a0 != 0.0 && a1 != 0.0 && a2 != 0.0 && a3 != 0.0) {
                        addScaledRows4(xtx, rowStart, a0, a1, a2, a3, x, b0, b1, b2, b3, j0, jEnd);
                    } else {
                        addScaledRow(xtx, rowStart, a0, x, b0, j0, jEnd);
                        addScaledRow(xtx, rowStart, a1, x, b1, j0, jEnd);
                        addScaledRow(xtx, rowStart, a2, x, b2, j0, jEnd);
                        addScaledRow(xtx, rowStart, a3, x, b3, j0, jEnd);
                    }
                }
                for (; r < m; r++) {
                    int base = panelStart + r * k;
                    addScaledRow(xtx, rowStart, x[base + i], x, base, j0, jEnd);
                }
            }
        }
    }

    /** {@code acc[accOffset + j] += a · x[xOffset + j]} for j in [from, to); nothing when a is 0. */
    private static void addScaledRow(double[] acc, int accOffset, double a, float[] x, int xOffset, int from, int to) {
        if (a == 0.0) {
            return;
        }
        for (int j = from; j < to; j++) {
            acc[accOffset + j] += a * x[xOffset + j];
        }
    }

    /** Four {@link #addScaledRow} calls in one pass, adding in the same order. */
    private static void addScaledRows4(double[] acc, int accOffset, double a0, double a1, double a2, double a3,
                                       float[] x, int b0, int b1, int b2, int b3, int from, int to) {
        for (int j = from; j < to; j++) {
            double t = acc[accOffset + j];
            t += a0 * x[b0 + j];
            t += a1 * x[b1 + j];
            t += a2 * x[b2 + j];
            t += a3 * x[b3 + j];
            acc[accOffset + j] = t;
        }
    }

    private void reservoir(float[] x, int base) {
        if (maxSampleRows == 0) return;
        if (sampleRows < maxSampleRows) {
            System.arraycopy(x, base, sample, sampleRows * k, k);
            sampleRows++;
        } else {
            long slot = Long.remainderUnsigned(splitMix64(seed + (rows + 1) * 0x9E3779B97F4A7C15L), rows + 1);
            if (slot < maxSampleRows) System.arraycopy(x, base, sample, (int) slot * k, k);
        }
    }

    private static long splitMix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public String tensor() { return tensor; }
    public int k() { return k; }
    public long rows() { return rows; }
    public int sampleRows() { return sampleRows; }

    /** GPTQ's Hessian {@code H = 2/n · XᵀX} as a full symmetric k × k row-major matrix (a new array). */
    public double[] hessian() {
        double[] h = new double[k * k];
        double f = rows == 0 ? 0.0 : 2.0 / rows;
        for (int i = 0; i < k; i++) {
            for (int j = i; j < k; j++) {
                double v = xtx[i * k + j] * f;
                h[i * k + j] = v;
                h[j * k + i] = v;
            }
        }
        return h;
    }

    /** Mean absolute activation per input channel (AWQ's {@code s_x}); zeros before any row. */
    public float[] meanAbs() {
        float[] m = new float[k];
        if (rows == 0) return m;
        for (int j = 0; j < k; j++) m[j] = (float) (absSum[j] / rows);
        return m;
    }

    /** The sampled rows, row-major {@code sampleRows × k} (a copy). */
    public float[] sample() {
        return Arrays.copyOf(sample, sampleRows * k);
    }

    public void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(MAGIC);
        out.writeUTF(tensor);
        out.writeInt(k);
        out.writeInt(maxSampleRows);
        out.writeLong(seed);
        out.writeLong(rows);
        out.writeInt(sampleRows);
        for (int i = 0; i < k; i++) {
            for (int j = i; j < k; j++) out.writeDouble(xtx[i * k + j]);
        }
        for (double v : absSum) out.writeDouble(v);
        for (int i = 0; i < sampleRows * k; i++) out.writeFloat(sample[i]);
    }

    public static LayerInputStats readFrom(DataInputStream in) throws IOException {
        if (in.readInt() != MAGIC) throw new IOException("not a LayerInputStats record");
        String tensor = in.readUTF();
        int k = in.readInt();
        int maxSampleRows = in.readInt();
        long seed = in.readLong();
        if (k <= 0 || maxSampleRows < 0 || (long) k * k > Integer.MAX_VALUE) throw new IOException("corrupt header");
        LayerInputStats s = new LayerInputStats(tensor, k, maxSampleRows, seed);
        s.rows = in.readLong();
        if (s.rows < 0) throw new IOException("corrupt row count");
        s.sampleRows = in.readInt();
        if (s.sampleRows < 0 || s.sampleRows > maxSampleRows) throw new IOException("corrupt sample count");
        for (int i = 0; i < k; i++) {
            for (int j = i; j < k; j++) s.xtx[i * k + j] = in.readDouble();
        }
        for (int j = 0; j < k; j++) s.absSum[j] = in.readDouble();
        for (int i = 0; i < s.sampleRows * k; i++) s.sample[i] = in.readFloat();
        return s;
    }
}
