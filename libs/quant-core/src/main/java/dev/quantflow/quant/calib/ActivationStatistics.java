package dev.quantflow.quant.calib;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The calibration artifact: per-tensor activation ranges, keyed by tensor name. Serialized as JSON with sorted
 * keys, so the same ranges always give the same bytes (calibration is deterministic end to end).
 */
public final class ActivationStatistics {

    private static final ObjectMapper JSON = new ObjectMapper()
        .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
        .enable(SerializationFeature.INDENT_OUTPUT);

    private final String calibrator;
    private final int samples;
    private final Map<String, TensorRange> ranges;

    public ActivationStatistics(String calibrator, int samples, Map<String, TensorRange> ranges) {
        this.calibrator = calibrator;
        this.samples = samples;
        this.ranges = Collections.unmodifiableMap(new TreeMap<>(ranges));
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

    private record Json(String calibrator, int samples, TreeMap<String, TensorRange> ranges) {
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(new Json(calibrator, samples, new TreeMap<>(ranges)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ActivationStatistics fromJson(byte[] json) {
        try {
            Json j = JSON.readValue(json, Json.class);
            return new ActivationStatistics(j.calibrator(), j.samples(), j.ranges());
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable statistics artifact", e);
        }
    }
}
