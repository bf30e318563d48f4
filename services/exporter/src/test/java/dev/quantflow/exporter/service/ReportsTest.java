package dev.quantflow.exporter.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.quantflow.contracts.Preparation;
import dev.quantflow.contracts.Report;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.pipeline.kafka.StageRun;

class ReportsTest {

    @Test
    void htmlShowsTheComparisonTableAndEscapesUserText() throws Exception {
        ObjectNode r = StageJson.MAPPER.createObjectNode();
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
        String html = html(r);
        assertThat(html).contains("FP32 vs INT8").contains("Model size (MB)").contains("4.00").contains("1.00")
            .contains("-75.0%").contains("90.00").contains("89.50").contains("-50.0%");
        assertThat(html).doesNotContain("<script>").contains("&lt;script&gt;");
        assertThat(html).contains("n/a"); // RAM not measured in this report
    }

    /** What intake's preparation writes for a paddle2onnx-style opset-9 export. */
    static Preparation preparation() {
        return new Preparation(true, 9L, 17L, 420, 212, 250, 3, 1, 0, java.util.Map.of("Softmax", 1, "Clip", 12), 35, 0, 0,
            12, List.of(), 32, 32, 2.4e-6, 1.1e-6, 1e-4, 0.8, "jobs/job-1/input/model.onnx",
            "jobs/job-1/prepared/model.onnx");
    }

    @Test
    void thePreparationSectionSaysWhatChangedAndHowCloseTheCheckWas() throws Exception {
        ObjectNode r = report("job-1", "static");
        Report report = StageJson.MAPPER.treeToValue(r, Report.class);
        assertThat(Reports.html(report)).doesNotContain("Model preparation");
        String html = Reports.html(report.withPreparation(preparation()));
        assertThat(html).contains("<h2>Model preparation</h2>").contains("opset 9 → 17").contains("250 Constant → initializer")
            .contains("35 BatchNormalization folded").contains("{Clip=12, Softmax=1}").contains("on 32 inputs (32 from the data)")
            .contains("max |diff| 2.40e-06");
        Preparation unchanged = new Preparation(false, 17L, 17L, 11, 11, 0, 0, 0, 0, java.util.Map.of(), 0, 0, 0, 0,
            List.of(), null, null, null, null, null, 0.01, "jobs/job-1/input/model.onnx", null);
        assertThat(Reports.html(report.withPreparation(unchanged))).contains("used as uploaded (opset 17)")
            .doesNotContain("max |diff|");
    }

    /** What the workers note for a static job: calibration, a quantizer run, validation; a dead delivery of the export. */
    static List<StageRun> storedRuns() {
        return List.of(
            new StageRun("validation", "validator", "validator", 1, "ev-v", "2026-12-08T03:00:20Z", 12.5, 900_000_000L, "ok"),
            new StageRun("calibration", "calibration", "calibration", 1, "ev-c", "2026-12-08T03:00:01Z", 4.25,
                1_610_612_736L, "ok"),
            new StageRun("quantize", "quantizer-static", "quantizer-static", 1, "ev-q", "2026-12-08T03:00:06Z", 8.0, -1,
                "running"),
            new StageRun("export", "exporter", "exporter", 1, "ev-e", "2026-12-08T03:00:30Z", 0.5, 300_000_000L, "running"));
    }

    @Test
    void eachStageRunIsAReportRowWithItsPeakMemoryOldestFirstAndTheExportLast() throws Exception {
        StageRun own = new StageRun("export", "exporter", "exporter", 1, "ev-e", "2026-12-08T03:00:40Z", 1.25,
            400_000_000L, "running");
        List<Report.StageRun> rows = Reports.stages(storedRuns(), own);
        assertThat(rows).extracting(Report.StageRun::stage)
            .containsExactly("calibration", "quantize", "validation", "export"); // the dead export delivery left out
        assertThat(rows.get(0).peakRssBytes()).isEqualTo(1_610_612_736L);
        assertThat(rows.get(1).peakRssBytes()).isNull(); // unknown (not Linux) is absent, not -1
        assertThat(rows.get(3).seconds()).isEqualTo(1.25);

        ObjectNode r = StageJson.MAPPER.createObjectNode();
        r.put("jobId", "job-1");
        r.put("method", "static");
        Report report = StageJson.MAPPER.treeToValue(r, Report.class);
        assertThat(Reports.html(report)).doesNotContain("<h2>Stages</h2>");
        String html = Reports.html(report.withStages(rows));
        assertThat(html).contains("<h2>Stages</h2>").contains("<th>Peak RSS (MB)</th>")
            .contains("<td>calibration</td><td>calibration</td><td>1</td><td>4.3</td><td>1536</td><td>ok</td>")
            .contains("<td>quantize</td><td>quantizer-static</td><td>1</td><td>8.0</td><td>n/a</td>");
    }

