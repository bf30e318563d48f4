package dev.quantflow.qat;

import java.util.Arrays;

/**
 * The fp32 operators of the QAT engine and their gradients (all NCHW, float32).
 *
 * <h2>Gradients</h2>
 * With {@code g = ∂L/∂Y}:
 * <ul>
 *   <li><b>Conv</b> ({@code Y = W ⋆ X + b}, per group {@code Y_g = W_g · im2col(X_g)}, see {@link QatKernels}):
 *       {@code ∂W_g = Σ_n g_{n,g} · colᵀ}, {@code ∂b_m = Σ_{n,p} g_{n,m,p}}, {@code ∂X = col2im(W_gᵀ · g_{n,g})}.
 *   <li><b>Gemm</b> ({@code Y = α·op(A)·op(B) + β·C}): {@code ∂op(A) = α·g·op(B)ᵀ}, {@code ∂op(B) = α·op(A)ᵀ·g},
 *       {@code ∂C = β·g} summed over the dimensions C was broadcast along. <b>MatMul</b> is the α=1, β=0 case
 *       applied to the flattened leading dimensions (or per batch).
 *   <li><b>Add/Sub/Mul/Div</b> with NumPy broadcasting: {@code ∂a = g·∂f/∂a} and {@code ∂b = g·∂f/∂b}, each summed
 *       over the dimensions that input was broadcast along.
 *   <li><b>Relu</b>: {@code g·[x > 0]}; <b>Clip</b>: {@code g·[lo ≤ x ≤ hi]} (the bounds are constants);
 *       <b>Sigmoid</b>: {@code g·y·(1−y)}.
 *   <li><b>MaxPool</b>: g goes to the arg-max of each window (the first one on ties); <b>AveragePool</b>: g / count
 *       to each position of the window that was counted; <b>GlobalAveragePool</b>: g / (H·W) to every position.
 *   <li><b>Softmax</b> along an axis: {@code ∂x = y ⊙ (g − Σ g⊙y)}; <b>LogSoftmax</b>: {@code ∂x = g − softmax(x)·Σ g}.
 *   <li><b>BatchNormalization</b> (inference form, statistics frozen; used only when it cannot be folded into a Conv):
 *       {@code y = γ·x̂ + β}, {@code x̂ = (x − μ)/√(σ² + ε)}: {@code ∂x = g·γ/√(σ² + ε)}, {@code ∂γ = Σ g·x̂},
 *       {@code ∂β = Σ g}.
 *   <li><b>Flatten, Reshape, Identity, Dropout</b> (inference: identity): the gradient is g, reshaped.
 * </ul>
 */
final class QatOps {

    private QatOps() {
    }

    // ---------------------------------------------------------------- window ops

