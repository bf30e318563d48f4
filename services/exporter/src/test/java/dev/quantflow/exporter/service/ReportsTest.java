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
}
