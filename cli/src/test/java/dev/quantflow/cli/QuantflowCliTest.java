package dev.quantflow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine;

/** The CLI against a scripted intake: what the user sees, and the exit codes. */
class QuantflowCliTest {

    static final String REPORT = """
        {"jobId":"job-1","name":"fashion-cnn","state":"READY","method":"static","meetsTarget":true,
         "attempts":[{"attempt":1,"passed":false,"verdict":"calibration issue: clipped activations","recipe":{}},
                     {"attempt":2,"passed":true,"verdict":"pass","recipe":{"calibrator":"percentile"},
                      "method":"static","precision":"INT8"}],
         "fp32":{"sizeBytes":4194304,"accuracy":0.9120,"latencyBatch1":{"p50Ms":1.20,"p95Ms":1.5},
                 "latencyBatchN":{"batchSize":32,"p50Ms":20.0,"p95Ms":22.0},"peakRamMb":120.0},
         "quantized":{"sizeBytes":1048576,"accuracy":0.9080,"latencyBatch1":{"p50Ms":0.60,"p95Ms":0.8},
                 "latencyBatchN":{"batchSize":32,"p50Ms":8.0,"p95Ms":9.0},"peakRamMb":null},
         "comparison":{"top1Agreement":0.985,"accuracyDrop":0.004,"relativeAccuracyDrop":0.00439,"sizeRatio":0.25},
         "target":{"maxRelativeDrop":0.02},
         "artifacts":[{"name":"model.int8.onnx","key":"jobs/job-1/2/export/model.int8.onnx","sha256":"ab12","size":1048576}],
         "stages":[{"stage":"calibration","service":"calibration","attempt":1,"seconds":4.25,"peakRssBytes":1610612736,"outcome":"ok"},
                   {"stage":"export","service":"exporter","attempt":2,"seconds":0.5,"outcome":"running"}]}
        """;

    @TempDir
    Path tmp;

    FakeIntake intake;
    Path model;
    Path calib;
    Path eval;

    @BeforeEach
    void setUp() throws IOException {
        intake = new FakeIntake();
        model = Files.writeString(tmp.resolve("model.onnx"), "onnx-bytes");
        calib = Files.writeString(tmp.resolve("calib.npz"), "calib-bytes");
        eval = Files.writeString(tmp.resolve("eval.npz"), "eval-bytes");
    }

    @AfterEach
    void tearDown() {
        intake.close();
    }

