package dev.quantflow.quant.calib;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The calibration artifact: per-tensor activation ranges, keyed by tensor name. Serialized as JSON with sorted
 * keys, so the same ranges always give the same bytes (calibration is deterministic end to end).
 *
 * <p>Two optional parts, each omitted from the JSON when empty (so an artifact without them has exactly the bytes it
 * had before they existed, and such JSON still parses):
 * <ul>
 *   <li>{@code channelRanges}: tensor → per-channel ranges along axis 1 (index = channel);
 *   <li>{@code outliers}: tensor → {@link OutlierSummary} ({@code absMax}, {@code absP9999}).
 * </ul>
 */
public final class ActivationStatistics {

    private static final ObjectMapper JSON = new ObjectMapper()
        .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
        .enable(SerializationFeature.INDENT_OUTPUT);

    private final String calibrator;
    private final int samples;
    private final Map<String, TensorRange> ranges;
    private final Map<String, List<TensorRange>> channelRanges;
    private final Map<String, OutlierSummary> outliers;

    public ActivationStatistics(String calibrator, int samples, Map<String, TensorRange> ranges) {
        this(calibrator, samples, ranges, Map.of(), Map.of());
    }

    /**
     * @param channelRanges per-channel ranges (axis 1) of some tensors; may be empty
     * @param outliers outlier summaries of some tensors; may be empty
     */
    public ActivationStatistics(String calibrator, int samples, Map<String, TensorRange> ranges,
                                Map<String, List<TensorRange>> channelRanges, Map<String, OutlierSummary> outliers) {
        this.calibrator = calibrator;
        this.samples = samples;
        this.ranges = Collections.unmodifiableMap(new TreeMap<>(ranges));
        TreeMap<String, List<TensorRange>> channels = new TreeMap<>();
        channelRanges.forEach((k, v) -> channels.put(k, List.copyOf(v)));
        this.channelRanges = Collections.unmodifiableMap(channels);
        this.outliers = Collections.unmodifiableMap(new TreeMap<>(outliers));
    }

    public String calibrator() {
        return calibrator;
    }

    public int samples() {
        return samples;
    }

    public Map<String, TensorRange> ranges() {
        return ranges;
    }

    public Optional<TensorRange> range(String tensor) {
        return Optional.ofNullable(ranges.get(tensor));
    }

    /** Per-channel ranges along axis 1, sorted by tensor; empty unless asked for. */
    public Map<String, List<TensorRange>> channelRanges() {
        return channelRanges;
    }

    /** Per-channel ranges of {@code tensor} (index = channel), if recorded. */
    public Optional<List<TensorRange>> channelRanges(String tensor) {
        return Optional.ofNullable(channelRanges.get(tensor));
    }

    /** Outlier summaries, sorted by tensor; empty unless asked for. */
    public Map<String, OutlierSummary> outliers() {
        return outliers;
    }

    public Optional<OutlierSummary> outliers(String tensor) {
        return Optional.ofNullable(outliers.get(tensor));
    }

    private record Json(String calibrator, int samples, TreeMap<String, TensorRange> ranges,
                        @JsonInclude(JsonInclude.Include.NON_EMPTY) TreeMap<String, List<TensorRange>> channelRanges,
                        @JsonInclude(JsonInclude.Include.NON_EMPTY) TreeMap<String, OutlierSummary> outliers) {
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(new Json(calibrator, samples, new TreeMap<>(ranges),
                new TreeMap<>(channelRanges), new TreeMap<>(outliers)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ActivationStatistics fromJson(byte[] json) {
        try {
            Json j = JSON.readValue(json, Json.class);
            return new ActivationStatistics(j.calibrator(), j.samples(), j.ranges(),
                j.channelRanges() == null ? Map.of() : j.channelRanges(), j.outliers() == null ? Map.of() : j.outliers());
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable statistics artifact", e);
        }
    }
}
