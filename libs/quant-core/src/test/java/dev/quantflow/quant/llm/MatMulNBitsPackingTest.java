package dev.quantflow.quant.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class MatMulNBitsPackingTest {

    @ParameterizedTest
    @CsvSource({"4,32,1,1", "4,32,37,5", "4,16,100,3", "4,64,64,7", "4,128,129,2", "8,32,45,3", "3,32,77,6",
        "2,16,50,9", "2,64,20,4", "3,16,33,1"})
    void packUnpackRoundTripOnOddShapes(int bits, int blockSize, int k, int n) {
        Random r = new Random(bits * 1000L + k * 31L + n);
        int blocks = BlockQuantizedWeight.blocks(k, blockSize);
        byte[] codes = new byte[k * n];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) r.nextInt(1 << bits);
        }
        float[] scales = new float[blocks * n];
        byte[] zeros = new byte[blocks * n];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = r.nextFloat() + 0.01f;
            zeros[i] = (byte) r.nextInt(1 << bits);
        }
        BlockQuantizedWeight w = new BlockQuantizedWeight(k, n, bits, blockSize, false, codes, scales, zeros);

        byte[] b = MatMulNBitsPacking.packB(w);
        assertThat(b).hasSize(n * blocks * blockSize * bits / 8);
        assertThat(MatMulNBitsPacking.unpackB(b, k, n, bits, blockSize)).isEqualTo(codes);
        byte[] zp = MatMulNBitsPacking.packZeroPoints(w);
        assertThat(zp).hasSize(n * ((blocks * bits + 7) / 8));
        assertThat(MatMulNBitsPacking.unpackZeroPoints(zp, n, blocks, bits)).isEqualTo(zeros);
        assertThat(MatMulNBitsPacking.unpackScales(MatMulNBitsPacking.packScales(w), n, blocks)).isEqualTo(scales);
    }

    @Test
    void fourBitLayoutIsLowNibbleFirstPerColumnAndPadsWithTheZeroPoint() {
        // k = 3, n = 2, block 16: column 0 codes 1,2,3 then 13 pad rows at zero point 9; column 1 codes 4,5,6, zp 10
        byte[] codes = {1, 4, 2, 5, 3, 6};
        BlockQuantizedWeight w = new BlockQuantizedWeight(3, 2, 4, 16, false, codes, new float[] {1f, 2f},
            new byte[] {9, 10});
        byte[] b = MatMulNBitsPacking.packB(w);
        assertThat(b).hasSize(16);
        assertThat(b[0] & 0xFF).isEqualTo(0x21);
        assertThat(b[1] & 0xFF).isEqualTo(0x93);
        assertThat(b[2] & 0xFF).isEqualTo(0x99);
        assertThat(b[8] & 0xFF).isEqualTo(0x54);
        assertThat(b[9] & 0xFF).isEqualTo(0xA6);
        assertThat(MatMulNBitsPacking.packZeroPoints(w)).containsExactly(9, 10);
        assertThat(MatMulNBitsPacking.packScales(w)).containsExactly(1f, 2f);
    }

    @Test
    void zeroPointsOfAColumnStartOnAByteBoundary() {
        // 3 blocks of 4-bit zero points per column: 2 bytes per column, the last high nibble unused (0)
        byte[] zeros = {1, 2, 3, 4, 5, 6}; // [blocks=3, n=2]
        BlockQuantizedWeight w = new BlockQuantizedWeight(40, 2, 4, 16, false, new byte[80], new float[6], zeros);
        assertThat(MatMulNBitsPacking.packZeroPoints(w)).containsExactly(0x31, 0x05, 0x42, 0x06);
    }

    @Test
    void nibblesPackLowFirst() {
        assertThat(MatMulNBitsPacking.packNibbles(new byte[] {1, 2, 3})).containsExactly(0x21, 0x03);
    }
}