    record Result(int exitCode, String out, String err) {
    }

    Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = QuantflowCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    String[] submitArgs(String... extra) {
        String[] base = {"submit", "--url", intake.url(), "--model", model.toString(), "--calib", calib.toString(),
            "--eval", eval.toString()};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void submitSendsTheMultipartFormAndPrintsTheJobId() {
        intake.json("POST /api/jobs", 202, "{\"jobId\":\"job-1\",\"state\":\"ACCEPTED\"}");

        Result result = run(submitArgs("--method", "static", "--max-drop", "0.02", "--max-attempts", "3",
            "--exclude-nodes", "conv1,fc", "--name", "my model", "--target-hardware", "x86-avx512-vnni"));

        assertThat(result.exitCode()).isZero();
        assertThat(result.out().strip()).isEqualTo("job-1");
        FakeIntake.Request post = intake.requests.getFirst();
        assertThat(post.contentType()).startsWith("multipart/form-data; boundary=");
        String body = post.bodyText();
        assertThat(body)
            .contains("name=\"model\"; filename=\"model.onnx\"").contains("onnx-bytes")
            .contains("name=\"calibration\"; filename=\"calib.npz\"").contains("calib-bytes")
            .contains("name=\"validation\"; filename=\"eval.npz\"").contains("eval-bytes")
            .contains("name=\"method\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nstatic\r\n")
            .contains("name=\"maxRelativeDrop\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n0.02\r\n")
            .contains("name=\"maxAttempts\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n3\r\n")
            .contains("name=\"excludedNodes\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nconv1,fc\r\n")
            .contains("name=\"name\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nmy model\r\n")
            .contains("name=\"targetHardwareClass\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nx86-avx512-vnni\r\n");
    }

    @Test
    void submitWaitFollowsTheEventStreamThenPrintsTheReportTable() {
        intake.json("POST /api/jobs", 202, "{\"jobId\":\"job-1\",\"state\":\"ACCEPTED\"}")
            .on("GET /api/jobs/job-1/events", FakeIntake.sse(
                "{\"at\":\"2026-11-27T10:00:01Z\",\"stage\":\"calibration\",\"state\":\"RUNNING\",\"attempt\":1,\"progress\":0.5,\"message\":\"collecting statistics\"}",
                "{\"at\":\"2026-11-27T10:00:05Z\",\"stage\":\"validation\",\"state\":\"RUNNING\",\"attempt\":2,\"progress\":null,\"message\":\"retry with percentile calibration\"}",
                "{\"at\":\"2026-11-27T10:00:09Z\",\"stage\":\"export\",\"state\":\"READY\",\"attempt\":2,\"progress\":1.0,\"message\":\"model ready\"}"))
            .json("GET /api/jobs/job-1", 200, """
                {"jobId":"job-1","state":"READY","stage":"export","attempt":2,"history":[
                 {"at":"2026-11-27T10:00:09Z","stage":"export","state":"READY","attempt":2,"progress":1.0,"message":"model ready"}]}""")
            .json("GET /api/jobs/job-1/report", 200, REPORT);

        Result result = run(submitArgs("--wait"));

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out())
            .contains("calibration       RUNNING   attempt 1      50%  collecting statistics")
            .contains("validation        RUNNING   attempt 2           retry with percentile calibration")
            .contains("export            READY     attempt 2     100%  model ready")
            .contains("Meets target  yes  (max relative accuracy drop 2.0%)")
            .contains("Metric                    | FP32   | INT8   | Change")
            .contains("Model size (MB)           |   4.00 |   1.00 | -75.0% (4.00x smaller)")
            .contains("Latency batch-1 p50 (ms)  |   1.20 |   0.60 | -50.0% (2.00x faster)")
            .contains("Latency batch-32 p50 (ms) |  20.00 |   8.00 | -60.0% (2.50x faster)")
            .contains("Accuracy (top-1)          | 91.20% | 90.80% | -0.40 pp (-0.44% rel.)")
            .contains("RAM (MB)                  |  120.0 |    n/a | n/a")
            .contains("Attempts      2")
            .contains("calibration issue: clipped activations")
            .containsPattern("2\\s+\\| static\\s+\\| INT8\\s+\\| yes\\s+\\| pass")
            .containsPattern("Stage\\s+\\| Service\\s+\\| Attempt \\| Seconds \\| Peak RSS \\(MB\\) \\| Outcome")
            .containsPattern("calibration\\s*\\| calibration\\s*\\|\\s*1\\s*\\|\\s*4\\.3\\s*\\|\\s*1536\\s*\\| ok")
            .containsPattern("export\\s*\\| exporter\\s*\\|\\s*2\\s*\\|\\s*0\\.5\\s*\\|\\s*n/a\\s*\\| running");
        // the final history entry repeats what the stream showed: printed once
        assertThat(result.out().split("model ready", -1)).hasSize(2);
    }

    @Test
    void submitWaitJsonPollsWhenTheStreamDropsAndKeepsStdoutPureJson() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        intake.json("POST /api/jobs", 202, "{\"jobId\":\"job-2\",\"state\":\"ACCEPTED\"}")
            .json("GET /api/jobs/job-2/events", 503, "{\"error\":\"UNAVAILABLE\",\"reason\":\"busy\"}")
            .on("GET /api/jobs/job-2", exchange -> {
                String state = polls.incrementAndGet() < 2 ? "RUNNING" : "FAILED";
                String history = "{\"at\":\"2026-11-27T10:00:01Z\",\"stage\":\"calibration\",\"state\":\"RUNNING\",\"attempt\":1,\"message\":\"calibrating\"}"
                    + ("FAILED".equals(state) ? ",{\"at\":\"2026-11-27T10:00:03Z\",\"stage\":\"validation\",\"state\":\"FAILED\",\"attempt\":3,\"message\":\"accuracy drop 9% over budget after 3 attempts\"}" : "");
                FakeIntake.send(exchange, 200, "application/json", "{\"jobId\":\"job-2\",\"state\":\"" + state
                    + "\",\"message\":\"accuracy drop 9% over budget after 3 attempts\",\"history\":[" + history + "]}");
            })
            .json("GET /api/jobs/job-2/report", 200, REPORT.replace("\"READY\"", "\"FAILED\"").replace("job-1", "job-2"));