    /** Leading/trailing pads of one spatial axis from {@code auto_pad}, or the explicit pads. */
    static int[] resolvePads(String autoPad, int[] explicitPads, int h, int w, int kh, int kw, int sh, int sw,
                             int dh, int dw) {
        if (autoPad.isEmpty() || autoPad.equals("NOTSET")) {
            return explicitPads;
        }
        if (autoPad.equals("VALID")) {
            return new int[4];
        }
        int[] pads = new int[4];
        int[] in = {h, w};
        int[] k = {kh, kw};
        int[] s = {sh, sw};
        int[] d = {dh, dw};
        for (int a = 0; a < 2; a++) {
            int out = (in[a] + s[a] - 1) / s[a];
            int total = Math.max(0, (out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - in[a]);
            int small = total / 2;
            int large = total - small;
            boolean upper = autoPad.equals("SAME_UPPER");
            pads[a] = upper ? small : large;
            pads[a + 2] = upper ? large : small;
        }
        return pads;
    }

    static int outputSize(int in, int padBegin, int padEnd, int k, int stride, int dilation, boolean ceil) {
        int span = in + padBegin + padEnd - ((k - 1) * dilation + 1);
        if (span < 0) {
            throw new IllegalArgumentException("window of " + k + " (dilation " + dilation + ") larger than padded input "
                + (in + padBegin + padEnd));
        }
        int out = ceil ? (span + stride - 1) / stride + 1 : span / stride + 1;
        if (ceil && (out - 1) * stride >= in + padBegin) {
            out--; // the last window would start in the trailing padding
        }
        return out;
    }

    static void requireRank(QatTensor t, int rank, String what) {
        if (t.rank() != rank) {
            throw new IllegalArgumentException(what + " expects a rank-" + rank + " input, got " + t);
        }
    }

    /** Conv, any group count, 2-D (NCHW). */
    static final class Conv implements QatOp {
        private final int group;
        private final int[] strides;
        private final int[] pads;
        private final int[] dilations;
        private final String autoPad;
        private QatKernels.Window win;
        private float[] col = new float[0];
        private float[] dcol = new float[0];

        Conv(int group, int[] strides, int[] pads, int[] dilations, String autoPad) {
            this.group = group;
            this.strides = strides;
            this.pads = pads;
            this.dilations = dilations;
            this.autoPad = autoPad;
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            QatTensor x = in[0];
            QatTensor w = in[1];
            requireRank(x, 4, "Conv");
            requireRank(w, 4, "Conv weight");
            int n = x.dim(0);
            int c = x.dim(1);
            int m = w.dim(0);
            int cg = w.dim(1);
            if (cg * group != c || m % group != 0) {
                throw new IllegalArgumentException("Conv: input " + x + ", weight " + w + ", group " + group);
            }
            int kh = w.dim(2);
            int kw = w.dim(3);
            int h = x.dim(2);
            int wd = x.dim(3);
            int[] p = resolvePads(autoPad, pads, h, wd, kh, kw, strides[0], strides[1], dilations[0], dilations[1]);
            int oh = outputSize(h, p[0], p[2], kh, strides[0], dilations[0], false);
            int ow = outputSize(wd, p[1], p[3], kw, strides[1], dilations[1], false);
            win = new QatKernels.Window(kh, kw, strides[0], strides[1], dilations[0], dilations[1], p[0], p[1], h, wd,
                oh, ow);
            int k = cg * kh * kw;
            int pp = oh * ow;
            int mg = m / group;
            int colSize = n * group * k * pp;
            if (col.length < colSize) {
                col = new float[colSize];
            }
            out.reshape(n, m, oh, ow);
            float[] y = out.data();
            float[] xd = x.data();
            float[] wdt = w.data();
            float[] b = in.length > 2 && in[2] != null ? in[2].data() : null;
            Arrays.fill(y, 0, out.size(), 0f);
            for (int ni = 0; ni < n; ni++) {
                for (int gi = 0; gi < group; gi++) {
                    int colOff = (ni * group + gi) * k * pp;
                    QatKernels.im2col(xd, ni * c * h * wd, gi * cg, cg, win, col, colOff);
                    int yOff = (ni * m + gi * mg) * pp;
                    QatKernels.matmulAB(mg, pp, k, wdt, gi * mg * k, col, colOff, y, yOff);
                }
                if (b != null) {
                    for (int mi = 0; mi < m; mi++) {
                        float bv = b[mi];
                        int off = (ni * m + mi) * pp;
                        for (int q = 0; q < pp; q++) {
                            y[off + q] += bv;
                        }
                    }
                }
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            QatTensor x = in[0];
            QatTensor w = in[1];
            QatTensor b = in.length > 2 ? in[2] : null;
            int n = x.dim(0);
            int c = x.dim(1);
            int m = w.dim(0);
            int cg = w.dim(1);
            int k = cg * win.kh() * win.kw();
            int pp = win.oh() * win.ow();
            int mg = m / group;
            float[] g = out.grad();
            if (x.grad() != null && dcol.length < k * pp) {
                dcol = new float[k * pp];
            }
            for (int ni = 0; ni < n; ni++) {
                for (int gi = 0; gi < group; gi++) {
                    int colOff = (ni * group + gi) * k * pp;
                    int yOff = (ni * m + gi * mg) * pp;
                    if (w.grad() != null) {
                        QatKernels.matmulABt(mg, k, pp, g, yOff, col, colOff, w.grad(), gi * mg * k);
                    }
                    if (x.grad() != null) {
                        Arrays.fill(dcol, 0, k * pp, 0f);
                        QatKernels.matmulAtB(k, pp, mg, w.data(), gi * mg * k, g, yOff, dcol, 0);
                        QatKernels.col2im(dcol, 0, gi * cg, cg, win, x.grad(), ni * c * win.h() * win.w());
                    }
                }
                if (b != null && b.grad() != null) {
                    float[] db = b.grad();
                    for (int mi = 0; mi < m; mi++) {
                        int off = (ni * m + mi) * pp;
                        float s = 0f;
                        for (int q = 0; q < pp; q++) {
                            s += g[off + q];
                        }
                        db[mi] += s;
                    }
                }
            }
        }
    }

    /** MaxPool or AveragePool, 2-D. */
    static final class Pool implements QatOp {
        private final boolean max;
        private final int[] kernel;
        private final int[] strides;
        private final int[] pads;
        private final int[] dilations;
        private final String autoPad;
        private final boolean ceil;
        private final boolean countIncludePad;
        private int[] argmax = new int[0];
        private float[] divisor = new float[0];
        private QatKernels.Window win;

        Pool(boolean max, int[] kernel, int[] strides, int[] pads, int[] dilations, String autoPad, boolean ceil,
             boolean countIncludePad) {
            this.max = max;
            this.kernel = kernel;
            this.strides = strides;
            this.pads = pads;
            this.dilations = dilations;
            this.autoPad = autoPad;
            this.ceil = ceil;
            this.countIncludePad = countIncludePad;
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            QatTensor x = in[0];
            requireRank(x, 4, max ? "MaxPool" : "AveragePool");
            int n = x.dim(0);
            int c = x.dim(1);
            int h = x.dim(2);
            int w = x.dim(3);
            int[] p = resolvePads(autoPad, pads, h, w, kernel[0], kernel[1], strides[0], strides[1], dilations[0],
                dilations[1]);
            int oh = outputSize(h, p[0], p[2], kernel[0], strides[0], dilations[0], ceil);
            int ow = outputSize(w, p[1], p[3], kernel[1], strides[1], dilations[1], ceil);
            win = new QatKernels.Window(kernel[0], kernel[1], strides[0], strides[1], dilations[0], dilations[1], p[0],
                p[1], h, w, oh, ow);
            out.reshape(n, c, oh, ow);
            int total = out.size();
            if (max && argmax.length < total) {
                argmax = new int[total];
            }
            if (!max && divisor.length < oh * ow) {
                divisor = new float[oh * ow];
            }
            float[] xd = x.data();
            float[] y = out.data();
            if (max && kernel[0] == 2 && kernel[1] == 2 && strides[0] == 2 && strides[1] == 2 && p[0] == 0
                && p[1] == 0 && dilations[0] == 1 && dilations[1] == 1 && 2 * oh <= h && 2 * ow <= w) {
                maxPool2x2(xd, y, n * c, h, w, oh, ow);
                return;
            }
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    if (!max) {
                        divisor[oy * ow + ox] = windowCount(oy, ox, p, h, w);
                    }
                }
            }
            for (int plane = 0; plane < n * c; plane++) {
                int base = plane * h * w;
                int obase = plane * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        float acc = max ? Float.NEGATIVE_INFINITY : 0f;
                        int best = -1;
                        for (int i = 0; i < kernel[0]; i++) {
                            int iy = oy * strides[0] - p[0] + i * dilations[0];
                            if (iy < 0 || iy >= h) {
                                continue;
                            }
                            for (int j = 0; j < kernel[1]; j++) {
                                int ix = ox * strides[1] - p[1] + j * dilations[1];
                                if (ix < 0 || ix >= w) {
                                    continue;
                                }
                                float v = xd[base + iy * w + ix];
                                if (max) {
                                    if (v > acc || best < 0) {
                                        acc = v;
                                        best = base + iy * w + ix;
                                    }
                                } else {
                                    acc += v;
                                }
                            }
                        }
                        int o = obase + oy * ow + ox;
                        if (max) {
                            y[o] = acc;
                            argmax[o] = best;
                        } else {
                            y[o] = acc / divisor[oy * ow + ox];
                        }
                    }
                }
            }
        }

        /** The common 2×2, stride-2, unpadded max pool; same result and tie rule (first maximum) as the general loop. */
        private void maxPool2x2(float[] xd, float[] y, int planes, int h, int w, int oh, int ow) {
            for (int plane = 0; plane < planes; plane++) {
                int base = plane * h * w;
                int obase = plane * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    int r0 = base + 2 * oy * w;
                    int r1 = r0 + w;
                    int o = obase + oy * ow;
                    for (int ox = 0; ox < ow; ox++, o++) {
                        int i0 = r0 + 2 * ox;
                        int i1 = r1 + 2 * ox;
                        int best = i0;
                        float v = xd[i0];
                        if (xd[i0 + 1] > v) {
                            v = xd[i0 + 1];
                            best = i0 + 1;
                        }
                        if (xd[i1] > v) {
                            v = xd[i1];
                            best = i1;
                        }
                        if (xd[i1 + 1] > v) {
                            v = xd[i1 + 1];
                            best = i1 + 1;
                        }
                        y[o] = v;
                        argmax[o] = best;
                    }
                }
            }
        }

        private float windowCount(int oy, int ox, int[] p, int h, int w) {
            int count = 0;
            for (int i = 0; i < kernel[0]; i++) {
                int iy = oy * strides[0] - p[0] + i * dilations[0];
                boolean rowIn = iy >= 0 && iy < h;
                boolean rowPad = iy >= -p[0] && iy < h + p[2];
                for (int j = 0; j < kernel[1]; j++) {
                    int ix = ox * strides[1] - p[1] + j * dilations[1];
                    boolean in = rowIn && ix >= 0 && ix < w;
                    boolean pad = rowPad && ix >= -p[1] && ix < w + p[3];
                    if (countIncludePad ? pad : in) {
                        count++;
                    }
                }
            }
            return Math.max(count, 1);
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            QatTensor x = in[0];
            if (x.grad() == null) {
                return;
            }
            float[] g = out.grad();
            float[] dx = x.grad();
            int total = out.size();
            if (max) {
                for (int o = 0; o < total; o++) {
                    if (argmax[o] >= 0) {
                        dx[argmax[o]] += g[o];
                    }
                }
                return;
            }
            int h = win.h();
            int w = win.w();
            int oh = win.oh();
            int ow = win.ow();
            int planes = x.dim(0) * x.dim(1);
            for (int plane = 0; plane < planes; plane++) {
                int base = plane * h * w;
                int obase = plane * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        float share = g[obase + oy * ow + ox] / divisor[oy * ow + ox];
                        for (int i = 0; i < kernel[0]; i++) {
                            int iy = oy * strides[0] - win.pt() + i * dilations[0];
                            if (iy < 0 || iy >= h) {
                                continue;
                            }
                            for (int j = 0; j < kernel[1]; j++) {
                                int ix = ox * strides[1] - win.pl() + j * dilations[1];
                                if (ix >= 0 && ix < w) {
                                    dx[base + iy * w + ix] += share;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static final class GlobalAveragePool implements QatOp {
        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            QatTensor x = in[0];
            if (x.rank() < 3) {
                throw new IllegalArgumentException("GlobalAveragePool expects rank ≥ 3, got " + x);
            }
            int[] s = x.shapeRef();
            int planes = s[0] * s[1];
            int area = x.size() / Math.max(planes, 1);
            int[] os = new int[s.length];
            Arrays.fill(os, 1);
            os[0] = s[0];
            os[1] = s[1];
            out.reshape(os);
            float[] xd = x.data();
            float[] y = out.data();
            for (int p = 0; p < planes; p++) {
                float acc = 0f;
                for (int i = 0; i < area; i++) {
                    acc += xd[p * area + i];
                }
                y[p] = acc / area;
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            QatTensor x = in[0];
            if (x.grad() == null) {
                return;
            }
            int planes = out.size();
            int area = x.size() / Math.max(planes, 1);
            float[] g = out.grad();
            float[] dx = x.grad();
            for (int p = 0; p < planes; p++) {
                float share = g[p] / area;
                for (int i = 0; i < area; i++) {
                    dx[p * area + i] += share;
                }
            }
        }
    }

    // ---------------------------------------------------------------- dense ops

    /** For each element of {@code outShape}, the flat index of the element of {@code inShape} broadcast to it. */
    static int[] broadcastIndex(int[] outShape, int[] inShape) {
        int rank = outShape.length;
        int[] inStride = new int[rank];
        int stride = 1;
        for (int d = inShape.length - 1; d >= 0; d--) {
            int od = rank - inShape.length + d;
            inStride[od] = inShape[d] == 1 ? 0 : stride;
            stride *= inShape[d];
        }
        int total = QatTensor.count(outShape);
        int[] map = new int[total];
        int[] counter = new int[rank];
        int idx = 0;
        for (int i = 0; i < total; i++) {
            map[i] = idx;
            for (int d = rank - 1; d >= 0; d--) {
                counter[d]++;
                idx += inStride[d];
                if (counter[d] < outShape[d]) {
                    break;
                }
                idx -= inStride[d] * counter[d];
                counter[d] = 0;
            }
        }
        return map;
    }

    static int[] broadcastShape(int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int d = 0; d < rank; d++) {
            int ad = d - (rank - a.length) >= 0 ? a[d - (rank - a.length)] : 1;
            int bd = d - (rank - b.length) >= 0 ? b[d - (rank - b.length)] : 1;
            if (ad != bd && ad != 1 && bd != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                    + " do not broadcast");
            }
            out[d] = Math.max(ad, bd);
        }
        return out;
    }

    /** Caches the broadcast index maps of the last shapes seen. */
    static final class BroadcastCache {
        private int[] outShape;
        private int[] inShape;
        private int[] map;

        int[] map(int[] out, int[] in) {
            if (map == null || !Arrays.equals(out, outShape) || !Arrays.equals(in, inShape)) {
                outShape = out.clone();
                inShape = in.clone();
                map = broadcastIndex(out, in);
            }
            return map;
        }
    }

    static final class Gemm implements QatOp {
        private final float alpha;
        private final float beta;
        private final boolean transA;
        private final boolean transB;
        private final BroadcastCache cCache = new BroadcastCache();
        private float[] scratch = new float[0];
        private int m;
        private int n;
        private int k;

        Gemm(float alpha, float beta, boolean transA, boolean transB) {
            this.alpha = alpha;
            this.beta = beta;
            this.transA = transA;
            this.transB = transB;
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            QatTensor a = in[0];
            QatTensor b = in[1];
            requireRank(a, 2, "Gemm");
            requireRank(b, 2, "Gemm B");
            m = transA ? a.dim(1) : a.dim(0);
            k = transA ? a.dim(0) : a.dim(1);
            n = transB ? b.dim(0) : b.dim(1);
            int kb = transB ? b.dim(1) : b.dim(0);
            if (kb != k) {
                throw new IllegalArgumentException("Gemm: inner dimensions differ, " + a + " and " + b);
            }
            out.reshape(m, n);
            float[] y = out.data();
            int total = m * n;
            if (alpha == 1f) {
                fillC(in, out, y);
                QatKernels.gemm(transA, transB, m, n, k, a.data(), 0, b.data(), 0, y, 0);
            } else {
                ensureScratch(total);
                Arrays.fill(scratch, 0, total, 0f);
                QatKernels.gemm(transA, transB, m, n, k, a.data(), 0, b.data(), 0, scratch, 0);
                fillC(in, out, y);
                for (int i = 0; i < total; i++) {
                    y[i] += alpha * scratch[i];
                }
            }
        }

        private void fillC(QatTensor[] in, QatTensor out, float[] y) {
            int total = m * n;
            if (in.length > 2 && in[2] != null && beta != 0f) {
                float[] c = in[2].data();
                int[] map = cCache.map(out.shapeRef(), in[2].shapeRef());
                for (int i = 0; i < total; i++) {
                    y[i] = beta * c[map[i]];
                }
            } else {
                Arrays.fill(y, 0, total, 0f);
            }
        }

        private void ensureScratch(int size) {
            if (scratch.length < size) {
                scratch = new float[size];
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            QatTensor a = in[0];
            QatTensor b = in[1];
            float[] g = out.grad();
            int total = m * n;
            if (alpha != 1f) {
                ensureScratch(total);
                for (int i = 0; i < total; i++) {
                    scratch[i] = alpha * g[i];
                }
                g = scratch;
            }
            if (a.grad() != null) {
                if (!transA) {
                    QatKernels.gemm(false, !transB, m, k, n, g, 0, b.data(), 0, a.grad(), 0);
                } else {
                    QatKernels.gemm(transB, true, k, m, n, b.data(), 0, g, 0, a.grad(), 0);
                }
            }
            if (b.grad() != null) {
                if (!transB) {
                    QatKernels.gemm(!transA, false, k, n, m, a.data(), 0, g, 0, b.grad(), 0);
                } else {
                    QatKernels.gemm(true, transA, n, k, m, g, 0, a.data(), 0, b.grad(), 0);
                }
            }
            if (in.length > 2 && in[2] != null && in[2].grad() != null && beta != 0f) {
                float[] dc = in[2].grad();
                float[] g0 = out.grad();
                int[] map = cCache.map(out.shapeRef(), in[2].shapeRef());
                for (int i = 0; i < total; i++) {
                    dc[map[i]] += beta * g0[i];
                }
            }
        }
    }

    /** MatMul: {@code A[..., M, K] · B[K, N]}, or batched with equal leading dimensions. */
    static final class MatMul implements QatOp {
        private int batch;
        private int m;
        private int k;
        private int n;
        private boolean sharedB;

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            QatTensor a = in[0];
            QatTensor b = in[1];
            int[] as = a.shapeRef();
            int[] bs = b.shapeRef();
            if (as.length < 2 || bs.length < 2) {
                throw new IllegalArgumentException("MatMul: 1-D operands are not supported (" + a + ", " + b + ")");
            }
            k = as[as.length - 1];
            n = bs[bs.length - 1];
            if (bs[bs.length - 2] != k) {
                throw new IllegalArgumentException("MatMul: inner dimensions differ, " + a + " and " + b);
            }
            int[] os = as.clone();
            os[os.length - 1] = n;
            if (bs.length == 2) {
                sharedB = true;
                batch = 1;
                m = a.size() / k;
            } else {
                if (bs.length != as.length || !Arrays.equals(Arrays.copyOf(as, as.length - 2),
                    Arrays.copyOf(bs, bs.length - 2))) {
                    throw new IllegalArgumentException("MatMul: broadcasting batch dimensions is not supported (" + a
                        + ", " + b + ")");
                }
                sharedB = false;
                m = as[as.length - 2];
                batch = a.size() / (m * k);
            }
            out.reshape(os);
            float[] y = out.data();
            Arrays.fill(y, 0, out.size(), 0f);
            for (int t = 0; t < batch; t++) {
                QatKernels.matmulAB(m, n, k, a.data(), t * m * k, b.data(), sharedB ? 0 : t * k * n, y, t * m * n);
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            QatTensor a = in[0];
            QatTensor b = in[1];
            float[] g = out.grad();
            for (int t = 0; t < batch; t++) {
                if (a.grad() != null) {
                    QatKernels.matmulABt(m, k, n, g, t * m * n, b.data(), sharedB ? 0 : t * k * n, a.grad(), t * m * k);
                }
                if (b.grad() != null) {
                    QatKernels.matmulAtB(k, n, m, a.data(), t * m * k, g, t * m * n, b.grad(), sharedB ? 0 : t * k * n);
                }
            }
        }
    }

    enum BinaryKind { ADD, SUB, MUL, DIV }

    static final class Binary implements QatOp {
        private final BinaryKind kind;
        private final BroadcastCache aCache = new BroadcastCache();
        private final BroadcastCache bCache = new BroadcastCache();

        Binary(BinaryKind kind) {
            this.kind = kind;
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            int[] os = broadcastShape(in[0].shapeRef(), in[1].shapeRef());
            out.reshape(os);
            int[] ia = aCache.map(os, in[0].shapeRef());
            int[] ib = bCache.map(os, in[1].shapeRef());
            float[] a = in[0].data();
            float[] b = in[1].data();
            float[] y = out.data();
            int total = out.size();
            switch (kind) {
                case ADD -> {
                    for (int i = 0; i < total; i++) {
                        y[i] = a[ia[i]] + b[ib[i]];
                    }
                }
                case SUB -> {
                    for (int i = 0; i < total; i++) {
                        y[i] = a[ia[i]] - b[ib[i]];
                    }
                }
                case MUL -> {
                    for (int i = 0; i < total; i++) {
                        y[i] = a[ia[i]] * b[ib[i]];
                    }
                }
                case DIV -> {
                    for (int i = 0; i < total; i++) {
                        y[i] = a[ia[i]] / b[ib[i]];
                    }
                }
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            int[] os = out.shapeRef();
            int[] ia = aCache.map(os, in[0].shapeRef());
            int[] ib = bCache.map(os, in[1].shapeRef());
            float[] a = in[0].data();
            float[] b = in[1].data();
            float[] da = in[0].grad();
            float[] db = in[1].grad();
            float[] g = out.grad();
            int total = out.size();
            for (int i = 0; i < total; i++) {
                float gi = g[i];
                switch (kind) {
                    case ADD -> {
                        if (da != null) {
                            da[ia[i]] += gi;
                        }
                        if (db != null) {
                            db[ib[i]] += gi;
                        }
                    }
                    case SUB -> {
                        if (da != null) {
                            da[ia[i]] += gi;
                        }
                        if (db != null) {
                            db[ib[i]] -= gi;
                        }
                    }
                    case MUL -> {
                        if (da != null) {
                            da[ia[i]] += gi * b[ib[i]];
                        }
                        if (db != null) {
                            db[ib[i]] += gi * a[ia[i]];
                        }
                    }
                    case DIV -> {
                        float bv = b[ib[i]];
                        if (da != null) {
                            da[ia[i]] += gi / bv;
                        }
                        if (db != null) {
                            db[ib[i]] -= gi * a[ia[i]] / (bv * bv);
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- element-wise and shape ops

    enum UnaryKind { RELU, SIGMOID, IDENTITY }

    static final class Unary implements QatOp {
        private final UnaryKind kind;

        Unary(UnaryKind kind) {
            this.kind = kind;
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            out.reshape(in[0].shapeRef());
            float[] x = in[0].data();
            float[] y = out.data();
            int total = out.size();
            switch (kind) {
                case RELU -> {
                    for (int i = 0; i < total; i++) {
                        y[i] = x[i] > 0f ? x[i] : 0f;
                    }
                }
                case SIGMOID -> {
                    for (int i = 0; i < total; i++) {
                        y[i] = (float) (1.0 / (1.0 + StrictMath.exp(-x[i])));
                    }
                }
                case IDENTITY -> System.arraycopy(x, 0, y, 0, total);
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            float[] dx = in[0].grad();
            if (dx == null) {
                return;
            }
            float[] x = in[0].data();
            float[] y = out.data();
            float[] g = out.grad();
            int total = out.size();
            switch (kind) {
                case RELU -> {
                    for (int i = 0; i < total; i++) {
                        if (x[i] > 0f) {
                            dx[i] += g[i];
                        }
                    }
                }
                case SIGMOID -> {
                    for (int i = 0; i < total; i++) {
                        dx[i] += g[i] * y[i] * (1f - y[i]);
                    }
                }
                case IDENTITY -> {
                    for (int i = 0; i < total; i++) {
                        dx[i] += g[i];
                    }
                }
            }
        }
    }

    /** Clip to constant bounds (Relu6 is Clip(0, 6)). */
    static final class Clip implements QatOp {
        private final float lo;
        private final float hi;

        Clip(float lo, float hi) {
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            out.reshape(in[0].shapeRef());
            float[] x = in[0].data();
            float[] y = out.data();
            for (int i = 0; i < out.size(); i++) {
                y[i] = Math.min(hi, Math.max(lo, x[i]));
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            float[] dx = in[0].grad();
            if (dx == null) {
                return;
            }
            float[] x = in[0].data();
            float[] g = out.grad();
            for (int i = 0; i < out.size(); i++) {
                if (x[i] >= lo && x[i] <= hi) {
                    dx[i] += g[i];
                }
            }
        }
    }

    /** Flatten and Reshape: the values are copied unchanged under a new shape computed by {@code shapeOf}. */
    static final class Reshape implements QatOp {
        private final java.util.function.Function<int[], int[]> shapeOf;

        Reshape(java.util.function.Function<int[], int[]> shapeOf) {
            this.shapeOf = shapeOf;
        }

        static Reshape flatten(int axis) {
            return new Reshape(s -> {
                int ax = axis < 0 ? axis + s.length : axis;
                int outer = 1;
                for (int d = 0; d < ax; d++) {
                    outer *= s[d];
                }
                int inner = QatTensor.count(s) / Math.max(outer, 1);
                return new int[] {outer, inner};
            });
        }

        /** ONNX Reshape semantics: 0 copies the input dimension, -1 is inferred. */
        static Reshape to(long[] target) {
            return new Reshape(s -> {
                int[] out = new int[target.length];
                int known = 1;
                int infer = -1;
                for (int d = 0; d < target.length; d++) {
                    if (target[d] == 0) {
                        out[d] = s[d];
                    } else if (target[d] == -1) {
                        infer = d;
                        continue;
                    } else {
                        out[d] = (int) target[d];
                    }
                    known *= out[d];
                }
                int total = QatTensor.count(s);
                if (infer >= 0) {
                    out[infer] = total / known;
                }
                if (QatTensor.count(out) != total) {
                    throw new IllegalArgumentException("Reshape " + Arrays.toString(target) + " of "
                        + Arrays.toString(s));
                }
                return out;
            });
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            out.reshape(shapeOf.apply(in[0].shapeRef()));
            System.arraycopy(in[0].data(), 0, out.data(), 0, out.size());
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            float[] dx = in[0].grad();
            if (dx == null) {
                return;
            }
            float[] g = out.grad();
            for (int i = 0; i < out.size(); i++) {
                dx[i] += g[i];
            }
        }
    }

    /** Softmax or LogSoftmax over {@code D} with the tensor viewed as {@code [outer, D, inner]}. */
    static final class Softmax implements QatOp {
        private final boolean log;
        private final int axis;
        private final boolean coerce2d;
        private int outer;
        private int dim;
        private int inner;

        Softmax(boolean log, int axis, boolean coerce2d) {
            this.log = log;
            this.axis = axis;
            this.coerce2d = coerce2d;
        }

        private void view(int[] s) {
            int ax = axis < 0 ? axis + s.length : axis;
            outer = 1;
            for (int d = 0; d < ax; d++) {
                outer *= s[d];
            }
            if (coerce2d) {
                dim = QatTensor.count(s) / Math.max(outer, 1);
                inner = 1;
            } else {
                dim = s[ax];
                inner = QatTensor.count(s) / Math.max(outer * dim, 1);
            }
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            view(in[0].shapeRef());
            out.reshape(in[0].shapeRef());
            float[] x = in[0].data();
            float[] y = out.data();
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    int base = o * dim * inner + i;
                    float mx = Float.NEGATIVE_INFINITY;
                    for (int d = 0; d < dim; d++) {
                        mx = Math.max(mx, x[base + d * inner]);
                    }
                    double sum = 0;
                    for (int d = 0; d < dim; d++) {
                        sum += StrictMath.exp(x[base + d * inner] - mx);
                    }
                    float logSum = (float) StrictMath.log(sum);
                    for (int d = 0; d < dim; d++) {
                        float z = x[base + d * inner] - mx - logSum;
                        y[base + d * inner] = log ? z : (float) StrictMath.exp(z);
                    }
                }
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            float[] dx = in[0].grad();
            if (dx == null) {
                return;
            }
            float[] y = out.data();
            float[] g = out.grad();
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    int base = o * dim * inner + i;
                    double s = 0;
                    for (int d = 0; d < dim; d++) {
                        int idx = base + d * inner;
                        s += log ? g[idx] : g[idx] * y[idx];
                    }
                    for (int d = 0; d < dim; d++) {
                        int idx = base + d * inner;
                        dx[idx] += log ? (float) (g[idx] - StrictMath.exp(y[idx]) * s) : (float) (y[idx] * (g[idx] - s));
                    }
                }
            }
        }
    }

    /** BatchNormalization in inference form (frozen statistics), over axis 1. */
    static final class BatchNorm implements QatOp {
        private final float epsilon;

        BatchNorm(float epsilon) {
            this.epsilon = epsilon;
        }

        @Override
        public void forward(QatTensor[] in, QatTensor out) {
            QatTensor x = in[0];
            out.reshape(x.shapeRef());
            int n = x.dim(0);
            int c = x.dim(1);
            int inner = x.size() / (n * c);
            float[] xd = x.data();
            float[] y = out.data();
            float[] gamma = in[1].data();
            float[] beta = in[2].data();
            float[] mean = in[3].data();
            float[] var = in[4].data();
            for (int ni = 0; ni < n; ni++) {
                for (int ci = 0; ci < c; ci++) {
                    float inv = (float) (1.0 / Math.sqrt(var[ci] + epsilon));
                    int off = (ni * c + ci) * inner;
                    for (int i = 0; i < inner; i++) {
                        y[off + i] = gamma[ci] * (xd[off + i] - mean[ci]) * inv + beta[ci];
                    }
                }
            }
        }

        @Override
        public void backward(QatTensor[] in, QatTensor out) {
            QatTensor x = in[0];
            int n = x.dim(0);
            int c = x.dim(1);
            int inner = x.size() / (n * c);
            float[] xd = x.data();
            float[] g = out.grad();
            float[] gamma = in[1].data();
            float[] mean = in[3].data();
            float[] var = in[4].data();
            for (int ni = 0; ni < n; ni++) {
                for (int ci = 0; ci < c; ci++) {
                    float inv = (float) (1.0 / Math.sqrt(var[ci] + epsilon));
                    int off = (ni * c + ci) * inner;
                    float sg = 0f;
                    float sgx = 0f;
                    for (int i = 0; i < inner; i++) {
                        float gi = g[off + i];
                        if (x.grad() != null) {
                            x.grad()[off + i] += gi * gamma[ci] * inv;
                        }
                        sg += gi;
                        sgx += gi * (xd[off + i] - mean[ci]) * inv;
                    }
                    if (in[1].grad() != null) {
                        in[1].grad()[ci] += sgx;
                    }
                    if (in[2].grad() != null) {
                        in[2].grad()[ci] += sg;
                    }
                }
            }
        }
    }
}
