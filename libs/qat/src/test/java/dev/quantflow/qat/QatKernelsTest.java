package dev.quantflow.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The scalar and SIMD matrix products against a plain triple loop in double, on odd sizes and non-zero offsets.
 * Tolerance: 1e-5 · (k + 1) absolute on values in [-1, 1] (float summation of k products).
 */
class QatKernelsTest {

    private static final int[][] SIZES = {{1, 1, 1}, {13, 7, 207}, {5, 33, 17}, {3, 129, 64}, {2, 9, 4098}};

    @Test
    void simdKernelsAreActiveInTheTestJvm() {
        // surefire runs with --add-modules jdk.incubator.vector; without it only the scalar path would be tested
        assertThat(QatKernels.SIMD).isTrue();
    }

    @Test
    void allProductsAgreeWithTheDefinition() {
        SplittableRandom r = new SplittableRandom(5);
        for (int[] s : SIZES) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            float[] a = QatGraphTest.rand(r, 3 + m * k, 1);
            float[] b = QatGraphTest.rand(r, 5 + k * n, 1);
            float[] c0 = QatGraphTest.rand(r, 2 + m * n, 1);
            double tol = 1e-5 * (k + 1);
            for (int variant = 0; variant < 3; variant++) {
                double[] expected = new double[m * n];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double acc = c0[2 + i * n + j];
                        for (int p = 0; p < k; p++) {
                            // variant 0: A[m×k]·B[k×n]; 1: A[m×k]·(B as [n×k])ᵀ; 2: (A as [k×m])ᵀ·B[k×n]
                            float av = variant == 2 ? a[3 + p * m + i] : a[3 + i * k + p];
                            float bv = variant == 1 ? b[5 + j * k + p] : b[5 + p * n + j];
                            acc += (double) av * bv;
                        }
                        expected[i * n + j] = acc;
                    }
                }
                float[] scalar = c0.clone();
                float[] simd = c0.clone();
                switch (variant) {
                    case 0 -> {
                        QatKernels.scalarAB(m, n, k, a, 3, b, 5, scalar, 2);
                        QatVectorKernels.matmulAB(m, n, k, a, 3, b, 5, simd, 2);
                    }
                    case 1 -> {
                        QatKernels.scalarABt(m, n, k, a, 3, b, 5, scalar, 2);
                        QatVectorKernels.matmulABt(m, n, k, a, 3, b, 5, simd, 2);
                    }
                    default -> {
                        QatKernels.scalarAtB(m, n, k, a, 3, b, 5, scalar, 2);
                        QatVectorKernels.matmulAtB(m, n, k, a, 3, b, 5, simd, 2);
                    }
                }
                for (int i = 0; i < m * n; i++) {
                    assertThat((double) scalar[2 + i]).as("scalar v%d %s [%d]", variant, java.util.Arrays.toString(s), i)
                        .isCloseTo(expected[i], offset(tol));
                    assertThat((double) simd[2 + i]).as("simd v%d %s [%d]", variant, java.util.Arrays.toString(s), i)
                        .isCloseTo(expected[i], offset(tol));
                }
                assertThat(scalar[0]).isEqualTo(c0[0]);
                assertThat(simd[1]).isEqualTo(c0[1]);
            }
        }
    }
}
