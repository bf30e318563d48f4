package dev.quantflow.runtime.eval;

/**
 * What the axes of a model output mean, read from its shape alone (the first axis always counts samples): where the
 * class axis is for per-position agreement, and whether the output is a one-channel map.
 *
 * <p>Class axis, by rank:
 * <ul>
 *   <li>[N, C] → axis 1: one score vector per sample (a classifier); one position.</li>
 *   <li>[N, T, C] → axis 2, the last: sequence heads (CTC text recognizers such as CRNN / PaddleOCR rec, token
 *       classifiers) end in a MatMul or Gemm over the features followed by a Softmax over the last axis, so every
 *       time step carries its own class scores at the end.</li>
 *   <li>[N, C, H, W] and higher ranks → axis 1: ONNX convolutions are channels-first (NCHW), so a segmentation head's
 *       last Conv writes one channel per class, and every spatial position has a score vector along axis 1.</li>
 * </ul>
 * Ranks 0 and 1 have no class axis.
 */
public final class OutputLayout {

    private OutputLayout() {
    }

    /** The class axis of an output of this shape (see the class comment); -1 when it has none (rank below 2). */
    public static int classAxis(long[] shape) {
        return switch (shape.length) {
            case 0, 1 -> -1;
            case 2 -> 1;
            case 3 -> 2;
            default -> 1;
        };
    }

    /**
     * Positions per sample that each carry one class-score vector: the product of the axes other than the sample and
     * the class axis (1 for [N, C]; T for [N, T, C]; H·W for [N, C, H, W]); 0 when there is no class axis.
     */
    public static long positionsPerSample(long[] shape) {
        int axis = classAxis(shape);
        if (axis < 0) {
            return 0;
        }
        long positions = 1;
        for (int d = 1; d < shape.length; d++) {
            if (d != axis) {
                positions = Math.multiplyExact(positions, shape[d]);
            }
        }
        return positions;
    }

    /**
     * Whether the output is a one-channel spatial map [N, 1, H, W] (or higher rank with one channel): a detector's or
     * a binary segmenter's per-pixel score. The spatial sizes may be dynamic (-1).
     */
    public static boolean isSingleChannelMap(long[] shape) {
        return shape.length >= 4 && shape[1] == 1;
    }

    /** Whether the output has one class-score vector per position of a sequence or an image (rank 3 or higher). */
    public static boolean isPerPosition(long[] shape) {
        return shape.length >= 3;
    }
}
