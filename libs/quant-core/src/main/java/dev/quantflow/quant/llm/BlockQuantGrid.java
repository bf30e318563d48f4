package dev.quantflow.quant.llm;

import dev.quantflow.quant.QuantizationException;

/**
 * The b-bit block-wise weight grid of the LLM path: for a weight {@code W = [K, N]} (ONNX MatMul layout, K input
 * features), each block of {@code blockSize} consecutive rows {@code k} has one {@code (scale, zero point)} per output
 * column {@code n}. With {@code maxq = 2^b − 1}:
 * <pre>
 *   asymmetric (min/max):  lo = min(0, min_k W[k,n]),  hi = max(0, max_k W[k,n])
 *                          scale = (hi − lo) / maxq,     zero = clamp(rint(−lo / scale), 0, maxq)
 *   symmetric:             amax = max_k |W[k,n]|,       scale = amax / (2^(b−1) − 1),   zero = 2^(b−1)
 *   both:                  scale = 1 when it would be 0 (an all-zero block)
 *   code:                  q = clamp(rint(w / scale) + zero, 0, maxq)      (rint: round half to even, in float)
 *   dequantized:           ŵ = scale · (q − zero)
 * </pre>
 * The range includes 0, so 0 is exact in both; symmetric represents ±amax exactly (code {@code 0}, i.e.
 * {@code −2^(b−1)·scale}, is reachable only through clamping, e.g. by GPTQ's error feedback). Scales are float32,
 * the type the output formats store, and quantization divides by that float scale, so dequantizing the stored codes
 * gives exactly the values the algorithms worked with.
 *
 * <p>Immutable; the kernels write into caller-owned buffers.
 */
public final class BlockQuantGrid {

    private final int bits;
    private final boolean symmetric;
    private final int maxq;

    public BlockQuantGrid(int bits, boolean symmetric) {
        if (bits < 2 || bits > 8) {
            throw new QuantizationException("weight bits must be between 2 and 8, got " + bits);
        }
        this.bits = bits;
        this.symmetric = symmetric;
        this.maxq = (1 << bits) - 1;
    }

    public int bits() {
        return bits;
    }

    public boolean symmetric() {
        return symmetric;
    }

    /** Largest code, {@code 2^b − 1}. */
    public int maxq() {
        return maxq;
    }

    /** The zero point of the symmetric grid (and MatMulNBits' default), {@code 2^(b−1)}. */
    public int symmetricZero() {
        return 1 << (bits - 1);
    }

    /**
     * Parameters of one block: rows {@code [rowStart, rowEnd)} of the row-major {@code [?, n]} matrix {@code w}, for
     * every column, written to {@code scales[outOffset + c]} / {@code zeros[outOffset + c]}.
     *
     * @param lo scratch of at least {@code n} floats
     * @param hi scratch of at least {@code n} floats
     */
    public void findParams(float[] w, int rowStart, int rowEnd, int n, float[] scales, byte[] zeros, int outOffset,
                           float[] lo, float[] hi) {
        for (int c = 0; c < n; c++) {
            lo[c] = 0f;
            hi[c] = 0f;
        }
        for (int r = rowStart; r < rowEnd; r++) {
            int base = r * n;
            for (int c = 0; c < n; c++) {
                float v = w[base + c];
                lo[c] = Math.min(lo[c], v);
                hi[c] = Math.max(hi[c], v);
            }
        }
        if (symmetric) {
            float qpos = (1 << (bits - 1)) - 1;
            byte z = (byte) symmetricZero();
            for (int c = 0; c < n; c++) {
                float amax = Math.max(-lo[c], hi[c]);
                float s = amax / qpos;
                scales[outOffset + c] = s == 0f ? 1f : s;
                zeros[outOffset + c] = z;
            }
        } else {
            for (int c = 0; c < n; c++) {
                float s = (hi[c] - lo[c]) / maxq;
                if (s == 0f) {
                    s = 1f;
                }
                scales[outOffset + c] = s;
                zeros[outOffset + c] = (byte) clamp((int) Math.rint(-lo[c] / s));
            }
        }
    }

    /**
     * Quantizes one row of {@code n} values: codes to {@code codes[codeOffset …]}, and, when {@code dequantized} is
     * not null, the dequantized values to {@code dequantized[dqOffset …]}.
     */
    public void quantizeRow(float[] w, int wOffset, int n, float[] scales, byte[] zeros, int paramOffset,
                            byte[] codes, int codeOffset, float[] dequantized, int dqOffset) {
        for (int c = 0; c < n; c++) {
            float s = scales[paramOffset + c];
            int z = zeros[paramOffset + c] & 0xFF;
            int q = (int) Math.rint(w[wOffset + c] / s) + z;
            q = q < 0 ? 0 : Math.min(q, maxq);
            codes[codeOffset + c] = (byte) q;
            if (dequantized != null) {
                dequantized[dqOffset + c] = s * (q - z);
            }
        }
    }

    /** {@code scale · (code − zero)}. */
    public static float dequantize(int code, float scale, int zero) {
        return scale * (code - zero);
    }

    private int clamp(int q) {
        return q < 0 ? 0 : Math.min(q, maxq);
    }

    @Override
    public String toString() {
        return bits + "-bit " + (symmetric ? "symmetric" : "asymmetric");
    }
}
