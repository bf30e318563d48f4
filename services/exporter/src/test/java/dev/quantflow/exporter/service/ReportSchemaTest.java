package dev.quantflow.exporter.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import dev.quantflow.contracts.AttemptMetrics;
import dev.quantflow.contracts.AttemptRecipe;
import dev.quantflow.contracts.Baseline;
import dev.quantflow.contracts.Comparison;
import dev.quantflow.contracts.LayerMetrics;
import dev.quantflow.contracts.ModelMetrics;
import dev.quantflow.contracts.IsaSummary;
import dev.quantflow.contracts.NodeDecision;
import dev.quantflow.contracts.Preparation;
import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.contracts.Report;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.contracts.Target;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.EventHeader;
import dev.quantflow.events.FormatSupport;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.ProfileCompleted;
import dev.quantflow.events.Recipe;

/**
 * Reports as the exporter writes them (metrics and summaries through {@link StageJson}, {@link Reports#json}, the
 * artifact list, a hardware profile added by {@link ProfileCollector}) validate against
 * {@code schemas/json/report.schema.json}, the contract the CLI's {@code --json} prints.
 */
class ReportSchemaTest {

    static Schema schema;

    @BeforeAll
    static void loadSchema() throws IOException {
        schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(Files.readString(Path.of("../../schemas/json/report.schema.json")), InputFormat.JSON);
    }

