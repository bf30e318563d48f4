package dev.quantflow.quant.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;

import org.junit.jupiter.api.Test;

class AwqClipSearchTest {

    static final int K = 80;   // two full blocks of 32 and one of 16
    static final int N = 13;
    static final int BLOCK = 32;
    static final int ROWS = 96;

    /** Gaussian weights with a few large outliers: the case clipping is for. */
    static float[] weightWithOutliers(Random r) {
        float[] w = LlmTestData.gaussian(r, K * N, 0.05f);
        for (int t = 0; t < 12; t++) {
            w[r.nextInt(K * N)] *= 8f;
        }
        return w;
    }

    /** Gram matrix XᵀX computed directly. */
    static double[] gram(float[] x, int rows, int k) {
        double[] g = new double[k * k];
        for (int row = 0; row < rows; row++) {
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    g[i * k + j] += (double) x[row * k + i] * x[row * k + j];
                }
            }
        }
        return g;
    }

    /** {@code ‖X_b (W_b − Ŵ_b)‖²} per (block, column), from the sample rows themselves. */
    static double[] blockErrors(float[] x, float[] w, float[] dq) {
        int blocks = (K + BLOCK - 1) / BLOCK;
        double[] e = new double[blocks * N];
        for (int row = 0; row < ROWS; row++) {
            for (int g = 0; g < blocks; g++) {
                for (int c = 0; c < N; c++) {
                    double y = 0;
                    for (int i = g * BLOCK; i < Math.min(K, (g + 1) * BLOCK); i++) {
                        y += (double) x[row * K + i] * (w[i * N + c] - dq[i * N + c]);
                    }
                    e[g * N + c] += y * y;
                }
            }
        }
        return e;
    }

    @Test
    void clippingNeverIncreasesABlocksSampleErrorAndHelpsWithOutliers() {
        for (boolean symmetric : new boolean[] {false, true}) {
            Random r = new Random(symmetric ? 2 : 1);
            float[] x = LlmTestData.correlated(r, ROWS, K);
            float[] w = weightWithOutliers(r);
            BlockQuantGrid grid = new BlockQuantGrid(4, symmetric);
            RtnQuantizer rtn = new RtnQuantizer(grid, BLOCK);
            AwqClipSearch.Result res = AwqClipSearch.search(w, K, N, gram(x, ROWS, K), grid, BLOCK);

            double[] plain = blockErrors(x, w, rtn.quantize(w, K, N).dequantize());
            double[] clipped = blockErrors(x, w, rtn.quantize(res.clipped(), K, N).dequantize());
            double plainSum = 0;
            double clippedSum = 0;
            for (int b = 0; b < plain.length; b++) {
                assertThat(clipped[b]).as("block/column %d", b).isLessThanOrEqualTo(plain[b] * (1 + 1e-9));
                plainSum += plain[b];
                clippedSum += clipped[b];
            }
            // the reported losses are the same quantities, computed through the Gram matrix
            assertThat(res.rtnLoss()).isCloseTo(plainSum, within(1e-9 * plainSum));
            assertThat(res.loss()).isCloseTo(clippedSum, within(1e-9 * plainSum));
            assertThat(clippedSum).as(grid.toString()).isLessThan(0.9 * plainSum);
            float minRatio = 1f;
            for (float v : res.ratios()) {
                minRatio = Math.min(minRatio, v);
            }
            assertThat(minRatio).as("some block/column is clipped").isLessThan(1f);
        }
    }

    @Test
    void clippedWeightStaysInsideTheChosenRangeAndRatiosLieOnTheGrid() {
        Random r = new Random(3);
        float[] x = LlmTestData.correlated(r, ROWS, K);
        float[] w = weightWithOutliers(r);
        AwqClipSearch.Result res = AwqClipSearch.search(w, K, N, gram(x, ROWS, K), new BlockQuantGrid(4, true), BLOCK);
        for (int g = 0; g < 3; g++) {
            for (int c = 0; c < N; c++) {
                float ratio = res.ratios()[g * N + c];
                double step = (1 - AwqClipSearch.MIN_RATIO) / (AwqClipSearch.GRID_POINTS - 1);
                double index = (1 - ratio) / step;
                assertThat(index).isCloseTo(Math.rint(index), within(1e-4));
                assertThat(ratio).isBetween((float) AwqClipSearch.MIN_RATIO, 1f);
                float amax = 0f;
                for (int i = g * BLOCK; i < Math.min(K, (g + 1) * BLOCK); i++) {
                    amax = Math.max(amax, Math.abs(w[i * N + c]));
                }
                for (int i = g * BLOCK; i < Math.min(K, (g + 1) * BLOCK); i++) {
                    float v = w[i * N + c];
                    float expected = Math.max(-ratio * amax, Math.min(ratio * amax, v));
                    assertThat(res.clipped()[i * N + c]).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void aWeightOnTheGridIsLeftAlone() {
        // every block/column already holds exactly representable values: RTN is lossless, nothing to gain
        Random r = new Random(4);
        float[] x = LlmTestData.correlated(r, ROWS, K);
        float[] w = new float[K * N];
        for (int i = 0; i < w.length; i++) {
            w[i] = 0.01f * (r.nextInt(15) - 7);
        }
        for (int c = 0; c < N; c++) {
            for (int g = 0; g < 3; g++) {
                w[(g * BLOCK) * N + c] = 0.07f;
                w[(g * BLOCK + 1) * N + c] = -0.07f;
            }
        }
        AwqClipSearch.Result res = AwqClipSearch.search(w, K, N, gram(x, ROWS, K), new BlockQuantGrid(4, true), BLOCK);
        assertThat(res.ratios()).containsOnly(1f);
        assertThat(res.clipped()).isEqualTo(w);
    }
}
