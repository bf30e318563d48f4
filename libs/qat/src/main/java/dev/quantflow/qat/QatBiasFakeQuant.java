package dev.quantflow.qat;

/**
 * Fake quantization of a Conv / Gemm bias to the INT32 grid an integer kernel adds it on:
 * <pre>
 *   s_b[c] = s_x · s_w[c]        (input activation scale times the weight scale of output channel c)
 *   y[c]   = roundHalfToEven(b[c] / s_b[c]) · s_b[c]
 * </pre>
 * computed in single precision exactly as {@link QatQdqExporter} writes the int32 codes, so the Java model and the
 * exported one add the same bias. Backward: straight-through for the bias; the scales get no gradient through this
 * path (with 32-bit codes the rounding is far below the other quantization errors).
 * Inputs: bias {@code [C]}, input scale {@code [1]}, weight scales {@code [1]} or {@code [C]}.
 */
final class QatBiasFakeQuant implements QatOp {

    private boolean enabled = true;

    void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    static float biasScale(float inputScale, float[] weightScales, int channel) {
        return inputScale * weightScales[weightScales.length == 1 ? 0 : channel];
    }

    @Override
    public void forward(QatTensor[] in, QatTensor out) {
        QatTensor b = in[0];
        out.reshape(b.shapeRef());
        float sx = in[1].data()[0];
        float[] sw = in[2].data();
        int nw = in[2].size();
        float[] y = out.data();
        for (int c = 0; c < b.size(); c++) {
            if (!enabled) {
                y[c] = b.data()[c];
                continue;
            }
            float s = sx * sw[nw == 1 ? 0 : c];
            y[c] = (float) Math.rint(b.data()[c] / s) * s;
        }
    }

    @Override
    public void backward(QatTensor[] in, QatTensor out) {
        float[] db = in[0].grad();
        if (db == null) {
            return;
        }
        float[] g = out.grad();
        for (int c = 0; c < out.size(); c++) {
            db[c] += g[c];
        }
    }
}