    @Test
    void aStaticInt8ReportWithTwoAttemptsAndAHardwareProfileMatchesTheSchema() {
        Recipe minmax = Recipe.newBuilder().setCalibrator("minmax").setWeightType("int8").setActivationType("uint8").build();
        Recipe percentile = Recipe.newBuilder(minmax).setCalibrator("percentile").setExcludedNodes(List.of("/fc/Gemm"))
            .setExclusionReasons(Map.of("/fc/Gemm", "sensitive: layer SQNR 12.0 dB")).build();
        JobContext job = job("static", percentile);
        QuantizationSummary summary = QuantizationSummary.nodes(430_000L, 120_000L,
            List.of(NodeDecision.of("/conv1/Conv", "Conv", true, "int8 weights and activations")),
            List.of(NodeDecision.of("/fc/Gemm", "Gemm", false, "sensitive: layer SQNR 12.0 dB")))
            .withIsa(new IsaSummary("x86-avx2", "host", "AMD EPYC 7B13", List.of("avx2", "f16c", "fma"), 7,
                IsaSummary.symmetricRange(64), "uint8", "recipe made for x86-avx2: 7-bit weights (no VNNI), u8 activations",
                List.of("7-bit weights (|code| ≤ 64): x86-avx2 has no VNNI", "u8 activations: x86")));
        AttemptMetrics first = int8Metrics(1, minmax, 0.86, false, "calibration", summary);
        AttemptMetrics second = int8Metrics(2, percentile, 0.905, true, "export", summary);

        Report report = export(job, second, List.of(record(1, minmax, false, "calibration"), record(2, percentile, true, "export")),
            List.of(first, second), "INT8", "model.int8.onnx");
        report = StageJson.read(StageJson.write(report), Report.class).withHardwareProfile("x86-avx2", "quantized",
            ProfileCollector.profile(profile("x86-avx2"))).withPreparation(StageJson.read(StageJson.write(
                ReportsTest.preparation()), Preparation.class))
            .withStages(Reports.stages(ReportsTest.storedRuns(), null));

        byte[] json = StageJson.write(report);
        assertThat(errors(json)).isEmpty();
        assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"keptFloatNodes\"").contains("\"pareto\" : true")
            .contains("\"x86-avx2\"").contains("\"latencyBatchN\"").contains("\"constantsToInitializers\" : 250")
            .contains("\"Softmax\" : 1").contains("\"peakRssBytes\" : 1610612736");
        assertThat(report.quantization().isa().headline()).isEqualTo("recipe made for x86-avx2: 7-bit weights (no VNNI), u8 activations");
    }

    @Test
    void aFourBitLlmReportWithItsRoundToNearestBaselineMatchesTheSchema() {
        Recipe recipe = Recipe.newBuilder().setBits(4).setBlockSize(128).setSymmetric(false).setActOrder(true)
            .setDampPercent(0.01).setGraphFormat("").build();
        JobContext job = job("gptq", recipe);
        QuantizationSummary summary = QuantizationSummary.llm("gptq", 4, 128, false, true, 0.01, "matmulnbits", 12.5,
            14_926_281L, 3_123_619L,
            List.of(NodeDecision.matMul("/h.0/attn/q/MatMul", "h.0.attn.q.weight", 256, 256, 4, "gptq", 0.0123, "4-bit"),
                NodeDecision.matMul("/h.0/mlp/fc/MatMul", "h.0.mlp.fc.weight", 256, 1024, 4, "gptq", Double.NaN, "4-bit")),
            List.of(NodeDecision.matMul("/lm_head/MatMul", "lm_head.weight", 256, 4096, 8, "rtn", Double.NaN,
                "kept in 8 bits: the output head")));
        ModelMetrics fp32 = ModelMetrics.languageModel(14_926_281L, 36.402, 16_384, 128, 128, 100.0, 10.0, 11.0, 2000.0, 1);
        ModelMetrics q = ModelMetrics.languageModel(3_123_619L, 36.436, 16_384, 128, 128, 150.0, 6.6, 7.0, 2500.0, 1);
        AttemptMetrics metrics = AttemptMetrics.of(1, "gptq",
                AttemptRecipe.llm(4, 128, false, true, 0.01, List.of(), List.of(), "matmulnbits", ""), fp32, q,
                new Comparison(null, null, null, 0.209, null, null, 0.00093, 0.0018, 0.52, 1.5),
                new Target("perplexity-increase", null, 0.02, null, null, 0.00093, 0.02, null), true, "perplexity 36.402 -> 36.436",
                true)
            .withBaseline(new Baseline("rtn", 3_123_619L, null, null, null, null, 36.469))
            .withQuantization(summary)
            .withDecision("", "export");

        Report report = export(job, metrics, List.of(record(1, recipe, true, "export")), List.of(metrics), "INT4",
            "model.int4.onnx");

        byte[] json = StageJson.write(report);
        assertThat(errors(json)).isEmpty();
        assertThat(report.isLlm()).isTrue();
        assertThat(report.chosenAttempt()).isEqualTo(1);
        assertThat(report.attempts().getFirst().quantizedPerplexity()).isEqualTo(36.436);
        assertThat(report.attempts().getFirst().baselinePerplexity()).isEqualTo(36.469);
    }

    @Test
    void aDetectorReportJudgedByTheMeanIouOfItsMapsMatchesTheSchema() {
        Recipe recipe = Recipe.newBuilder().setCalibrator("minmax").setWeightType("int8").setActivationType("uint8").build();
        ModelMetrics fp32 = ModelMetrics.classifier(4_745_517, 200, null, latency(1, 30.0), latency(8, 200.0), 300.0);
        ModelMetrics q = ModelMetrics.classifier(1_400_000, 200, null, latency(1, 18.0), latency(8, 120.0), 200.0);
        AttemptMetrics metrics = AttemptMetrics.of(1, "static", AttemptRecipe.int8("minmax", "int8", "uint8", true, false,
                    List.of(), Map.of(), ""), fp32, q,
                new Comparison(0.4, null, null, 0.295, 1.67, 1.66, null, null, null, null),
                new Target("mean-iou", 0.02, null, null, null, 0.97, 0.95,
                    "auto: one-channel map [N, 1, ?, ?] with fp32 values in [0, 1]: a probability map, mean IoU"), true,
                "mean IoU 0.97: meets target", false)
            .withOutputs(new dev.quantflow.contracts.OutputSimilarity("iou", "none", 200, 0.99, 0.95, 1e-4, 0.3, 0.3,
                0.97, 0.88, null, null, 0.0, 1.0))
            .withDecision("", "export");
        Report report = export(job("static", recipe), metrics, List.of(record(1, recipe, true, "export")),
            List.of(metrics), "INT8", "model.int8.onnx");

        byte[] json = StageJson.write(report);
        assertThat(errors(json)).isEmpty();
        assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"meanIou\" : 0.97").contains("\"mapThreshold\" : 0.3")
            .contains("\"metricReason\" : \"auto: one-channel map");
        assertThat(Reports.html(report)).contains("Mean IoU of the maps").contains("0.9700").contains("Judged on: auto: one-channel map");
    }

    /** A 4-bit report as the exporter wrote it before the records: absent values copied as null, "layers": null. */
    static final String EARLIER_LLM_REPORT = """
        {"jobId":"job-9","name":"gpt","state":"READY","bestEffort":false,"bestEffortReason":"","method":"gptq",
         "methodReason":"decoder-only causal LM","precision":"INT4","meetsTarget":true,"finishedAt":"2026-11-30T10:00:00Z",
         "chosenAttempt":0,
         "attempts":[{"attempt":1,"passed":true,"verdict":"meets target","recipe":{"bits":4,"blockSize":128,"symmetric":false,
           "actOrder":true,"dampPercent":0.01,"highPrecisionNodes":[],"excludedNodes":[],"graphFormat":"matmulnbits","note":""},
           "quantizedAccuracy":null,"top1Agreement":null,"quantizedSizeBytes":3123619,"quantizedLatencyBatch1P50Ms":null,
           "quantizedPerplexity":36.436,"baselinePerplexity":36.469,"method":"gptq","diagnosis":"","route":"export","pareto":true},
          {"attempt":2,"passed":false,"verdict":"","recipe":null,"quantizedAccuracy":null,"top1Agreement":null,
           "quantizedSizeBytes":null,"quantizedLatencyBatch1P50Ms":null,"method":"gptq","diagnosis":"","route":"","pareto":false}],
         "fp32":{"sizeBytes":14926281,"perplexity":36.402,"heldOutTokens":16384,"windows":128,"context":128,
           "decodeTokensPerSecond":100.0,"decodeP50Ms":10.0,"decodeP95Ms":11.0,"prefillTokensPerSecond":2000.0,"intraOpThreads":1},
         "quantized":{"sizeBytes":3123619,"perplexity":36.436,"heldOutTokens":16384,"windows":128,"context":128,
           "decodeTokensPerSecond":150.0,"decodeP50Ms":6.6,"decodeP95Ms":7.0,"prefillTokensPerSecond":2500.0,"intraOpThreads":1},
         "comparison":{"sizeRatio":0.209,"perplexityIncrease":0.00093,"baselinePerplexityIncrease":0.0018,
           "increaseVsBaseline":null,"decodeSpeedup":1.5},
         "target":{"metric":"perplexity-increase","maxRelativeIncrease":0.02,"maxSizeRatio":null,"value":0.00093,"threshold":0.02},
         "verdict":"perplexity 36.402 -> 36.436: meets target",
         "quantization":{"recipe":{"bits":4,"blockSize":128,"symmetric":false,"actOrder":true,"dampPercent":0.01,
           "highPrecisionNodes":[],"excludedNodes":[],"graphFormat":"matmulnbits","note":""},
           "quantizedNodes":[{"node":"/h.0/attn/q/MatMul","opType":"MatMul","weight":"h.0.attn.q.weight","k":256,"n":256,
             "bits":4,"method":"gptq","relativeError":null,"reason":"4-bit"}],"keptFloatNodes":[]},
         "layers":null,"baseline":{"method":"rtn","sizeBytes":3123619,"perplexity":36.469},"llm":true,
         "artifacts":[{"name":"model.int4.onnx","key":"jobs/job-9/output/model.int4.onnx","sha256":"ab","size":3123619,
           "mediaType":"application/onnx"}]}
        """;

    @Test
    void reportsWrittenBeforeTheRecordsStillValidateAndRead() {
        byte[] json = EARLIER_LLM_REPORT.getBytes(StandardCharsets.UTF_8);
        assertThat(errors(json)).isEmpty();
        Report report = StageJson.read(json, Report.class);
        assertThat(report.attempts().get(1).recipe()).isNull();
        assertThat(report.quantization().quantizedNodes().getFirst().relativeError()).isNull();
        assertThat(Reports.html(report)).contains("FP32 vs GPTQ INT4").contains("/h.0/attn/q/MatMul").contains("36.469");
    }

    @Test
    void aReportThatBreaksTheContractDoesNotValidate() throws IOException {
        Recipe recipe = Recipe.newBuilder().setCalibrator("minmax").setWeightType("int8").setActivationType("uint8").build();
        AttemptMetrics metrics = int8Metrics(1, recipe, 0.9, true, "export", QuantizationSummary.EMPTY);
        Report report = export(job("static", recipe), metrics, List.of(record(1, recipe, true, "export")), List.of(metrics),
            "INT8", "model.int8.onnx");
        ObjectNode tree = (ObjectNode) StageJson.MAPPER.readTree(StageJson.write(report));
        assertThat(errors(StageJson.MAPPER.writeValueAsBytes(tree))).isEmpty();

        ObjectNode renamed = tree.deepCopy();
        ((ObjectNode) renamed.at("/fp32")).set("sizeInBytes", renamed.at("/fp32").get("sizeBytes"));
        ((ObjectNode) renamed.at("/fp32")).remove("sizeBytes");
        assertThat(errors(StageJson.MAPPER.writeValueAsBytes(renamed))).singleElement().asString().contains("sizeInBytes");

        ObjectNode retyped = tree.deepCopy();
        retyped.put("meetsTarget", "yes");
        assertThat(errors(StageJson.MAPPER.writeValueAsBytes(retyped))).singleElement().asString().contains("meetsTarget");

        ObjectNode missing = tree.deepCopy();
        missing.remove("state");
        assertThat(errors(StageJson.MAPPER.writeValueAsBytes(missing))).singleElement().asString().contains("state");
    }

    /** What ExportStage does: metrics and summary come from the store as JSON, the report gets its files. */
    private static Report export(JobContext job, AttemptMetrics chosen, List<AttemptRecord> history,
                                 List<AttemptMetrics> attempts, String precision, String modelName) {
        AttemptMetrics stored = StageJson.read(StageJson.write(chosen), AttemptMetrics.class);
        List<AttemptMetrics> storedAttempts = new ArrayList<>();
        attempts.forEach(a -> storedAttempts.add(StageJson.read(StageJson.write(a), AttemptMetrics.class)));
        QuantizationSummary summary = stored.quantization() == null ? QuantizationSummary.EMPTY : stored.quantization();
        ArtifactRef model = ref("jobs/job-1/output/" + modelName, 120_000);
        return Reports.json("job-1", job, job.getPlan().getMethod(), chosen.passed(), "", stored, summary, history, storedAttempts, precision)
            .withArtifacts(List.of(ExportStage.entry(modelName, model)));
    }

    private static AttemptMetrics int8Metrics(int attempt, Recipe r, double accuracy, boolean passed, String route,
                                              QuantizationSummary summary) {
        ModelMetrics fp32 = ModelMetrics.classifier(430_000, 2000, 0.9085, latency(1, 0.50), latency(256, 40.0), 120.0);
        ModelMetrics q = ModelMetrics.classifier(120_000, 2000, accuracy, latency(1, 0.38), latency(256, 31.0), null);
        return AttemptMetrics.of(attempt, "static", AttemptRecipe.int8(r.getCalibrator(), r.getWeightType(),
                    r.getActivationType(), r.getPerChannelWeights(), r.getInt8Only(), r.getExcludedNodes(),
                    r.getExclusionReasons(), r.getNote()), fp32, q,
                new Comparison(0.98, 0.9085 - accuracy, (0.9085 - accuracy) / 0.9085, 0.279, 1.32, 1.29, null, null, null, null),
                new Target("top1", 0.02, null, null, null, (0.9085 - accuracy) / 0.9085, 0.02, "named by the job"), passed,
                passed ? "meets target" : "misses target", false)
            .withLayers(List.of(new LayerMetrics("/conv1/Conv", "Conv", "/conv1/Conv_output_0", true, 38.5, 60.0, 21.5, 38.6, null),
                new LayerMetrics("/Flatten", "Flatten", "/Flatten_output_0", false, null, null, null, null, "not a compute node")))
            .withQuantization(summary)
            .withDecision(passed ? "" : "calibration issue: clipped activations", route);
    }

    private static ModelMetrics.Latency latency(int batch, double p50) {
        return new ModelMetrics.Latency(batch, 50, p50, p50 * 1.2, p50 * 1.05, batch / p50 * 1000);
    }

    private static JobContext job(String method, Recipe recipe) {
        return JobContext.newBuilder()
            .setInputs(JobInputs.newBuilder().setName("fashion-cnn").setModel(ref("jobs/job-1/input/model.onnx", 430_000)).build())
            .setPlan(JobPlan.newBuilder().setMethod(method).setMethodReason("requested").setRecipe(recipe).build())
            .build();
    }

    private static AttemptRecord record(int attempt, Recipe recipe, boolean passed, String route) {
        return AttemptRecord.newBuilder().setAttempt(attempt).setRecipe(recipe).setPassed(passed)
            .setVerdict(passed ? "meets target" : "misses target").setMethod("static")
            .setDiagnosis(passed ? "" : "calibration issue").setRoute(route)
            .setMetrics(ref("jobs/job-1/" + attempt + "/validation/metrics.json", 2000))
            .setQuantizedModel(ref("jobs/job-1/" + attempt + "/quantize/model.int8.onnx", 120_000))
            .build();
    }

    private static ProfileCompleted profile(String hardwareClass) {
        return ProfileCompleted.newBuilder()
            .setHeader(EventHeader.newBuilder().setEventId("e-1").setJobId("job-1").setAttempt(2).setOccurredAt(Instant.now())
                .setProducer("hardware-profiler").setProducerVersion("test").build())
            .setHardwareClass(hardwareClass).setModel(ref("jobs/job-1/output/model.int8.onnx", 120_000)).setLabel("quantized")
            .setCpuModel("AMD EPYC").setLogicalCores(2).setArch("amd64").setCpuFeatures(List.of("avx2", "fma"))
            .setFormats(List.of(FormatSupport.newBuilder().setFormat("int8").setLevel("LIMITED").build()))
            .setLatencyP50Ms(0.4).setLatencyP95Ms(0.5).setLatencyP99Ms(0.6).setThroughputSamplesPerSecond(9000.0)
            .setEnergyUnavailableReason("no RAPL counters")
            .build();
    }

    private static ArtifactRef ref(String key, long size) {
        return ArtifactRef.newBuilder().setBucket("quantflow").setKey(key).setSha256("ab".repeat(32)).setSize(size)
            .setMediaType("application/octet-stream").build();
    }

    private static List<String> errors(byte[] json) {
        return schema.validate(new String(json, StandardCharsets.UTF_8), InputFormat.JSON).stream().map(Error::toString).toList();
    }
}
