package dev.quantflow.runtime.llm;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.quantflow.quant.llm.LayerInputStats;

/**
 * What {@link LlmCalibration} collected.
 *
 * @param stats one entry per {@link CapturePoint}, keyed by tensor name, in graph order
 * @param points the capture points, in graph order
 * @param windows calibration windows run
 * @param tokens tokens seen (windows × sequence length): the rows each tensor accumulated
 * @param seconds wall time of the whole pass (session creation included)
 * @param runSeconds of which ONNX Runtime runs and copying the tensors out
 * @param accumulateSeconds of which {@link LayerInputStats#accumulate} (dominated by the XᵀX update, O(rows·k²/2))
 */
public record LlmCalibrationResult(Map<String, LayerInputStats> stats, List<CapturePoint> points, int windows,
                                   long tokens, double seconds, double runSeconds, double accumulateSeconds) {

    public LlmCalibrationResult {
        stats = Collections.unmodifiableMap(new LinkedHashMap<>(stats));
        points = List.copyOf(points);
    }

    /** The statistics with their weight names, ready to be written. */
    public LlmCalibrationArtifact artifact() {
        Map<String, List<String>> weights = new LinkedHashMap<>();
        points.forEach(p -> weights.put(p.tensor(), p.weights()));
        return new LlmCalibrationArtifact(stats, weights);
    }

    /** One line per tensor: name, k, consumers; then the totals. */
    public String summary() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%d windows, %d tokens, %d tensors, %.2f s (ORT %.2f s, accumulate %.2f s)%n",
            windows, tokens, points.size(), seconds, runSeconds, accumulateSeconds));
        for (CapturePoint p : points) {
            b.append(String.format("  %s  k=%d  -> %s%n", p.tensor(), p.k(), p.weights()));
        }
        return b.toString();
    }
}
