package dev.quantflow.profiler.service;

import java.util.Arrays;

/**
 * Summary of timed runs. Percentiles use the nearest-rank definition: with the {@code n} durations sorted
 * ascending as {@code x[1..n]}, the p-th percentile is {@code x[ceil(p/100 · n)]} (and {@code x[1]} for p = 0), a
 * value that was actually measured, so p99 of fewer than 100 runs is the maximum.
 *
 * @param runs number of timed runs
 */
public record LatencyStats(int runs, double p50Ms, double p95Ms, double p99Ms, double meanMs, double minMs, double maxMs) {

    /** Summarizes durations in milliseconds (not modified). */
    public static LatencyStats of(double[] millis) {
        if (millis.length == 0) {
            throw new IllegalArgumentException("no timed runs");
        }
        double[] sorted = millis.clone();
        Arrays.sort(sorted);
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        return new LatencyStats(sorted.length, percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99),
            sum / sorted.length, sorted[0], sorted[sorted.length - 1]);
    }

    /** Nearest-rank percentile of ascending {@code sorted}. */
    public static double percentile(double[] sorted, double p) {
        if (p < 0 || p > 100) {
            throw new IllegalArgumentException("percentile " + p + " outside [0, 100]");
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(rank, 1) - 1];
    }
}
