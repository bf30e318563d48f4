package dev.quantflow.quant.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

class LayerInputStatsTest {

    private static final int K = 13;

    private static float[] data(int rows) {
        return LlmTestData.gaussian(new Random(rows), rows * K, 1.5f);
    }

    @Test
    void hessianIsSymmetricAndTwiceTheMeanOfXtX() {
        int rows = 57;
        float[] x = data(rows);
        LayerInputStats s = new LayerInputStats("x", K, 0, 1);
        s.accumulate(x, 0, 20);
        s.accumulate(x, 20 * K, rows - 20);
        double[] h = s.hessian();
        for (int i = 0; i < K; i++) {
            for (int j = 0; j < K; j++) {
                double direct = 0;
                for (int r = 0; r < rows; r++) {
                    direct += (double) x[r * K + i] * x[r * K + j];
                }
                direct *= 2.0 / rows;
                assertThat(h[i * K + j]).isCloseTo(direct, within(1e-9 * Math.max(1, Math.abs(direct))));
                assertThat(h[i * K + j]).isEqualTo(h[j * K + i]);
            }
        }
        assertThat(s.rows()).isEqualTo(rows);
    }

    @Test
    void meanAbsPerChannel() {
        int rows = 31;
        float[] x = data(rows);
        LayerInputStats s = new LayerInputStats("x", K, 4, 1);
        s.accumulate(x, 0, rows);
        float[] m = s.meanAbs();
        for (int j = 0; j < K; j++) {
            double sum = 0;
            for (int r = 0; r < rows; r++) {
                sum += Math.abs(x[r * K + j]);
            }
            assertThat((double) m[j]).isCloseTo(sum / rows, within(1e-5));
        }
        assertThat(new LayerInputStats("y", K, 4, 1).meanAbs()).containsOnly(0f);
    }

    @Test
    void reservoirIsDeterministicUniformOverRowsAndIndependentOfBatching() {
        int rows = 400;
        float[] x = data(rows);
        LayerInputStats a = new LayerInputStats("x", K, 16, 42);
        a.accumulate(x, 0, rows);
        LayerInputStats b = new LayerInputStats("x", K, 16, 42);
        for (int r = 0; r < rows; r += 7) {
            b.accumulate(x, r * K, Math.min(7, rows - r));
        }
        assertThat(b.sample()).isEqualTo(a.sample());
        assertThat(a.sampleRows()).isEqualTo(16);
        Set<Integer> picked = new HashSet<>();
        float[] sample = a.sample();
        for (int i = 0; i < 16; i++) {
            float[] row = Arrays.copyOfRange(sample, i * K, (i + 1) * K);
            int found = -1;
            for (int r = 0; r < rows; r++) {
                if (Arrays.equals(row, Arrays.copyOfRange(x, r * K, (r + 1) * K))) {
                    found = r;
                }
            }
            assertThat(found).as("sampled row %d is a row of X", i).isNotNegative();
            picked.add(found);
        }
        assertThat(picked).hasSize(16);
        assertThat(picked.stream().mapToInt(Integer::intValue).max().getAsInt()).as("not just the first rows")
            .isGreaterThan(100);
        LayerInputStats other = new LayerInputStats("x", K, 16, 43);
        other.accumulate(x, 0, rows);
        assertThat(other.sample()).isNotEqualTo(a.sample());
    }

    @Test
    void fewRowsAreAllKeptInOrder() {
        float[] x = data(5);
        LayerInputStats s = new LayerInputStats("x", K, 8, 1);
        s.accumulate(x, 0, 5);
        assertThat(s.sample()).isEqualTo(x);
    }

    @Test
    void writeToReadFromRoundTripAndContinuesTheSameReservoir() throws IOException {
        float[] x = data(300);
        LayerInputStats a = new LayerInputStats("model/layer.0/ln_out", K, 10, 5);
        a.accumulate(x, 0, 150);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        a.writeTo(new DataOutputStream(bytes));
        LayerInputStats b = LayerInputStats.readFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        assertThat(b.tensor()).isEqualTo(a.tensor());
        assertThat(b.k()).isEqualTo(K);
        assertThat(b.rows()).isEqualTo(150);
        assertThat(b.hessian()).isEqualTo(a.hessian());
        assertThat(b.meanAbs()).isEqualTo(a.meanAbs());
        assertThat(b.sample()).isEqualTo(a.sample());
        a.accumulate(x, 150 * K, 150);
        b.accumulate(x, 150 * K, 150);
        assertThat(b.sample()).isEqualTo(a.sample());
        assertThat(b.hessian()).isEqualTo(a.hessian());
    }

    /**
     * The panelled XᵀX against a direct double sum per entry, on odd sizes around the panel (64 rows) and tile
     * (512 columns) edges, fed in uneven batches from an offset, with exact zeros (the kernel's skip path) mixed in.
     */
    @Test
    void xtxMatchesADirectSumOnOddSizes() {
        for (int k : new int[] {1, 13, 260, 515}) {
            for (int rows : new int[] {1, 13, 207}) {
                Random r = new Random(31L * k + rows);
                int offset = 3;
                float[] x = new float[offset + rows * k];
                for (int i = offset; i < x.length; i++) {
                    x[i] = r.nextInt(9) == 0 ? 0f : (float) r.nextGaussian() * (1 + (i % 7));
                }
                LayerInputStats s = new LayerInputStats("x", k, 0, 1);
                int done = 0;
                for (int batch : new int[] {5, 70, 1, 64, 200}) {
                    int m = Math.min(batch, rows - done);
                    s.accumulate(x, offset + done * k, m);
                    done += m;
                }
                s.accumulate(x, offset + done * k, rows - done);
                double[] h = s.hessian();
                for (int i = 0; i < k; i++) {
                    for (int j = i; j < k; j++) {
                        double direct = 0;
                        double absSum = 0;
                        for (int row = 0; row < rows; row++) {
                            double p = (double) x[offset + row * k + i] * x[offset + row * k + j];
                            direct += p;
                            absSum += Math.abs(p);
                        }
                        direct *= 2.0 / rows;
                        absSum *= 2.0 / rows;
                        assertThat(Math.abs(h[i * k + j] - direct)).as("k %d rows %d (%d, %d)", k, rows, i, j)
                            .isLessThanOrEqualTo(1e-12 * absSum);
                        assertThat(h[j * k + i]).isEqualTo(h[i * k + j]);
                    }
                }
            }
        }
    }
}
