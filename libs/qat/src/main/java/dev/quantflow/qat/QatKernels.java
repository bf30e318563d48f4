package dev.quantflow.qat;

/**
 * Dense kernels of the QAT engine: matrix products and the im2col / col2im transforms that turn a convolution into
 * one. All write into caller-owned arrays, allocate nothing and are single-threaded and deterministic (fixed
 * summation order).
 *
 * <h2>Matrix products</h2>
 * Row-major {@code A}, {@code B}, {@code C}; each routine <em>accumulates</em> into {@code C} (callers zero it when
 * they want a plain product):
 * <pre>
 *   C[M×N] += A[M×K] · B[K×N]      i-k-j order: the inner loop streams a row of B and a row of C
 *   C[M×N] += A[M×K] · B[N×K]ᵀ     i-j-k order: the inner loop is a dot product of two contiguous rows
 *   C[M×N] += A[K×M]ᵀ · B[K×N]     k-i-j order: the inner loop streams a row of B and a row of C
 * </pre>
 * The fourth combination ({@code Aᵀ·Bᵀ}) uses a plain strided loop; no layer of a convolutional net needs it on its
 * hot path.
 *
 * <h2>im2col</h2>
 * For one image {@code X[C, H, W]}, a kernel {@code kh × kw}, strides {@code (sh, sw)}, dilations {@code (dh, dw)}
 * and leading pads {@code (pt, pl)}, the column matrix has {@code K = C·kh·kw} rows and {@code P = OH·OW} columns:
 * <pre>
 *   col[(c·kh + i)·kw + j, oh·OW + ow] = X[c, oh·sh − pt + i·dh, ow·sw − pl + j·dw]   (0 outside the image)
 * </pre>
 * so that a convolution is {@code Y[M, P] = W[M, K] · col[K, P]}. {@code col2im} is its adjoint: it adds each column
 * entry back to the pixel it was read from (entries that read padding are dropped).
 */
final class QatKernels {

    /**
     * Whether the SIMD kernels ({@link QatVectorKernels}) are used: the JVM resolved {@code jdk.incubator.vector}
     * (flag {@code --add-modules jdk.incubator.vector}) and {@code -Dquantflow.qat.simd=false} was not given.
     */
    static final boolean SIMD = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
        && !"false".equals(System.getProperty("quantflow.qat.simd"));

    private QatKernels() {
    }

    /** {@code C += A·B}, A [m×k] at aOff, B [k×n] at bOff, C [m×n] at cOff. */
    static void matmulAB(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        if (SIMD) {
            QatVectorKernels.matmulAB(m, n, k, a, aOff, b, bOff, c, cOff);
        } else {
            scalarAB(m, n, k, a, aOff, b, bOff, c, cOff);
        }
    }

    /** {@code C += A·Bᵀ}, A [m×k], B [n×k], C [m×n]. */
    static void matmulABt(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        if (SIMD) {
            QatVectorKernels.matmulABt(m, n, k, a, aOff, b, bOff, c, cOff);
        } else {
            scalarABt(m, n, k, a, aOff, b, bOff, c, cOff);
        }
    }

    /** {@code C += Aᵀ·B}, A [k×m], B [k×n], C [m×n]. */
    static void matmulAtB(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        if (SIMD) {
            QatVectorKernels.matmulAtB(m, n, k, a, aOff, b, bOff, c, cOff);
        } else {
            scalarAtB(m, n, k, a, aOff, b, bOff, c, cOff);
        }
    }

