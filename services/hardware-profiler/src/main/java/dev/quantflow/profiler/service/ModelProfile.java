package dev.quantflow.profiler.service;

import java.util.List;
import java.util.Map;

/**
 * One model measured on one host; serializes to JSON with Jackson (the {@code Optional} in {@link HardwareFeatures}
 * needs the JDK 8 module, which {@link ProfileJson} registers).
 *
 * @param hardwareClass       the profiler pool's class (e.g. {@code x86-avx2})
 * @param hardware            the host's features
 * @param formats             what runs natively there
 * @param options             the options used
 * @param inputShapes         every input's concrete shape at the latency batch
 * @param text                whether the model was profiled as text (an integer input)
 * @param latencyBatchSize    batch of {@code latency} (the requested one, capped by a fixed batch dimension)
 * @param latency             per-run latency at {@code latencyBatchSize}
 * @param throughputBatchSize batch of {@code throughputLatency}
 * @param throughputLatency   per-run latency at {@code throughputBatchSize}
 * @param throughputSamplesPerSecond samples of all throughput runs divided by their summed run time
 * @param peakMemoryMb        resident memory a fresh process adds for the model (session + one latency batch run);
 *                            {@code null} when not measured
 * @param memoryNote          how memory was measured, or why not
 * @param energy              energy of the throughput runs, or why it is unavailable
 */
public record ModelProfile(String hardwareClass, HardwareFeatures hardware, List<NativeFormats.Verdict> formats,
                           ProfileOptions options, Map<String, long[]> inputShapes, boolean text, int latencyBatchSize,
                           LatencyStats latency, int throughputBatchSize, LatencyStats throughputLatency,
                           double throughputSamplesPerSecond, Double peakMemoryMb, String memoryNote, Energy energy) {

    /**
     * @param available          whether RAPL could be read
     * @param joulesPerInference package energy of the throughput runs divided by their samples; null when unavailable
     * @param unavailableReason  why not, when unavailable
     */
    public record Energy(boolean available, Double joulesPerInference, String unavailableReason) {
    }
}
