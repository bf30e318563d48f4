package dev.quantflow.quant.llm;

/**
 * The tensor layouts of ONNX Runtime's {@code com.microsoft:MatMulNBits} ({@code Y = A · dequant(B)ᵀ}, B stored
 * transposed, i.e. one output column {@code n} of the ONNX {@code [K, N]} weight per row of B):
 * <pre>
 *   B            uint8 [N, blocks, blockSize·bits/8]   blocks = ceil(K / blockSize)
 *                the blockSize codes of block g of column n as a little-endian bit stream: code i of the block
 *                occupies bits [i·bits, (i+1)·bits) of the blob (for 4 bits: low nibble = even row, high = odd row)
 *   scales       float [N · blocks]                   column-major over blocks: scale of (n, g) at n·blocks + g
 *   zero_points  uint8 [N · ceil(blocks·bits/8)]      per column the blocks' zero points as one bit stream like B,
 *                                                     each column starting on a byte boundary; optional, default
 *                                                     2^(bits−1)
 * </pre>
 * Padding: when K is not a multiple of blockSize the last block's rows past K hold the column's zero point (they
 * dequantize to 0; the kernel reads only K rows of A anyway), and a column's unused zero-point bits are 0.
 */
public final class MatMulNBitsPacking {

    private MatMulNBitsPacking() {
    }

    /** Bytes of one block of B: {@code blockSize · bits / 8}. */
    public static int blobSize(int blockSize, int bits) {
        return blockSize * bits / 8;
    }

    /** Bytes of the packed zero points of one column: {@code ceil(blocks · bits / 8)}. */
    public static int zeroPointBytesPerColumn(int blocks, int bits) {
        return (blocks * bits + 7) / 8;
    }

    /** Packs the codes into the B layout. */
    public static byte[] packB(BlockQuantizedWeight w) {
        int k = w.k();
        int n = w.n();
        int bits = w.bits();
        int bs = w.blockSize();
        int blocks = w.blocks();
        int blob = blobSize(bs, bits);
        byte[] out = new byte[n * blocks * blob];
        byte[] codes = w.codes();
        byte[] zeros = w.zeros();
        for (int c = 0; c < n; c++) {
            for (int g = 0; g < blocks; g++) {
                int base = (c * blocks + g) * blob;
                int pad = zeros[g * n + c] & 0xFF;
                for (int i = 0; i < bs; i++) {
                    int r = g * bs + i;
                    int code = r < k ? codes[r * n + c] & 0xFF : pad;
                    putBits(out, base, i * bits, bits, code);
                }
            }
        }
        return out;
    }

    /** Inverse of {@link #packB}: the {@code [k, n]} codes. */
    public static byte[] unpackB(byte[] packed, int k, int n, int bits, int blockSize) {
        int blocks = BlockQuantizedWeight.blocks(k, blockSize);
        int blob = blobSize(blockSize, bits);
        if (packed.length != n * blocks * blob) {
            throw new IllegalArgumentException("B holds " + packed.length + " bytes, expected " + n * blocks * blob);
        }
        byte[] codes = new byte[k * n];
        for (int c = 0; c < n; c++) {
            for (int r = 0; r < k; r++) {
                int g = r / blockSize;
                codes[r * n + c] = (byte) getBits(packed, (c * blocks + g) * blob, (r - g * blockSize) * bits, bits);
            }
        }
        return codes;
    }

    /** Scales in MatMulNBits order ({@code [N · blocks]}, column-major over blocks). */
    public static float[] packScales(BlockQuantizedWeight w) {
        int n = w.n();
        int blocks = w.blocks();
        float[] out = new float[n * blocks];
        for (int g = 0; g < blocks; g++) {
            for (int c = 0; c < n; c++) {
                out[c * blocks + g] = w.scales()[g * n + c];
            }
        }
        return out;
    }

    /** Inverse of {@link #packScales}: {@code [blocks, n]} row-major. */
    public static float[] unpackScales(float[] packed, int n, int blocks) {
        float[] out = new float[n * blocks];
        for (int g = 0; g < blocks; g++) {
            for (int c = 0; c < n; c++) {
                out[g * n + c] = packed[c * blocks + g];
            }
        }
        return out;
    }

    /** Zero points packed as MatMulNBits reads them. */
    public static byte[] packZeroPoints(BlockQuantizedWeight w) {
        int n = w.n();
        int bits = w.bits();
        int blocks = w.blocks();
        int perColumn = zeroPointBytesPerColumn(blocks, bits);
        byte[] out = new byte[n * perColumn];
        for (int c = 0; c < n; c++) {
            for (int g = 0; g < blocks; g++) {
                putBits(out, c * perColumn, g * bits, bits, w.zeros()[g * n + c] & 0xFF);
            }
        }
        return out;
    }

    /** Inverse of {@link #packZeroPoints}: {@code [blocks, n]} row-major. */
    public static byte[] unpackZeroPoints(byte[] packed, int n, int blocks, int bits) {
        int perColumn = zeroPointBytesPerColumn(blocks, bits);
        if (packed.length != n * perColumn) {
            throw new IllegalArgumentException("zero_points holds " + packed.length + " bytes, expected " + n * perColumn);
        }
        byte[] out = new byte[n * blocks];
        for (int c = 0; c < n; c++) {
            for (int g = 0; g < blocks; g++) {
                out[g * n + c] = (byte) getBits(packed, c * perColumn, g * bits, bits);
            }
        }
        return out;
    }

    /** Packs unsigned 4-bit values two per byte, low nibble first, in the given order (ONNX uint4/int4 raw data). */
    public static byte[] packNibbles(byte[] values) {
        byte[] out = new byte[(values.length + 1) / 2];
        for (int i = 0; i < values.length; i++) {
            putBits(out, 0, i * 4, 4, values[i] & 0x0F);
        }
        return out;
    }

    private static void putBits(byte[] out, int byteBase, int bitOffset, int bits, int value) {
        int pos = byteBase * 8 + bitOffset;
        for (int b = 0; b < bits; ) {
            int byteIndex = pos >>> 3;
            int shift = pos & 7;
            int take = Math.min(bits - b, 8 - shift);
            int chunk = (value >>> b) & ((1 << take) - 1);
            out[byteIndex] = (byte) ((out[byteIndex] & ~(((1 << take) - 1) << shift)) | (chunk << shift));
            b += take;
            pos += take;
        }
    }

    private static int getBits(byte[] in, int byteBase, int bitOffset, int bits) {
        int pos = byteBase * 8 + bitOffset;
        int value = 0;
        for (int b = 0; b < bits; ) {
            int byteIndex = pos >>> 3;
            int shift = pos & 7;
            int take = Math.min(bits - b, 8 - shift);
            int chunk = ((in[byteIndex] & 0xFF) >>> shift) & ((1 << take) - 1);
            value |= chunk << b;
            b += take;
            pos += take;
        }
        return value;
    }
}
