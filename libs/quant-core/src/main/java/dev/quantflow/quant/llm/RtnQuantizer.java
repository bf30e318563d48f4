package dev.quantflow.quant.llm;

import dev.quantflow.quant.QuantizationException;

/**
 * Round-to-nearest: every block of {@code blockSize} rows of {@code W = [K, N]} gets its {@code (scale, zero)} per
 * column from its own min/max ({@link BlockQuantGrid#findParams}) and every weight its nearest code
 * ({@link BlockQuantGrid#quantizeRow}). The baseline GPTQ and AWQ are measured against; needs no calibration data.
 */
public final class RtnQuantizer {

    private final BlockQuantGrid grid;
    private final int blockSize;

    public RtnQuantizer(BlockQuantGrid grid, int blockSize) {
        if (blockSize < 16 || Integer.bitCount(blockSize) != 1) {
            throw new QuantizationException("block size must be a power of two >= 16, got " + blockSize);
        }
        this.grid = grid;
        this.blockSize = blockSize;
    }

    /** Quantizes {@code weight} ({@code [k, n]} row-major, not modified). */
    public BlockQuantizedWeight quantize(float[] weight, int k, int n) {
        if (weight.length != k * n) {
            throw new IllegalArgumentException("weight holds " + weight.length + " values, not " + k + "×" + n);
        }
        int blocks = BlockQuantizedWeight.blocks(k, blockSize);
        float[] scales = new float[blocks * n];
        byte[] zeros = new byte[blocks * n];
        byte[] codes = new byte[k * n];
        float[] lo = new float[n];
        float[] hi = new float[n];
        for (int g = 0; g < blocks; g++) {
            int end = Math.min(k, (g + 1) * blockSize);
            grid.findParams(weight, g * blockSize, end, n, scales, zeros, g * n, lo, hi);
            for (int r = g * blockSize; r < end; r++) {
                grid.quantizeRow(weight, r * n, n, scales, zeros, g * n, codes, r * n, null, 0);
            }
        }
        return new BlockQuantizedWeight(k, n, grid.bits(), blockSize, grid.symmetric(), codes, scales, zeros);
    }
}
