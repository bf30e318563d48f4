package dev.quantflow.quant.llm;

import java.util.Random;

/** Seeded random weights and correlated activations for the LLM-path tests. */
final class LlmTestData {

    private LlmTestData() {
    }

    static float[] gaussian(Random r, int count, float std) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) r.nextGaussian() * std;
        }
        return a;
    }

    /**
     * {@code rows × k} activations with correlated channels: {@code X = Z · M} with {@code M = I + 0.4·G/√k}
     * (G Gaussian), channel {@code j} then scaled by {@code 0.5 + 1.5·u_j}.
     */
    static float[] correlated(Random r, int rows, int k) {
        double[] m = new double[k * k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                m[i * k + j] = (i == j ? 1.0 : 0.0) + 0.4 * r.nextGaussian() / Math.sqrt(k);
            }
        }
        double[] scale = new double[k];
        for (int j = 0; j < k; j++) {
            scale[j] = 0.5 + 1.5 * r.nextDouble();
        }
        float[] x = new float[rows * k];
        double[] z = new double[k];
        for (int row = 0; row < rows; row++) {
            for (int i = 0; i < k; i++) {
                z[i] = r.nextGaussian();
            }
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int i = 0; i < k; i++) {
                    s += z[i] * m[i * k + j];
                }
                x[row * k + j] = (float) (s * scale[j]);
            }
        }
        return x;
    }

    static LayerInputStats stats(String tensor, float[] x, int rows, int k, int sampleRows) {
        LayerInputStats s = new LayerInputStats(tensor, k, sampleRows, 7L);
        s.accumulate(x, 0, rows);
        return s;
    }

    /** {@code X·W}: {@code [rows, n]}. */
    static double[] matmul(float[] x, int rows, int k, float[] w, int n) {
        double[] y = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < k; i++) {
                double xv = x[r * k + i];
                for (int c = 0; c < n; c++) {
                    y[r * n + c] += xv * w[i * n + c];
                }
            }
        }
        return y;
    }
}
