package dev.quantflow.runtime.llm;

/**
 * @param promptTokens prompt length
 * @param generated the greedily generated token ids, in order
 * @param tokensPerSecond {@code generated.length / Σ step time}
 * @param p50Ms median time of one decode step (nearest rank)
 * @param p95Ms 95th percentile of one decode step (nearest rank)
 * @param meanMs mean time of one decode step
 * @param prefillTokens tokens in the prefill window (the context length)
 * @param prefillTokensPerSecond {@code prefillTokens / median prefill run time}
 * @param prefillP50Ms median prefill run time
 * @param intraOpThreads ONNX Runtime threads used
 */
public record DecodeSpeedResult(int promptTokens, long[] generated, double tokensPerSecond, double p50Ms, double p95Ms,
                                double meanMs, int prefillTokens, double prefillTokensPerSecond, double prefillP50Ms,
                                int intraOpThreads) {

    public DecodeSpeedResult {
        generated = generated.clone();
    }

    @Override
    public long[] generated() {
        return generated.clone();
    }
}