    @Test
    void theTraceIdIsInTheJsonAndTheHtmlWhenKnown() throws Exception {
        ObjectNode r = StageJson.MAPPER.createObjectNode();
        r.put("jobId", "job-1");
        r.put("method", "static");
        Report report = StageJson.MAPPER.treeToValue(r, Report.class);
        assertThat(Reports.html(report.withTraceId(""))).doesNotContain("Trace");
        assertThat(new String(StageJson.write(report.withTraceId("")), java.nio.charset.StandardCharsets.UTF_8))
            .doesNotContain("traceId");
        Report traced = report.withTraceId("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(Reports.html(traced)).contains("Trace <code>4bf92f3577b34da6a3ce929d0e0e4736</code>");
        assertThat(StageJson.read(StageJson.write(traced), Report.class).traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    }

    @Test
    void labelsFollowTheMethod() {
        assertThat(ExportStage.label("static", 8)).isEqualTo("int8");
        assertThat(ExportStage.label("gptq", 4)).isEqualTo("int4");
        assertThat(ExportStage.label("rtn", 8)).isEqualTo("int8");
        assertThat(ExportStage.label("qat", 4)).isEqualTo("w4a8");
        assertThat(ExportStage.label("qat", 8)).isEqualTo("int8");
        assertThat(ExportStage.label("fp16", 8)).isEqualTo("fp16");
    }

    @Test
    void paretoSetKeepsAttemptsNoOtherBeatsOnAccuracySizeAndLatency() {
        List<Report.Attempt> marked = Reports.markPareto(List.of(attempt(0.80, 100L, 1.0), attempt(0.85, 120L, 1.0),
            attempt(0.84, 130L, 1.2), attempt(0.90, null, null))); // the last has no runnable model: never on the set
        assertThat(marked).extracting(Report.Attempt::pareto).containsExactly(true, true, false, false);
    }

    private static Report.Attempt attempt(double accuracy, Long size, Double latency) {
        return new Report.Attempt(1, false, "", null, accuracy, null, size, latency, null, null, "static", "INT8", "", "", null);
    }

    @Test
    void bestEffortReportsSayTheyMissTheTarget() throws Exception {
        ObjectNode r = StageJson.MAPPER.createObjectNode();
        r.put("jobId", "job-2");
        r.put("meetsTarget", false);
        r.put("bestEffort", true);
        r.put("bestEffortReason", "attempt budget spent (3 attempt(s))");
        r.putArray("layers").addObject().put("node", "/conv2/Conv").put("opType", "Conv").put("quantized", true)
            .put("sqnrDb", 12.5).put("layerSqnrDb", 13.0);
        String html = html(r);
        assertThat(html).contains("does NOT meet target").contains("BEST EFFORT").contains("attempt budget spent");
        assertThat(html).contains("Per-layer SQNR").contains("<svg").contains("/conv2/Conv").contains("12.5 dB");
    }

    @Test
    void llmReportsShowPerplexityWithTheRoundToNearestBaselineAndDecodeSpeed() throws Exception {
        ObjectNode r = report("job-2", "gptq");
        r.put("precision", "INT4");
        r.put("meetsTarget", true);
        r.put("llm", true);
        ObjectNode f = r.putObject("fp32");
        f.put("sizeBytes", 16 * 1024 * 1024);
        f.put("perplexity", 17.2);
        f.put("decodeTokensPerSecond", 100.0);
        ObjectNode q = r.putObject("quantized");
        q.put("sizeBytes", 3 * 1024 * 1024);
        q.put("perplexity", 17.3);
        q.put("decodeTokensPerSecond", 150.0);
        q.put("heldOutTokens", 16384);
        q.put("windows", 128);
        q.put("context", 128);
        r.putObject("baseline").put("perplexity", 17.6).put("sizeBytes", 3 * 1024 * 1024);
        r.putObject("comparison").put("increaseVsBaseline", 0.25);
        ObjectNode node = r.putObject("quantization").putArray("quantizedNodes").addObject();
        node.put("node", "/h.0/attn/q/MatMul").put("k", 256).put("n", 256).put("bits", 4).put("relativeError", 0.0123);
        String html = html(r);
        assertThat(html).contains("FP32 vs GPTQ INT4").contains("RTN (same bits)").contains("17.200").contains("17.600")
            .contains("17.300").contains("+0.6%").contains("Decode, batch 1 (tokens/s)").contains("+50.0%")
            .contains("0.25&times; round-to-nearest").contains("/h.0/attn/q/MatMul").contains("0.0123")
            .doesNotContain("Accuracy (top-1, %)");
    }

    @Test
    void qatReportsShowThePtqBaselineAndTheShareOfTheDropRecovered() throws Exception {
        ObjectNode r = report("job-3", "qat");
        r.put("precision", "W4A8");
        r.put("meetsTarget", true);
        r.putObject("fp32").put("accuracy", 0.9085);
        r.putObject("quantized").put("accuracy", 0.9040);
        ObjectNode b = r.putObject("baseline");
        b.put("method", "ptq (same quantization, no training)").put("accuracy", 0.8800).put("accuracyDrop", 0.0285)
            .put("recoveredFraction", 0.842);
        ObjectNode t = r.putObject("training");
        t.put("weightBits", 4).put("steps", 300).put("batchSize", 64).put("trainingSamples", 4000).put("learningRate", 5e-4)
            .put("seconds", 30.0).put("stepsPerSecond", 10.0);
        t.putArray("lossCurve").addObject().put("step", 300).put("loss", 0.0123).put("learningRate", 1e-6);
        String html = html(r);
        assertThat(html).contains("FP32 vs W4A8").contains("top-1 88.00%").contains("2.85 points")
            .contains("recovers 84.2% of that drop").contains("<h2>Training</h2>").contains("300 steps of batch 64")
            .contains("0.0123");
    }

    @Test
    void hardwareProfilesBecomeOneColumnPerClass() throws Exception {
        ObjectNode r = report("job-4", "static");
        r.put("meetsTarget", true);
        ObjectNode hw = r.putObject("hardware");
        for (String cls : new String[] {"x86-avx2", "x86-avx512-vnni"}) {
            ObjectNode c = hw.putObject(cls);
            c.putObject("fp32").put("cpuModel", "cpu " + cls).put("logicalCores", 2).put("latencyP50Ms", 2.0)
                .put("energyUnavailable", "no RAPL");
            ObjectNode q = c.putObject("quantized").put("cpuModel", "cpu " + cls).put("logicalCores", 2)
                .put("latencyP50Ms", cls.equals("x86-avx2") ? 1.5 : 0.5).put("energyUnavailable", "no RAPL");
            q.putArray("formats").addObject().put("format", "int8").put("level", cls.equals("x86-avx2") ? "LIMITED" : "NATIVE");
        }
        String html = html(r);
        assertThat(html).contains("<h2>Hardware</h2>").contains("<th>x86-avx2</th><th>x86-avx512-vnni</th>")
            .contains("<td>1.500 / 2.000</td><td>0.500 / 2.000</td>").contains("<td>LIMITED</td><td>NATIVE</td>")
            .contains("unavailable / unavailable");
    }

    @Test
    void theIsaTheRecipeWasMadeForIsOneLineWithItsReasons() throws Exception {
        ObjectNode r = report("job-5", "static");
        ObjectNode isa = r.putObject("quantization").putObject("isa");
        isa.put("hardwareClass", "x86-avx512-vnni").put("source", "host").put("cpuModel", "AMD EPYC 9B45")
            .put("headline", "recipe made for x86-avx512-vnni: 8-bit weights (VNNI), u8 activations");
        isa.putArray("reasons").add("8-bit weights (|code| ≤ 127): avx512_vnni (vpdpbusd) accumulates u8·s8 products in int32")
            .add("u8 activations: x86");
        String html = html(r);
        assertThat(html).contains("<p>recipe made for x86-avx512-vnni: 8-bit weights (VNNI), u8 activations "
            + "(the quantizer's CPU, AMD EPYC 9B45)</p>").contains("<li>8-bit weights (|code| ≤ 127): avx512_vnni");
        r.remove("quantization");
        assertThat(html(r)).doesNotContain("recipe made for");
    }

    /** A report.json tree with its job id and method; each test adds the sections it is about. */
    private static ObjectNode report(String jobId, String method) {
        ObjectNode r = StageJson.MAPPER.createObjectNode();
        r.put("jobId", jobId);
        r.put("method", method);
        return r;
    }

    /** The HTML report of {@code r}, read as the exporter reads report.json. */
    private static String html(ObjectNode r) throws Exception {
        return Reports.html(StageJson.MAPPER.treeToValue(r, Report.class));
    }
}
