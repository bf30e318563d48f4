package dev.quantflow.quant.llm;

/**
 * The layer reconstruction error GPTQ minimises, relative to the layer's output energy:
 * <pre>
 *   relative(W, Q; H) = tr((W − Q)ᵀ H (W − Q)) / tr(Wᵀ H W)
 * </pre>
 * with {@code W, Q = [K, N]} (ONNX layout) and {@code H} the (undamped) Hessian {@code 2/n · XᵀX}: the squared
 * output error {@code ‖X W − X Q‖²} over the calibration rows, divided by {@code ‖X W‖²} (the scale of H cancels).
 * Without a Hessian ({@code H = I}) it is the relative Frobenius error {@code ‖W − Q‖² / ‖W‖²}.
 * 0 when {@code tr(Wᵀ H W) = 0} and {@code Q = W}, infinite when only the denominator is 0.
 */
public final class ReconstructionError {

    private ReconstructionError() {
    }

    /** {@code relative(W, Q; H)}; {@code h} null means {@code H = I}. */
    public static double relative(float[] w, float[] q, int k, int n, double[] h) {
        double[] tw = new double[n];
        double[] td = new double[n];
        double num = 0;
        double den = 0;
        if (h == null) {
            for (int i = 0; i < k * n; i++) {
                double d = (double) w[i] - q[i];
                num += d * d;
                den += (double) w[i] * w[i];
            }
        } else {
            for (int i = 0; i < k; i++) {
                java.util.Arrays.fill(tw, 0.0);
                java.util.Arrays.fill(td, 0.0);
                int hr = i * k;
                for (int j = 0; j < k; j++) {
                    double f = h[hr + j];
                    if (f == 0.0) {
                        continue;
                    }
                    int rj = j * n;
                    for (int c = 0; c < n; c++) {
                        tw[c] += f * w[rj + c];
                        td[c] += f * ((double) w[rj + c] - q[rj + c]);
                    }
                }
                int ri = i * n;
                for (int c = 0; c < n; c++) {
                    num += td[c] * ((double) w[ri + c] - q[ri + c]);
                    den += tw[c] * w[ri + c];
                }
            }
        }
        if (den == 0.0) {
            return num == 0.0 ? 0.0 : Double.POSITIVE_INFINITY;
        }
        return num / den;
    }
}
