package dev.quantflow.runtime.diagnostics;

import java.nio.FloatBuffer;

/**
 * Running sums for a signal-to-quantization-noise ratio over many batches: {@code Σ x²} and {@code Σ (x − x̂)²}, in
 * double. Not thread-safe.
 */
final class SqnrAccumulator {

    private double signal;
    private double noise;
    private long count;

    void add(float[] reference, float[] approx) {
        add(FloatBuffer.wrap(reference), FloatBuffer.wrap(approx));
    }

    /** Adds the remaining elements of both buffers (positions are not moved). */
    void add(FloatBuffer reference, FloatBuffer approx) {
        int n = reference.remaining();
        if (approx.remaining() != n) {
            throw new IllegalArgumentException("reference has " + n + " values, approximation " + approx.remaining());
        }
        int r0 = reference.position();
        int a0 = approx.position();
        double s = 0;
        double e = 0;
        for (int i = 0; i < n; i++) {
            double x = reference.get(r0 + i);
            double d = x - approx.get(a0 + i);
            s += x * x;
            e += d * d;
        }
        signal += s;
        noise += e;
        count += n;
    }

    /** Adds another accumulator's sums (pooling several tensors into one figure). */
    void add(SqnrAccumulator other) {
        signal += other.signal;
        noise += other.noise;
        count += other.count;
    }

    long count() {
        return count;
    }

    double sqnrDb() {
        return LayerDiagnostics.sqnrDb(signal, noise);
    }
}
