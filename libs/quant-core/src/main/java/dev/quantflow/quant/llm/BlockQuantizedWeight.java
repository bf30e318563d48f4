package dev.quantflow.quant.llm;

/**
 * A block-quantized MatMul weight {@code W = [k, n]}, unpacked: one code per weight and one {@code (scale, zero)}
 * per block of {@code blockSize} rows and column ({@link BlockQuantGrid} gives the math).
 *
 * @param codes  {@code k × n} row-major, unsigned codes in {@code [0, 2^bits − 1]} stored in bytes
 * @param scales {@code blocks × n} row-major ({@code blocks = ceil(k / blockSize)}): block {@code g} of column
 *               {@code c} at {@code g·n + c}
 * @param zeros  zero points, laid out like {@code scales} (unsigned bytes)
 */
public record BlockQuantizedWeight(int k, int n, int bits, int blockSize, boolean symmetric, byte[] codes,
                                   float[] scales, byte[] zeros) {

    public BlockQuantizedWeight {
        if (codes.length != k * n) {
            throw new IllegalArgumentException("codes: " + codes.length + " for " + k + "×" + n);
        }
        int blocks = blocks(k, blockSize);
        if (scales.length != blocks * n || zeros.length != blocks * n) {
            throw new IllegalArgumentException("scales/zeros must hold " + blocks + "×" + n + " values");
        }
    }

    /** Number of blocks along K: {@code ceil(k / blockSize)}. */
    public static int blocks(int k, int blockSize) {
        return (k + blockSize - 1) / blockSize;
    }

    public int blocks() {
        return blocks(k, blockSize);
    }

    /** The dequantized weight {@code [k, n]} row-major, into {@code out}. */
    public void dequantize(float[] out) {
        for (int r = 0; r < k; r++) {
            int p = (r / blockSize) * n;
            int base = r * n;
            for (int c = 0; c < n; c++) {
                out[base + c] = BlockQuantGrid.dequantize(codes[base + c] & 0xFF, scales[p + c], zeros[p + c] & 0xFF);
            }
        }
    }

    public float[] dequantize() {
        float[] out = new float[k * n];
        dequantize(out);
        return out;
    }
}
