package dev.quantflow.qat;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD versions (JDK Vector API) of the three matrix products of {@link QatKernels}; same contracts, and the same
 * loop orders with the inner loop done {@code SPECIES.length()} lanes at a time with fused multiply-adds. The i-k-j
 * and k-i-j products add the same terms in the same order per element as the scalar code, up to FMA's single
 * rounding; the dot product ({@code A·Bᵀ}) keeps lane-wise partial sums and adds them in lane order at the end, so its rounding
 * differs from the scalar one within float tolerance (tested against each other on odd sizes) but is the same on
 * every run.
 *
 * <p>Only loaded when the {@code jdk.incubator.vector} module is present (run with
 * {@code --add-modules jdk.incubator.vector}); see {@link QatKernels#SIMD}.
 */
final class QatVectorKernels {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private QatVectorKernels() {
    }

    static void matmulAB(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        int lanes = SPECIES.length();
        int bound = n - n % lanes;
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * n;
            int aRow = aOff + i * k;
            for (int p = 0; p < k; p++) {
                float av = a[aRow + p];
                if (av == 0f) {
                    continue;
                }
                axpy(av, b, bOff + p * n, c, cRow, n, bound, lanes);
            }
        }
    }

    static void matmulAtB(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        int lanes = SPECIES.length();
        int bound = n - n % lanes;
        for (int p = 0; p < k; p++) {
            int aRow = aOff + p * m;
            int bRow = bOff + p * n;
            for (int i = 0; i < m; i++) {
                float av = a[aRow + i];
                if (av == 0f) {
                    continue;
                }
                axpy(av, b, bRow, c, cOff + i * n, n, bound, lanes);
            }
        }
    }

    /** {@code c[cOff..cOff+n) += av · b[bOff..bOff+n)}. */
    private static void axpy(float av, float[] b, int bOff, float[] c, int cOff, int n, int bound, int lanes) {
        FloatVector va = FloatVector.broadcast(SPECIES, av);
        int j = 0;
        for (; j < bound; j += lanes) {
            FloatVector.fromArray(SPECIES, b, bOff + j).fma(va, FloatVector.fromArray(SPECIES, c, cOff + j))
                .intoArray(c, cOff + j);
        }
        for (; j < n; j++) {
            c[cOff + j] += av * b[bOff + j];
        }
    }

    /**
     * Sum of the lanes in lane order. {@code reduceLanes(ADD)} leaves the order open, and the JIT-compiled and
     * interpreted forms differ, which would make results depend on compilation timing.
     */
    private static float sumLanes(FloatVector v) {
        float s = 0f;
        for (int l = 0; l < SPECIES.length(); l++) {
            s += v.lane(l);
        }
        return s;
    }

    static void matmulABt(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        int lanes = SPECIES.length();
        int bound = k - k % lanes;
        for (int i = 0; i < m; i++) {
            int aRow = aOff + i * k;
            int cRow = cOff + i * n;
            int j = 0;
            for (; j + 1 < n; j += 2) {
                int b0 = bOff + j * k;
                int b1 = b0 + k;
                FloatVector acc0 = FloatVector.zero(SPECIES);
                FloatVector acc1 = FloatVector.zero(SPECIES);
                int p = 0;
                for (; p < bound; p += lanes) {
                    FloatVector va = FloatVector.fromArray(SPECIES, a, aRow + p);
                    acc0 = va.fma(FloatVector.fromArray(SPECIES, b, b0 + p), acc0);
                    acc1 = va.fma(FloatVector.fromArray(SPECIES, b, b1 + p), acc1);
                }
                float s0 = sumLanes(acc0);
                float s1 = sumLanes(acc1);
                for (; p < k; p++) {
                    s0 += a[aRow + p] * b[b0 + p];
                    s1 += a[aRow + p] * b[b1 + p];
                }
                c[cRow + j] += s0;
                c[cRow + j + 1] += s1;
            }
            for (; j < n; j++) {
                int b0 = bOff + j * k;
                FloatVector acc0 = FloatVector.zero(SPECIES);
                int p = 0;
                for (; p < bound; p += lanes) {
                    acc0 = FloatVector.fromArray(SPECIES, a, aRow + p).fma(FloatVector.fromArray(SPECIES, b, b0 + p), acc0);
                }
                float s0 = sumLanes(acc0);
                for (; p < k; p++) {
                    s0 += a[aRow + p] * b[b0 + p];
                }
                c[cRow + j] += s0;
            }
        }
    }
}
