package dev.quantflow.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

class StageJsonTest {

    /** A QAT summary as the Map-based writer wrote it before the records: a diverged loss travels as "NaN". */
    static final String OLD_QAT_SUMMARY = """
        {"method":"qat","weightBits":3,"perChannelWeights":false,"learnedScales":true,"steps":300,"batchSize":64,
         "learningRate":0.001,"trainingSamples":4000,"labelsUsed":true,"seconds":30.0,"stepsPerSecond":10.0,
         "initialLoss":0.75,"finalLoss":"NaN","lossCurve":[{"step":300,"loss":0.0123,"learningRate":1.0E-6}],
         "fp32SizeBytes":430000,"quantizedSizeBytes":120000,"quantizedNodes":[],"keptFloatNodes":[],
         "someFutureKey":{"x":1}}
        """;

    @Test
    void summariesOfTheEarlierWritersReadIntoTheRecord() {
        QuantizationSummary s = StageJson.read(OLD_QAT_SUMMARY.getBytes(StandardCharsets.UTF_8), QuantizationSummary.class);
        assertThat(s.method()).isEqualTo("qat");
        assertThat(s.weightBits()).isEqualTo(3);
        assertThat(s.initialLoss()).isEqualTo(0.75);
        assertThat(s.finalLoss()).isNaN();
        assertThat(s.lossCurve()).containsExactly(new QuantizationSummary.LossPoint(300, 0.0123, 1e-6));
        assertThat(s.isTraining()).isTrue();
        assertThat(s.quantizedNodesOrEmpty()).isEmpty();
        assertThat(s.smoothQuant()).isNull();
    }

    @Test
    void writtenSummariesKeepTheKeysOfTheEarlierWritersAndLeaveOutAbsentOnes() throws Exception {
        QuantizationSummary s = QuantizationSummary.nodes(1000L, 300L,
                List.of(NodeDecision.of("/conv1/Conv", "Conv", true, "int8")),
                List.of(NodeDecision.of("/fc/Gemm", "Gemm", false, "kept by the debug loop")))
            .withSmoothQuant(new QuantizationSummary.SmoothQuant(0.5, 0));
        JsonNode json = StageJson.MAPPER.readTree(StageJson.write(s));
        assertThat(fieldNames(json)).containsExactly("fp32SizeBytes", "quantizedSizeBytes", "quantizedNodes", "keptFloatNodes",
            "smoothQuant");
        assertThat(fieldNames(json.at("/keptFloatNodes/0"))).containsExactly("node", "opType", "quantized", "reason");
        assertThat(json.at("/keptFloatNodes/0/quantized").isBoolean()).isTrue();
        assertThat(json.at("/smoothQuant/alpha").asDouble()).isEqualTo(0.5);
        assertThat(StageJson.read(StageJson.write(s), QuantizationSummary.class)).isEqualTo(s);
    }

    @Test
    void theIsaRecordTravelsFromTheSummaryToTheReportsQuantizationSection() throws Exception {
        IsaSummary isa = new IsaSummary("x86-avx512-vnni", "host", "AMD EPYC 9B45", List.of("avx2", "avx512_vnni"), 8,
            IsaSummary.symmetricRange(127), "uint8", "recipe made for x86-avx512-vnni: 8-bit weights (VNNI), u8 activations",
            List.of("8-bit weights (|code| ≤ 127): avx512_vnni (vpdpbusd) accumulates u8·s8 products in int32",
                "u8 activations: x86 integer instructions (vpdpbusd) multiply unsigned activations by signed weights"));
        QuantizationSummary s = QuantizationSummary.nodes(1000L, 300L, List.of(), List.of()).withIsa(isa);
        JsonNode json = StageJson.MAPPER.readTree(StageJson.write(s));
        assertThat(fieldNames(json.get("isa"))).containsExactly("hardwareClass", "source", "cpuModel", "flags", "weightBits",
            "weightRange", "activationType", "headline", "reasons");
        assertThat(json.at("/isa/weightRange/0").asInt()).isEqualTo(-127);
        QuantizationSummary back = StageJson.read(StageJson.write(s), QuantizationSummary.class);
        assertThat(back).isEqualTo(s);
        assertThat(back.withSmoothQuant(new QuantizationSummary.SmoothQuant(0.5, 2)).isa()).isEqualTo(isa);

        Report.Quantization q = new Report.Quantization(null, List.of(), List.of(), null, back.isa());
        JsonNode report = StageJson.MAPPER.readTree(StageJson.write(q));
        assertThat(report.at("/isa/headline").asText()).isEqualTo(isa.headline());
        assertThat(StageJson.read(StageJson.write(q), Report.Quantization.class)).isEqualTo(q);
        assertThat(StageJson.read("{\"quantizedNodes\":[]}".getBytes(StandardCharsets.UTF_8), Report.Quantization.class)
            .isa()).as("reports written before the isa record").isNull();
    }

    @Test
    void aDivergedLossIsWrittenAsAStringAndReadBack() throws Exception {
        QuantizationSummary s = QuantizationSummary.qat(4, true, false, 10, 8, 1e-3, 64, false, 2.0, Double.POSITIVE_INFINITY,
            Double.NaN, List.of(), 100, 50);
        JsonNode json = StageJson.MAPPER.readTree(StageJson.write(s));
        assertThat(json.get("finalLoss").asText()).isEqualTo("NaN");
        assertThat(json.get("initialLoss").asText()).isEqualTo("Infinity");
        assertThat(json.get("stepsPerSecond").asDouble()).isEqualTo(5.0);
        QuantizationSummary back = StageJson.read(StageJson.write(s), QuantizationSummary.class);
        assertThat(back.finalLoss()).isNaN();
        assertThat(back.initialLoss()).isInfinite();
    }

    @Test
    void llmNodesLeaveOutQuantizedAndAnUnmeasuredError() throws Exception {
        NodeDecision n = NodeDecision.matMul("/h.0/attn/q/MatMul", "h.0.attn.q.weight", 256, 256, 4, "gptq", Double.NaN, "4-bit");
        JsonNode json = StageJson.MAPPER.readTree(StageJson.write(n));
        assertThat(fieldNames(json)).containsExactly("node", "opType", "reason", "weight", "k", "n", "bits", "method");
    }

    @Test
    void metricsAccumulateTheValidatorsStepsAndReadBackEqual() {
        AttemptMetrics m = AttemptMetrics.of(2, "static", null, null, null, Comparison.NONE, null, false, "misses", false)
            .withLayers(List.of(new LayerMetrics("/conv1/Conv", "Conv", "t", true, 31.0, null, null, null, null)))
            .withDecision("calibration issue", "calibration");
        AttemptMetrics back = StageJson.read(StageJson.write(m), AttemptMetrics.class);
        assertThat(back).isEqualTo(m);
        assertThat(back.isLlm()).isFalse();
        assertThat(back.route()).isEqualTo("calibration");
    }

    @Test
    void aReportWithAValueOfTheWrongShapeIsRefused() {
        assertThatThrownBy(() -> StageJson.read("{\"attempts\":{\"attempt\":1}}".getBytes(StandardCharsets.UTF_8), Report.class))
            .isInstanceOf(UncheckedIOException.class).hasMessageContaining("Report");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
