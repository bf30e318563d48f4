package dev.quantflow.bench;

import java.util.ArrayList;
import java.util.List;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Tensors;

/**
 * A float weight W [K, N] (MatMul's B, row-major) quantized to 4 bits in {@code com.microsoft.MatMulNBits}' layout.
 *
 * <p>Blocks of {@code blockSize} consecutive k per column n (K a multiple of the block size here). Asymmetric
 * round-to-nearest per (n, block): {@code lo = min(0, min W)}, {@code hi = max(0, max W)}, {@code s = (hi - lo) / 15},
 * {@code z = clamp(round(-lo / s), 0, 15)}, {@code q = clamp(round(W / s) + z, 0, 15)}; symmetric:
 * {@code s = max|W| / 7}, {@code q = clamp(round(W / s), -8, 7) + 8} and no zero-point tensor (the operator's default
 * zero point is 8). Dequantized value {@code (q - z)·s}.
 *
 * <p>Layout: {@code B} uint8 [N, K/blockSize, blockSize/2], element 2i of a block in the low nibble of byte i and
 * 2i+1 in the high nibble; {@code scales} float [N·K/blockSize]; {@code zeroPoints} uint8
 * [N·ceil((K/blockSize)/2)], per column the blocks' zero points packed the same way (low nibble first).
 */
record MiniLmFourBitWeights(int k, int n, int blockSize, byte[] packed, float[] scales, byte[] zeroPoints) {

    static MiniLmFourBitWeights quantize(float[] w, int k, int n, int blockSize, boolean asymmetric) {
        if (k % blockSize != 0 || blockSize % 2 != 0) {
            throw new IllegalArgumentException("K=" + k + " is not a multiple of block size " + blockSize);
        }
        int blocks = k / blockSize;
        int zpBytesPerColumn = (blocks + 1) / 2;
        byte[] packed = new byte[n * blocks * blockSize / 2];
        float[] scales = new float[n * blocks];
        byte[] zp = asymmetric ? new byte[n * zpBytesPerColumn] : null;
        for (int c = 0; c < n; c++) {
            for (int b = 0; b < blocks; b++) {
                float lo = 0;
                float hi = 0;
                for (int i = b * blockSize; i < (b + 1) * blockSize; i++) {
                    lo = Math.min(lo, w[i * n + c]);
                    hi = Math.max(hi, w[i * n + c]);
                }
                float s;
                int z;
                if (asymmetric) {
                    s = hi > lo ? (hi - lo) / 15f : 1f;
                    z = Math.max(0, Math.min(15, Math.round(-lo / s)));
                } else {
                    float amax = Math.max(-lo, hi);
                    s = amax > 0 ? amax / 7f : 1f;
                    z = 8;
                }
                scales[c * blocks + b] = s;
                if (asymmetric) {
                    zp[c * zpBytesPerColumn + b / 2] |= (byte) (b % 2 == 0 ? z : z << 4);
                }
                int base = (c * blocks + b) * blockSize / 2;
                for (int j = 0; j < blockSize; j++) {
                    int q = Math.max(0, Math.min(15, Math.round(w[(b * blockSize + j) * n + c] / s) + z));
                    packed[base + j / 2] |= (byte) (j % 2 == 0 ? q : q << 4);
                }
            }
        }
        return new MiniLmFourBitWeights(k, n, blockSize, packed, scales, zp);
    }

    /** Dequantized weight [K, N] row-major, to check the packing against the float weight. */
    float[] dequantize() {
        int blocks = k / blockSize;
        int zpBytesPerColumn = (blocks + 1) / 2;
        float[] w = new float[k * n];
        for (int c = 0; c < n; c++) {
            for (int b = 0; b < blocks; b++) {
                int z = zeroPoints == null ? 8 : (zeroPoints[c * zpBytesPerColumn + b / 2] >> (b % 2 * 4)) & 15;
                float s = scales[c * blocks + b];
                int base = (c * blocks + b) * blockSize / 2;
                for (int j = 0; j < blockSize; j++) {
                    int q = (packed[base + j / 2] >> (j % 2 * 4)) & 15;
                    w[(b * blockSize + j) * n + c] = (q - z) * s;
                }
            }
        }
        return w;
    }

    /** Initializers {@code <prefix>_q4}, {@code <prefix>_scales} and, when asymmetric, {@code <prefix>_zp}. */
    List<OnnxMl.TensorProto> initializers(String prefix) {
        int blocks = k / blockSize;
        List<OnnxMl.TensorProto> out = new ArrayList<>();
        out.add(Tensors.uint8Tensor(prefix + "_q4", new long[] {n, blocks, blockSize / 2}, packed));
        out.add(Tensors.floatTensor(prefix + "_scales", new long[] {(long) n * blocks}, scales));
        if (zeroPoints != null) {
            out.add(Tensors.uint8Tensor(prefix + "_zp", new long[] {zeroPoints.length}, zeroPoints));
        }
        return out;
    }
}
