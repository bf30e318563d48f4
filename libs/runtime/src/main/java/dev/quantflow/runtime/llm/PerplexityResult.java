package dev.quantflow.runtime.llm;

/**
 * @param perplexity {@code exp(meanNll)}
 * @param meanNll mean negative log-likelihood per predicted token, in nats
 * @param tokens predicted tokens ({@code windows × context})
 * @param windows windows evaluated
 * @param context tokens per window
 * @param seconds wall time (session creation included)
 */
public record PerplexityResult(double perplexity, double meanNll, long tokens, int windows, int context, double seconds) {
}
