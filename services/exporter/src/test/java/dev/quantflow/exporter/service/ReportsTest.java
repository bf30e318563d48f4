package dev.quantflow.exporter.service;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;

class ReportsTest {

    @Test
    void htmlShowsTheComparisonTableAndEscapesUserText() {
        ObjectNode r = ExportStage.JSON.createObjectNode();
        r.put("jobId", "job-1");
        r.put("name", "<script>alert(1)</script>");
        r.put("method", "static");
        r.put("precision", "INT8");
        r.put("meetsTarget", true);
        ObjectNode f = r.putObject("fp32");
        f.put("sizeBytes", 4 * 1024 * 1024);
        f.put("accuracy", 0.9);
        f.putObject("latencyBatch1").put("p50Ms", 2.0);
        ObjectNode q = r.putObject("quantized");
        q.put("sizeBytes", 1024 * 1024);
        q.put("accuracy", 0.895);
        q.putObject("latencyBatch1").put("p50Ms", 1.0);
        String html = Reports.html(r);
        assertThat(html).contains("FP32 vs INT8").contains("Model size (MB)").contains("4.00").contains("1.00")
            .contains("-75.0%").contains("90.00").contains("89.50").contains("-50.0%");
        assertThat(html).doesNotContain("<script>").contains("&lt;script&gt;");
        assertThat(html).contains("n/a"); // RAM not measured in this report
    }

    @Test
    void labelsFollowTheMethod() {
        assertThat(ExportStage.label("static")).isEqualTo("int8");
        assertThat(ExportStage.label("gptq")).isEqualTo("int4");
        assertThat(ExportStage.label("fp16")).isEqualTo("fp16");
    }

    @Test
    void paretoSetKeepsAttemptsNoOtherBeatsOnAccuracySizeAndLatency() {
        var attempts = ExportStage.JSON.createArrayNode();
        attempts.addObject().put("quantizedAccuracy", 0.80).put("quantizedSizeBytes", 100).put("quantizedLatencyBatch1P50Ms", 1.0);
        attempts.addObject().put("quantizedAccuracy", 0.85).put("quantizedSizeBytes", 120).put("quantizedLatencyBatch1P50Ms", 1.0);
        attempts.addObject().put("quantizedAccuracy", 0.84).put("quantizedSizeBytes", 130).put("quantizedLatencyBatch1P50Ms", 1.2);
        attempts.addObject().put("quantizedAccuracy", 0.90); // no runnable model: never on the set
        Reports.markPareto(attempts);
        assertThat(attempts.get(0).path("pareto").asBoolean()).isTrue();  // smallest
        assertThat(attempts.get(1).path("pareto").asBoolean()).isTrue();  // most accurate of the runnable
        assertThat(attempts.get(2).path("pareto").asBoolean()).isFalse(); // worse than #2 on everything
        assertThat(attempts.get(3).path("pareto").asBoolean()).isFalse();
    }

    @Test
    void bestEffortReportsSayTheyMissTheTarget() {
        ObjectNode r = ExportStage.JSON.createObjectNode();
        r.put("jobId", "job-2");
        r.put("meetsTarget", false);
        r.put("bestEffort", true);
        r.put("bestEffortReason", "attempt budget spent (3 attempt(s))");
        r.putArray("layers").addObject().put("node", "/conv2/Conv").put("opType", "Conv").put("quantized", true)
            .put("sqnrDb", 12.5).put("layerSqnrDb", 13.0);
        String html = Reports.html(r);
        assertThat(html).contains("does NOT meet target").contains("BEST EFFORT").contains("attempt budget spent");
        assertThat(html).contains("Per-layer SQNR").contains("<svg").contains("/conv2/Conv").contains("12.5 dB");
    }
}
