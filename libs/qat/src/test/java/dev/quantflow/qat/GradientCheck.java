package dev.quantflow.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;

/**
 * Numerical gradient check of one {@link QatOp}: the scalar {@code L = Σ r_i · y_i} with fixed random weights
 * {@code r} has {@code ∂L/∂y = r}; each input element's analytic gradient (backward with output gradient r) is compared
 * with the central difference {@code (L(x + h) − L(x − h)) / 2h} (forward in float, L summed in double).
 * Tolerance: {@code |num − ana| ≤ ATOL + RTOL · max(|num|, |ana|)} with h = 1e-2, ATOL = 2e-3, RTOL = 1e-2 — float
 * rounding of L is ~1e-7·Σ|r·y| ≈ 1e-5, divided by 2h gives ~1e-3 at worst, and the inputs are built so that no
 * element lies within h of a kink (Relu/Clip at their bounds, ties in a max window).
 */
final class GradientCheck {

    static final float H = 1e-2f;
    static final double ATOL = 2e-3;
    static final double RTOL = 1e-2;

    private GradientCheck() {
    }

    /** A tensor of distinct values spread over ±scale, each at least 3h from 0 (offset by a quarter step) and from each other. */
    static QatTensor distinct(String name, SplittableRandom random, double scale, int... shape) {
        int n = QatTensor.count(shape);
        float[] v = new float[n];
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        double step = Math.max(12 * H, 2 * scale / Math.max(n, 1));
        for (int i = 0; i < n; i++) {
            double x = (perm[i] - n / 2.0 + 0.25) * step;
            v[i] = (float) x;
        }
        return new QatTensor(name, shape, v, false, true);
    }

    static QatTensor random(String name, SplittableRandom random, double scale, int... shape) {
        int n = QatTensor.count(shape);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        return new QatTensor(name, shape, v, false, true);
    }

    /** Checks every input that has a gradient buffer; returns the largest absolute error seen. */
    static double check(QatOp op, QatTensor... inputs) {
        QatTensor out = new QatTensor("y", new int[] {0}, null, false, true);
        op.forward(inputs, out);
        SplittableRandom random = new SplittableRandom(7);
        double[] r = new double[out.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = random.nextDouble() * 2 - 1;
        }
        for (QatTensor t : inputs) {
            if (t != null) {
                t.zeroGrad();
            }
        }
        for (int i = 0; i < r.length; i++) {
            out.grad()[i] = (float) r[i];
        }
        op.backward(inputs, out);
        double worst = 0;
        for (QatTensor t : inputs) {
            if (t == null || t.grad() == null) {
                continue;
            }
            float[] analytic = t.grad().clone();
            for (int i = 0; i < t.size(); i++) {
                float keep = t.data()[i];
                t.data()[i] = keep + H;
                double plus = loss(op, inputs, r);
                t.data()[i] = keep - H;
                double minus = loss(op, inputs, r);
                t.data()[i] = keep;
                double numeric = (plus - minus) / (2 * H);
                double err = Math.abs(numeric - analytic[i]);
                worst = Math.max(worst, err);
                assertThat(err)
                    .as("%s[%d]: numeric %s vs analytic %s", t.name(), i, numeric, analytic[i])
                    .isLessThanOrEqualTo(ATOL + RTOL * Math.max(Math.abs(numeric), Math.abs(analytic[i])));
            }
        }
        return worst;
    }

    private static double loss(QatOp op, QatTensor[] inputs, double[] r) {
        QatTensor out = new QatTensor("y", new int[] {0}, null, false, false);
        op.forward(inputs, out);
        double l = 0;
        for (int i = 0; i < out.size(); i++) {
            l += r[i] * out.data()[i];
        }
        return l;
    }
}
