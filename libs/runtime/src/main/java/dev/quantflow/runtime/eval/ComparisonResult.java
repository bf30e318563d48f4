package dev.quantflow.runtime.eval;

/**
 * How close a candidate model's outputs are to a reference model's over a data set; field names are those of the
 * JSON report. Definitions in {@link OutputComparison}.
 *
 * @param samples samples compared
 * @param outputName the output compared
 * @param pooling how each sample's output became the compared vector
 * @param vectorLength values per compared vector
 * @param meanCosine mean over samples of the cosine similarity; NaN if any sample's output is not finite
 * @param minCosine smallest per-sample cosine; NaN if any sample's output is not finite
 * @param minCosineSample index of the sample with the smallest cosine (-1 when NaN)
 * @param mse mean squared difference over all compared values
 * @param maxAbsDiff largest absolute difference of one value
 * @param top1Agreement share of samples whose argmax agrees; null unless the output is one score vector per sample
 *                      ([N,C]) compared without pooling
 * @param nonFiniteSamples samples where either model produced NaN or ±Inf
 * @param cosines cosine per sample, in data order
 * @param mapThreshold the value at which both outputs were binarized for the IoU
 * @param meanIou mean over samples of the IoU of the binarized outputs; NaN if any sample's output is not finite;
 *                null with pooling
 * @param minIou smallest per-sample IoU (NaN / null as {@code meanIou})
 * @param positionAgreement share of positions whose argmax over the class axis ({@link OutputLayout}) agrees; null
 *                          unless the output has rank 3 or more and is compared without pooling
 * @param positionsPerSample positions per sample behind {@code positionAgreement} (0 when it is null)
 * @param referenceMin smallest finite value of the reference output (NaN when it has none)
 * @param referenceMax largest finite value of the reference output (NaN when it has none)
 */
public record ComparisonResult(int samples, String outputName, ComparisonOptions.Pooling pooling, int vectorLength,
                               double meanCosine, double minCosine, int minCosineSample, double mse, double maxAbsDiff,
                               Double top1Agreement, int nonFiniteSamples, double[] cosines, double mapThreshold,
                               Double meanIou, Double minIou, Double positionAgreement, long positionsPerSample,
                               double referenceMin, double referenceMax) {
}
