package dev.quantflow.runtime.prepare;

/**
 * The numerical check of a prepared model against its original in ONNX Runtime.
 *
 * @param samples        inputs compared
 * @param fromData       how many of them were rows of the given data (the rest synthesized)
 * @param maxAbsDiff     largest {@code |prepared − original|} over every output element
 * @param maxScaledDiff  largest {@code |prepared − original| / max(1, |original|)}: what the tolerance bounds
 * @param worstOutput    the output where {@code maxScaledDiff} was found
 * @param tolerance      the bound on {@code maxScaledDiff}
 */
public record PreparationCheck(int samples, int fromData, double maxAbsDiff, double maxScaledDiff,
                               String worstOutput, double tolerance) {

    public boolean passed() {
        return maxScaledDiff <= tolerance;
    }

    public String summary() {
        return String.format(java.util.Locale.ROOT,
            "%d inputs (%d from data): max |diff| %.3g, max |diff|/max(1,|ref|) %.3g (output '%s'), tolerance %.1g",
            samples, fromData, maxAbsDiff, maxScaledDiff, worstOutput, tolerance);
    }
}
