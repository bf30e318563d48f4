package dev.quantflow.runtime.prepare;

import java.util.Map;

/**
 * How {@link ModelPreparer} checks a prepared model.
 *
 * @param samples      inputs compared (rows of the given data first, then synthesized ones); 32 by default
 * @param seed         seed of the synthesized inputs (uniform in [-1, 1], the range of normalised images)
 * @param tolerance    an element passes when {@code |prepared − original| ≤ tolerance · max(1, |original|)}:
 *                     absolute for values up to 1 in magnitude, relative beyond (float32 carries ~7 digits, so a
 *                     logit of 300 cannot agree to 1e-4 absolute after a change of summation order)
 * @param inputShapes  shapes (batch of 1 included) of synthesized inputs whose declared shape has dynamic dimensions
 *                     other than the first; e.g. {@code x → [1, 3, 320, 320]} for a detector
 * @param threads      intra-op threads of the ONNX Runtime sessions
 */
public record PreparationOptions(int samples, long seed, double tolerance, Map<String, long[]> inputShapes,
                                 int threads) {

    public static final int DEFAULT_SAMPLES = 32;
    public static final double DEFAULT_TOLERANCE = 1e-4;

    public PreparationOptions {
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be >= 1, was " + samples);
        }
        if (!(tolerance > 0)) {
            throw new IllegalArgumentException("tolerance must be > 0, was " + tolerance);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, was " + threads);
        }
        inputShapes = Map.copyOf(inputShapes);
    }

    public static PreparationOptions defaults() {
        return new PreparationOptions(DEFAULT_SAMPLES, 13L, DEFAULT_TOLERANCE, Map.of(), 1);
    }

    public PreparationOptions withInputShape(String input, long... shape) {
        java.util.Map<String, long[]> shapes = new java.util.HashMap<>(inputShapes);
        shapes.put(input, shape.clone());
        return new PreparationOptions(samples, seed, tolerance, shapes, threads);
    }

    public PreparationOptions withSamples(int count) {
        return new PreparationOptions(count, seed, tolerance, inputShapes, threads);
    }
}