        Result result = run(submitArgs("--wait", "--json"));

        assertThat(result.exitCode()).isEqualTo(ExitCodes.JOB_FAILED);
        JsonNode report = Json.MAPPER.readTree(result.out());
        assertThat(report.get("jobId").asText()).isEqualTo("job-2");
        assertThat(result.err()).contains("calibrating").contains("FAILED").contains("over budget")
            .contains("job job-2 FAILED: accuracy drop 9% over budget after 3 attempts");
        assertThat(polls.get()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void aRejectedSubmissionPrintsTheServersReasonOnOneLine() {
        intake.json("POST /api/jobs", 400, "{\"error\":\"INVALID_MODEL\",\"reason\":\"model.onnx is not an ONNX model\"}");

        Result result = run(submitArgs());

        assertThat(result.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(result.err().strip()).isEqualTo("error: model.onnx is not an ONNX model (INVALID_MODEL)");
        assertThat(result.out()).isEmpty();
    }

    @Test
    void aMissingInputFileIsAUsageError() {
        Result result = run("submit", "--url", intake.url(), "--model", tmp.resolve("nope.onnx").toString(),
            "--calib", calib.toString(), "--eval", eval.toString());

        assertThat(result.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(result.err().strip()).isEqualTo("error: --model: no such file: " + tmp.resolve("nope.onnx"));
        assertThat(intake.requests).isEmpty();
    }

    @Test
    void anUnknownJobIsOneLine() {
        Result result = run("status", "--url", intake.url(), "nope");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(result.err().strip()).isEqualTo("error: no job 'nope' at " + intake.url());
    }

    @Test
    void anUnreachableIntakeSaysHowToStartIt() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        Result result = run("status", "--url", "http://127.0.0.1:" + closedPort, "job-1");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(result.err()).startsWith("error: cannot reach quantflow at http://127.0.0.1:" + closedPort)
            .contains("quantflow up").doesNotContain("Exception\n\tat");
    }

    @Test
    void theTokenOptionOrTheRunDirsApiTokenIsSentAsABearerHeader() throws IOException {
        intake.json("GET /api/jobs/job-3", 200, "{\"jobId\":\"job-3\",\"state\":\"RUNNING\",\"history\":[]}");
        run("status", "--url", intake.url(), "--token", "tok-from-option-0123", "job-3");
        java.nio.file.Path runDir = java.nio.file.Files.createDirectories(tmp.resolve("run"));
        java.nio.file.Files.writeString(runDir.resolve("api-token"), "tok-from-run-dir-0123\n");
        run("status", "--url", intake.url(), "--run-dir", runDir.toString(), "job-3");

        assertThat(intake.requests).extracting(FakeIntake.Request::authorization)
            .containsExactly("Bearer tok-from-option-0123", "Bearer tok-from-run-dir-0123");
    }

    @Test
    void statusPrintsStateAndHistoryAndExitsOneForAFailedJob() {
        intake.json("GET /api/jobs/job-3", 200, """
            {"jobId":"job-3","name":"bert","method":"dynamic","state":"FAILED","stage":"validation","attempt":1,
             "message":"unsupported op: LayerNormalization","createdAt":"2026-11-27T10:00:00Z","updatedAt":"2026-11-27T10:01:00Z",
             "traceId":"4bf92f3577b34da6a3ce929d0e0e4736",
             "history":[{"at":"2026-11-27T10:00:00Z","stage":"intake","state":"ACCEPTED","attempt":1,"progress":null,"message":"accepted"},
                        {"at":"2026-11-27T10:01:00Z","stage":"validation","state":"FAILED","attempt":1,"progress":null,"message":"unsupported op: LayerNormalization"}]}""");

        Result result = run("status", "--url", intake.url(), "job-3");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.JOB_FAILED);
        assertThat(result.out()).contains("Job      job-3  (bert)").contains("State    FAILED")
            .contains("Message  unsupported op: LayerNormalization").contains("Trace    4bf92f3577b34da6a3ce929d0e0e4736")
            .contains("| intake     | ACCEPTED |").contains("| validation | FAILED   |");
    }

    @Test
    void reportOfAnUnfinishedJobSaysSo() {
        intake.json("GET /api/jobs/job-4/report", 409, "{\"error\":\"NOT_FINISHED\",\"reason\":\"job is RUNNING\"}");

        Result result = run("report", "--url", intake.url(), "job-4");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(result.err().strip()).isEqualTo("error: job job-4 has no report yet (it is not finished; follow it with:"
            + " quantflow status job-4)");
    }

    @Test
    void reportJsonAndHtml() throws Exception {
        intake.json("GET /api/jobs/job-1/report", 200, REPORT)
            .on("GET /api/jobs/job-1/report.html", e -> FakeIntake.send(e, 200, "text/html", "<html>report</html>"))
            .json("GET /api/jobs/job-1", 200, "{\"jobId\":\"job-1\",\"state\":\"READY\"}");

        Result json = run("report", "--url", intake.url(), "job-1", "--json");
        assertThat(json.exitCode()).isZero();
        assertThat(Json.MAPPER.readTree(json.out()).at("/fp32/accuracy").asDouble()).isEqualTo(0.912);

        Path html = tmp.resolve("report.html");
        Result toFile = run("report", "--url", intake.url(), "job-1", "--html", "-o", html.toString());
        assertThat(toFile.exitCode()).isZero();
        assertThat(html).hasContent("<html>report</html>");

        assertThat(run("report", "--url", intake.url(), "job-1", "--html", "--json").exitCode()).isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void fetchDownloadsEveryArtifactAndVerifiesSha256() throws Exception {
        byte[] modelBytes = "quantized model bytes".getBytes(StandardCharsets.UTF_8);
        byte[] reportBytes = "{\"report\":true}".getBytes(StandardCharsets.UTF_8);
        intake.on("GET /store/model", e -> FakeIntake.send(e, 200, "application/octet-stream", modelBytes))
            .on("GET /store/report", e -> FakeIntake.send(e, 200, "application/json", reportBytes))
            .json("GET /api/jobs/job-1/artifacts", 200, """
                {"artifacts":[
                  {"name":"model.int8.onnx","key":"jobs/job-1/2/export/model.int8.onnx","sha256":"%s","size":%d,"url":"%s/store/model"},
                  {"name":"../../report.json","key":"jobs/job-1/2/export/report.json","sha256":"%s","size":%d,"url":"/store/report"}]}
                """.formatted(sha256(modelBytes), modelBytes.length, intake.url(), sha256(reportBytes), reportBytes.length));
        Path out = tmp.resolve("out");

        Result result = run("fetch", "--url", intake.url(), "job-1", "-o", out.toString());

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(out.resolve("model.int8.onnx")).hasBinaryContent(modelBytes);
        assertThat(out.resolve("report.json")).hasBinaryContent(reportBytes);
        assertThat(result.out()).contains("2 artifact(s) in " + out).contains("ok " + sha256(modelBytes).substring(0, 16));
    }

    @Test
    void fetchRejectsAnArtifactWhoseHashDoesNotMatch() throws Exception {
        byte[] bytes = "tampered".getBytes(StandardCharsets.UTF_8);
        String wrong = sha256("original".getBytes(StandardCharsets.UTF_8));
        intake.on("GET /store/model", e -> FakeIntake.send(e, 200, "application/octet-stream", bytes))
            .json("GET /api/jobs/job-1/artifacts", 200, "{\"artifacts\":[{\"name\":\"model.onnx\",\"sha256\":\"" + wrong
                + "\",\"size\":8,\"url\":\"/store/model\"}]}");
        Path out = tmp.resolve("out");

        Result result = run("fetch", "--url", intake.url(), "job-1", "-o", out.toString());

        assertThat(result.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(result.err().strip()).isEqualTo("error: sha256 mismatch for model.onnx: expected " + wrong + ", got "
            + sha256(bytes) + " (file removed)");
        assertThat(out.resolve("model.onnx")).doesNotExist();
        assertThat(out.resolve("model.onnx.part")).doesNotExist();
    }

    @Test
    void aMapJobsReportShowsItsMeanIouTargetAndWhyThatMetric() throws Exception {
        String text = ReportFormatter.report(Json.MAPPER.readTree("{\"jobId\":\"j\",\"state\":\"READY\",\"meetsTarget\":true,"
            + "\"target\":{\"metric\":\"mean-iou\",\"maxRelativeDrop\":0.02,\"value\":0.9712,\"threshold\":0.98,"
            + "\"metricReason\":\"auto: one-channel map [N, 1, ?, ?] with fp32 values in [0, 1]: a probability map, mean IoU\"}}"));
        assertThat(text).contains("Meets target  yes  (mean IoU to FP32 0.9712, needs >= 0.9800)")
            .contains("Judged on     auto: one-channel map [N, 1, ?, ?] with fp32 values in [0, 1]: a probability map");
    }

    @Test
    void reportTablePrintsNaForEverythingMissing() throws Exception {
        String text = ReportFormatter.report(Json.MAPPER.readTree("{\"jobId\":\"j\",\"state\":\"FAILED\",\"fp32\":null}"));
        assertThat(text).contains("Meets target  n/a")
            .contains("Model size (MB)          |  n/a |  n/a | n/a")
            .contains("Latency batch-N p50 (ms) |  n/a |  n/a | n/a")
            .contains("Accuracy (top-1)         |  n/a |  n/a | n/a");
    }

    @Test
    void theReportSaysWhatModelPreparationChangedInOneLine() throws Exception {
        String text = ReportFormatter.report(Json.MAPPER.readTree("""
            {"jobId":"j","state":"READY","method":"static",
             "preparation":{"changed":true,"opsetFrom":9,"opsetTo":17,"nodesBefore":420,"nodesAfter":212,
               "constantsToInitializers":250,"foldedBatchNorms":35,"upgradedOps":{"Softmax":1},
               "checkedInputs":32,"maxAbsDiff":2.4e-6}}"""));
        assertThat(text).contains("Prepared      opset 9 → 17; nodes 420 → 212; 250 Constant → initializer; upgraded "
            + "{Softmax=1}; 35 BatchNormalization folded  (max |diff| 2.40e-06 on 32 inputs)");
        String asIs = ReportFormatter.report(Json.MAPPER.readTree("""
            {"jobId":"j","state":"READY","method":"static","preparation":{"changed":false,"opsetFrom":13}}"""));
        assertThat(asIs).contains("Prepared      nothing to change (opset 13)");
        assertThat(ReportFormatter.report(Json.MAPPER.readTree("{\"jobId\":\"j\"}"))).doesNotContain("Prepared");
    }

    @Test
    void theReportSaysWhichIsaTheRecipeWasMadeFor() throws Exception {
        String text = ReportFormatter.report(Json.MAPPER.readTree("""
            {"jobId":"j","state":"READY","method":"static","quantization":{"isa":{"hardwareClass":"x86-avx512-vnni",
             "weightBits":8,"headline":"recipe made for x86-avx512-vnni: 8-bit weights (VNNI), u8 activations"}}}"""));
        assertThat(text).contains("\nrecipe made for x86-avx512-vnni: 8-bit weights (VNNI), u8 activations\n");
        assertThat(ReportFormatter.report(Json.MAPPER.readTree("{\"jobId\":\"j\"}"))).doesNotContain("recipe made for");
    }

    @Test
    void aReportOfAnotherShapeIsAClearErrorNotAStackTrace() throws Exception {
        assertThatThrownBy(() -> ReportFormatter.report(Json.MAPPER.readTree("{\"jobId\":\"j\",\"attempts\":\"three\"}")))
            .isInstanceOf(CliException.class).hasMessageContaining("cannot read").hasMessageContaining("attempts");
    }

    @Test
    void llmAndQatReportTablesShowPerplexityDecodeSpeedAndTheirBaselines() throws Exception {
        String llm = ReportFormatter.report(Json.MAPPER.readTree("""
            {"jobId":"j","state":"READY","method":"gptq","llm":true,
             "fp32":{"sizeBytes":14926281,"perplexity":36.402,"decodeTokensPerSecond":100.0},
             "quantized":{"sizeBytes":3123619,"perplexity":36.436,"decodeTokensPerSecond":150.0},
             "baseline":{"perplexity":36.469}}"""));
        assertThat(llm).contains("Perplexity (held-out)").contains("36.436").contains("+0.09%")
            .contains("RTN, same bits").contains("36.469").contains("Decode batch-1 (tokens/s)").contains("+50.00%")
            .doesNotContain("Accuracy (top-1)");
        String qat = ReportFormatter.report(Json.MAPPER.readTree("""
            {"jobId":"j","state":"READY","method":"qat",
             "fp32":{"accuracy":0.9085},"quantized":{"accuracy":0.8935},"baseline":{"accuracy":0.8435}}"""));
        assertThat(qat).contains("Accuracy (top-1)").contains("PTQ, no training").contains("84.35");
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
