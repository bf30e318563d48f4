package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ActivationStatisticsTest {

    /** Bytes written by the artifact before per-channel ranges and outlier summaries existed. */
    private static final String LEGACY = "{\n  \"calibrator\" : \"minmax\",\n  \"samples\" : 3,\n  \"ranges\" : {\n"
        + "    \"a\" : {\n      \"min\" : 0.0,\n      \"max\" : 1.0E-7\n    },\n"
        + "    \"b\" : {\n      \"min\" : -1.0,\n      \"max\" : 2.5\n    }\n  }\n}";

    private static final Map<String, TensorRange> RANGES = Map.of("b", new TensorRange(-1f, 2.5f), "a", new TensorRange(0f, 1e-7f));

    @Test
    void withoutOptionalPartsTheBytesAreTheLegacyOnes() {
        assertThat(new String(new ActivationStatistics("minmax", 3, RANGES).toJson(), StandardCharsets.UTF_8)).isEqualTo(LEGACY);
        ActivationStatistics legacy = ActivationStatistics.fromJson(LEGACY.getBytes(StandardCharsets.UTF_8));
        assertThat(legacy.ranges()).isEqualTo(RANGES);
        assertThat(legacy.channelRanges()).isEmpty();
        assertThat(legacy.outliers()).isEmpty();
    }

    @Test
    void optionalPartsRoundTripWithSortedKeys() {
        ActivationStatistics s = new ActivationStatistics("entropy", 3, RANGES,
            Map.of("b", List.of(new TensorRange(-1f, 0f), new TensorRange(0f, 2.5f))),
            Map.of("b", new OutlierSummary(2.5f, 0.5f), "a", new OutlierSummary(1e-7f, 1e-7f)));
        String json = new String(s.toJson(), StandardCharsets.UTF_8);
        assertThat(json).contains("\"channelRanges\" : {\n    \"b\" : [ {")
            .contains("\"outliers\" : {\n    \"a\" : {\n      \"absMax\" : 1.0E-7,\n      \"absP9999\" : 1.0E-7\n    },")
            .doesNotContain("ratio");
        assertThat(json.indexOf("\"a\" : {\n      \"absMax\"")).isLessThan(json.indexOf("\"b\" : {\n      \"absMax\""));
        ActivationStatistics back = ActivationStatistics.fromJson(s.toJson());
        assertThat(back.toJson()).isEqualTo(s.toJson());
        assertThat(back.outliers("b").orElseThrow().ratio()).isEqualTo(5.0);
        assertThat(back.channelRanges("b").orElseThrow()).hasSize(2);
    }

    @Test
    void outlierRatioEdgeCases() {
        assertThat(new OutlierSummary(0f, 0f).ratio()).isEqualTo(1.0);
        assertThat(new OutlierSummary(3f, 0f).ratio()).isInfinite();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new OutlierSummary(1f, 2f))
            .isInstanceOf(IllegalArgumentException.class);
    }
}
