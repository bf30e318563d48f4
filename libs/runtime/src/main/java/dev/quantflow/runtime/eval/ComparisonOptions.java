package dev.quantflow.runtime.eval;

import java.util.function.Consumer;

/**
 * How two models' outputs are compared by {@link OutputComparison}.
 *
 * @param intraOpThreads ONNX Runtime threads inside one operator, for both sessions (default 1)
 * @param batchSize samples per run (default 32); outputs are compared batch by batch and not kept
 * @param outputName output to compare; null = the first output of the reference model
 * @param pooling how a sample's output becomes the vector that is compared
 * @param maxSamples compare at most this many samples (the first ones); 0 = all
 * @param mapThreshold the IoU of maps binarizes both outputs at this value: foreground is {@code value > mapThreshold}
 *                     (default {@value #DEFAULT_MAP_THRESHOLD}, PaddleOCR's detection threshold)
 */
public record ComparisonOptions(int intraOpThreads, int batchSize, String outputName, Pooling pooling, int maxSamples,
                                double mapThreshold) {

    /** PaddleOCR's DB post-processing binarizes the detector's probability map at 0.3 ({@code det_db_thresh}). */
    public static final double DEFAULT_MAP_THRESHOLD = 0.3;

    /** How a sample's output becomes the compared vector. */
    public enum Pooling {
        /** The whole output of the sample, flattened (logits [N,C] → C values; [N,T,D] → T·D values). */
        NONE,
        /**
         * Mean over tokens weighted by {@code attention_mask}: output [N,T,D] → {@code v_d = Σ_t m_t h_td / max(Σ_t
         * m_t, 1e-9)} (every {@code m_t = 1} when the data has no {@code attention_mask}).
         */
        MEAN,
        /** {@link #MEAN}, then divided by {@code max(‖v‖₂, 1e-12)}: the sentence-transformers embedding. */
        MEAN_L2
    }

    public ComparisonOptions {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, was " + intraOpThreads);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize);
        }
        if (maxSamples < 0) {
            throw new IllegalArgumentException("maxSamples must be >= 0, was " + maxSamples);
        }
        if (pooling == null) {
            throw new IllegalArgumentException("pooling must be set");
        }
        if (!Double.isFinite(mapThreshold)) {
            throw new IllegalArgumentException("mapThreshold must be a finite number, was " + mapThreshold);
        }
    }

    public static ComparisonOptions defaults() {
        return new ComparisonOptions(1, 32, null, Pooling.NONE, 0, DEFAULT_MAP_THRESHOLD);
    }

    public ComparisonOptions withIntraOpThreads(int n) {
        return copy(c -> c.intraOpThreads = n);
    }

    public ComparisonOptions withBatchSize(int n) {
        return copy(c -> c.batchSize = n);
    }

    public ComparisonOptions withOutputName(String name) {
        return copy(c -> c.outputName = name);
    }

    public ComparisonOptions withPooling(Pooling p) {
        return copy(c -> c.pooling = p);
    }

    public ComparisonOptions withMaxSamples(int n) {
        return copy(c -> c.maxSamples = n);
    }

    public ComparisonOptions withMapThreshold(double t) {
        return copy(c -> c.mapThreshold = t);
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private ComparisonOptions copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private int intraOpThreads;
        private int batchSize;
        private String outputName;
        private Pooling pooling;
        private int maxSamples;
        private double mapThreshold;

        private Copy(ComparisonOptions from) {
            intraOpThreads = from.intraOpThreads;
            batchSize = from.batchSize;
            outputName = from.outputName;
            pooling = from.pooling;
            maxSamples = from.maxSamples;
            mapThreshold = from.mapThreshold;
        }

        private ComparisonOptions build() {
            return new ComparisonOptions(intraOpThreads, batchSize, outputName, pooling, maxSamples, mapThreshold);
        }
    }
}