    /** Scalar reference of {@link #matmulAB}. */
    static void scalarAB(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * n;
            int aRow = aOff + i * k;
            for (int p = 0; p < k; p++) {
                float av = a[aRow + p];
                if (av == 0f) {
                    continue;
                }
                int bRow = bOff + p * n;
                for (int j = 0; j < n; j++) {
                    c[cRow + j] += av * b[bRow + j];
                }
            }
        }
    }

    /** Scalar reference of {@link #matmulABt}. */
    static void scalarABt(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        for (int i = 0; i < m; i++) {
            int aRow = aOff + i * k;
            int cRow = cOff + i * n;
            for (int j = 0; j < n; j++) {
                int bRow = bOff + j * k;
                float s0 = 0f;
                float s1 = 0f;
                float s2 = 0f;
                float s3 = 0f;
                int p = 0;
                for (; p + 3 < k; p += 4) {
                    s0 += a[aRow + p] * b[bRow + p];
                    s1 += a[aRow + p + 1] * b[bRow + p + 1];
                    s2 += a[aRow + p + 2] * b[bRow + p + 2];
                    s3 += a[aRow + p + 3] * b[bRow + p + 3];
                }
                for (; p < k; p++) {
                    s0 += a[aRow + p] * b[bRow + p];
                }
                c[cRow + j] += (s0 + s1) + (s2 + s3);
            }
        }
    }

    /** Scalar reference of {@link #matmulAtB}. */
    static void scalarAtB(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        for (int p = 0; p < k; p++) {
            int aRow = aOff + p * m;
            int bRow = bOff + p * n;
            for (int i = 0; i < m; i++) {
                float av = a[aRow + i];
                if (av == 0f) {
                    continue;
                }
                int cRow = cOff + i * n;
                for (int j = 0; j < n; j++) {
                    c[cRow + j] += av * b[bRow + j];
                }
            }
        }
    }

    /** {@code C += op(A)·op(B)} with op = transpose when the flag is set; op(A) is [m×k], op(B) is [k×n]. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, float[] b, int bOff,
                     float[] c, int cOff) {
        if (!transA && !transB) {
            matmulAB(m, n, k, a, aOff, b, bOff, c, cOff);
        } else if (!transA) {
            matmulABt(m, n, k, a, aOff, b, bOff, c, cOff);
        } else if (!transB) {
            matmulAtB(m, n, k, a, aOff, b, bOff, c, cOff);
        } else {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float s = 0f;
                    for (int p = 0; p < k; p++) {
                        s += a[aOff + p * m + i] * b[bOff + j * k + p];
                    }
                    c[cOff + i * n + j] += s;
                }
            }
        }
    }

    /** Geometry of a 2-D sliding window (convolution or pooling) over one image plane. */
    record Window(int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, int h, int w, int oh, int ow) {
    }

    /** Writes the column matrix of channels {@code [c0, c0+cn)} of image {@code x} (at xOff) into col. */
    static void im2col(float[] x, int xOff, int c0, int cn, Window g, float[] col, int colOff) {
        int p = g.oh() * g.ow();
        int plane = g.h() * g.w();
        int row = 0;
        for (int c = 0; c < cn; c++) {
            int base = xOff + (c0 + c) * plane;
            for (int i = 0; i < g.kh(); i++) {
                for (int j = 0; j < g.kw(); j++, row++) {
                    int dst = colOff + row * p;
                    for (int oh = 0; oh < g.oh(); oh++) {
                        int ih = oh * g.sh() - g.pt() + i * g.dh();
                        int d = dst + oh * g.ow();
                        if (ih < 0 || ih >= g.h()) {
                            java.util.Arrays.fill(col, d, d + g.ow(), 0f);
                            continue;
                        }
                        int src = base + ih * g.w();
                        int iw0 = -g.pl() + j * g.dw();
                        if (g.sw() == 1 && iw0 >= 0 && iw0 + g.ow() <= g.w()) {
                            System.arraycopy(x, src + iw0, col, d, g.ow());
                            continue;
                        }
                        for (int ow = 0; ow < g.ow(); ow++) {
                            int iw = iw0 + ow * g.sw();
                            col[d + ow] = iw >= 0 && iw < g.w() ? x[src + iw] : 0f;
                        }
                    }
                }
            }
        }
    }

    /** Adds the column matrix back into channels {@code [c0, c0+cn)} of image gradient {@code dx} (adjoint). */
    static void col2im(float[] col, int colOff, int c0, int cn, Window g, float[] dx, int dxOff) {
        int p = g.oh() * g.ow();
        int plane = g.h() * g.w();
        int row = 0;
        for (int c = 0; c < cn; c++) {
            int base = dxOff + (c0 + c) * plane;
            for (int i = 0; i < g.kh(); i++) {
                for (int j = 0; j < g.kw(); j++, row++) {
                    int src = colOff + row * p;
                    for (int oh = 0; oh < g.oh(); oh++) {
                        int ih = oh * g.sh() - g.pt() + i * g.dh();
                        if (ih < 0 || ih >= g.h()) {
                            continue;
                        }
                        int dst = base + ih * g.w();
                        int s = src + oh * g.ow();
                        int iw0 = -g.pl() + j * g.dw();
                        for (int ow = 0; ow < g.ow(); ow++) {
                            int iw = iw0 + ow * g.sw();
                            if (iw >= 0 && iw < g.w()) {
                                dx[dst + iw] += col[s + ow];
                            }
                        }
                    }
                }
            }
        }
    }
}
