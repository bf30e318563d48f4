package dev.quantflow.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.quantflow.events.ModelReady;
import dev.quantflow.events.QuantizationRequested;

class QuantflowClientTest {

    private static final String JOB = "job-1";

    private FakeIntake intake;
    private QuantflowClient client;

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws Exception {
        intake = new FakeIntake();
        client = QuantflowClient.builder().intakeUrl(intake.url() + "/").pollInterval(Duration.ofMillis(20))
            .retryDelay(Duration.ofMillis(10)).build();
    }

    @AfterEach
    void stop() {
        client.close();
        intake.close();
    }

    @Test
    void submitUploadsTheFilesAndSetOptionsAsMultipartAndReturnsTheJobId() throws Exception {
        Path model = write("model.onnx", "onnx-bytes");
        Path calib = write("calib.npz", "calib-bytes");
        Path eval = write("eval.npz", "eval-bytes");

        String jobId = client.submit(Submission.builder().model(model).calibration(calib).validation(eval)
            .name("cnn").method("static").maxRelativeDrop(0.02).excludedNodes(List.of("conv1", "fc"))
            .targetHardwareClass("x86-avx2").build());

        assertThat(jobId).isEqualTo(JOB);
        assertThat(intake.submits).hasSize(1);
        assertThat(intake.submits.get(0).contentType()).startsWith("multipart/form-data; boundary=");
        Map<String, String> fileNames = new HashMap<>();
        Map<String, String> parts = FakeIntake.parts(intake.submits.get(0), fileNames);
        assertThat(parts).containsEntry("model", "onnx-bytes").containsEntry("calibration", "calib-bytes")
            .containsEntry("validation", "eval-bytes").containsEntry("name", "cnn").containsEntry("method", "static")
            .containsEntry("maxRelativeDrop", "0.02").containsEntry("excludedNodes", "conv1,fc")
            .containsEntry("targetHardwareClass", "x86-avx2")
            .doesNotContainKeys("tokenizer", "maxAttempts", "allowRetraining");
        assertThat(fileNames).containsEntry("calibration", "calib.npz").containsEntry("model", "model.onnx");
    }

    @Test
    void storedInputsAreSubmittedAsAJsonReferenceBody() {
        client.submit(Submission.builder().model(Submission.Input.stored("", "in/model.onnx"))
            .validation(Submission.Input.stored("data", "in/eval.npz", "ab12")).maxAttempts(3).build());

        FakeIntake.Received r = intake.submits.get(0);
        assertThat(r.contentType()).isEqualTo("application/json");
        assertThat(r.text()).contains("\"model\":{\"bucket\":\"\",\"key\":\"in/model.onnx\"}")
            .contains("\"validation\":{\"bucket\":\"data\",\"key\":\"in/eval.npz\",\"sha256\":\"ab12\"}")
            .contains("\"maxAttempts\":3");
    }

    @Test
    void intakesErrorBodyBecomesATypedExceptionWithCodeAndReason() throws Exception {
        intake.submitAnswer = FakeIntake.Answer.json(422,
            "{\"error\":\"INVALID_MODEL\",\"reason\":\"model.onnx is not an ONNX model (truncated protobuf)\"}");
        Submission s = Submission.builder().model(write("model.onnx", "junk")).validation(write("eval.npz", "x")).build();

        assertThatThrownBy(() -> client.submit(s)).isInstanceOfSatisfying(QuantflowException.class, e -> {
            assertThat(e.code()).isEqualTo("INVALID_MODEL");
            assertThat(e.reason()).isEqualTo("model.onnx is not an ONNX model (truncated protobuf)");
            assertThat(e.httpStatus()).isEqualTo(422);
        });
    }

    @Test
    void aSubmitAnsweredUnavailableIsSentAgainAndARefusalIsNot() throws Exception {
        FakeIntake.Answer busy = FakeIntake.Answer.json(503,
            "{\"error\":\"STAGE_ERROR\",\"reason\":\"artifact store unreachable: Broken pipe\"}");
        intake.firstSubmitAnswers.add(busy);
        intake.firstSubmitAnswers.add(busy);
        Submission s = Submission.builder().model(write("model.onnx", "m")).validation(write("eval.npz", "e")).build();

        assertThat(client.submit(s)).isEqualTo(JOB);
        assertThat(intake.submits).hasSize(3);
        assertThat(FakeIntake.parts(intake.submits.get(2), new HashMap<>())).containsEntry("model", "m");

        intake.submits.clear();
        for (int i = 0; i < 3; i++) {
            intake.firstSubmitAnswers.add(busy);
        }
        assertThatThrownBy(() -> client.submit(s)).isInstanceOfSatisfying(QuantflowException.class, e -> {
            assertThat(e.code()).isEqualTo("STAGE_ERROR");
            assertThat(e.httpStatus()).isEqualTo(503);
        });
        assertThat(intake.submits).hasSize(1 + IntakeRest.SUBMIT_RETRIES);

        intake.submits.clear();
        intake.firstSubmitAnswers.clear();
        intake.submitAnswer = FakeIntake.Answer.json(422, "{\"error\":\"INVALID_DATASET\",\"reason\":\"not an npz\"}");
        assertThatThrownBy(() -> client.submit(s)).isInstanceOf(QuantflowException.class);
        assertThat(intake.submits).hasSize(1);
    }

    @Test
    void aMissingLocalFileIsRefusedBeforeAnythingIsSent() {
        Submission s = Submission.builder().model(tmp.resolve("absent.onnx")).build();
        assertThatThrownBy(() -> client.submit(s)).isInstanceOfSatisfying(QuantflowException.class,
            e -> assertThat(e.code()).isEqualTo(QuantflowException.INVALID_REQUEST));
        assertThat(intake.submits).isEmpty();
    }

    @Test
    void awaitModelReadyFollowsTheEventStreamAndCompletesWithTheModelReady() throws Exception {
        intake.events.put(JOB, List.of(
            event("intake", "ACCEPTED", 0, "accepted"),
            event("calibration", "RUNNING", 0.5, "batch 8/16"),
            ": not json",
            event("quantize", "STAGE_DONE", 1, "quantized"),
            event("export", "READY", 1, "model ready: model.int8.onnx")));
        intake.jobs.put(JOB, List.of(() -> FakeIntake.Answer.json(200, readyJob())));
        intake.artifactLists.put(JOB, artifacts("0123"));
        List<StatusEvent> seen = new CopyOnWriteArrayList<>();

        ModelReady ready = client.awaitModelReady(JOB, seen::add).get(10, TimeUnit.SECONDS);

        assertThat(seen).extracting(StatusEvent::stage).containsExactly("intake", "calibration", "quantize", "export");
        assertThat(seen.get(1).progress()).isEqualTo(0.5);
        assertThat(ready.getHeader().getJobId()).isEqualTo(JOB);
        assertThat(ready.getHeader().getAttempt()).isEqualTo(2);
        assertThat(ready.getHeader().getOccurredAt()).isEqualTo(java.time.Instant.parse("2026-01-01T00:00:04Z"));
        assertThat(ready.getMethod()).isEqualTo("static");
        assertThat(ready.getFp32Accuracy()).isEqualTo(0.9085);
        assertThat(ready.getQuantizedAccuracy()).isEqualTo(0.9080);
        assertThat(ready.getQuantizedSizeBytes()).isEqualTo(112_000L);
        assertThat(ready.getModel().getKey()).isEqualTo("jobs/job-1/output/model.int8.onnx");
        assertThat(ready.getModel().getBucket()).isEqualTo("quantflow");
        assertThat(ready.getModel().getSha256()).isEqualTo("0123");
        assertThat(ready.getReportHtml().getKey()).isEqualTo("jobs/job-1/output/report.html");
        assertThat(ready.getFp32Perplexity()).isNull();
    }

    @Test
    void aFailedJobCompletesTheFutureExceptionallyWithItsReasonCode() throws Exception {
        intake.events.put(JOB, List.of(event("validation", "FAILED", 1, "TARGET_MISSED: drop 4.1% > 2%")));
        intake.jobs.put(JOB, List.of(() -> FakeIntake.Answer.json(200, """
            {"jobId":"job-1","state":"FAILED","stage":"validation","attempt":4,"message":"x",
             "result":{"meetsTarget":false,"reasonCode":"TARGET_MISSED","reason":"drop 4.1% > 2% after 4 attempts",
                       "failedStage":"validation","bestEffort":true}}""")));

        var future = client.awaitModelReady(JOB);

        assertThatThrownBy(() -> future.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
            .cause().isInstanceOfSatisfying(JobFailedException.class, e -> {
                assertThat(e.code()).isEqualTo("TARGET_MISSED");
                assertThat(e.reason()).isEqualTo("drop 4.1% > 2% after 4 attempts");
                assertThat(e.stage()).isEqualTo("validation");
                assertThat(e.bestEffort()).isTrue();
                assertThat(e.event()).isEmpty();
            });
    }

    @Test
    void withoutAnEventStreamTheWaitPollsTheJobUntilItIsTerminal() throws Exception {
        String running = "{\"jobId\":\"job-1\",\"state\":\"RUNNING\",\"stage\":\"calibration\",\"attempt\":1}";
        intake.jobs.put(JOB, List.of(() -> FakeIntake.Answer.json(200, running),
            () -> FakeIntake.Answer.json(200, running), () -> FakeIntake.Answer.json(200, readyJob())));
        intake.artifactLists.put(JOB, artifacts("0123"));

        ModelReady ready = client.awaitModelReady(JOB).get(10, TimeUnit.SECONDS);

        assertThat(ready.getHeader().getJobId()).isEqualTo(JOB);
        assertThat(intake.jobCalls.get(JOB).get()).isEqualTo(3);
    }

    @Test
    void awaitingAnUnknownJobFailsWithIntakesCode() {
        var future = client.awaitModelReady("job-nope");
        assertThatThrownBy(() -> future.get(10, TimeUnit.SECONDS)).cause()
            .isInstanceOfSatisfying(QuantflowException.class, e -> {
                assertThat(e.code()).isEqualTo("UNKNOWN_JOB");
                assertThat(e.httpStatus()).isEqualTo(404);
            });
    }

    @Test
    void fetchArtifactsDownloadsEveryFileAndChecksSizeAndSha256() throws Exception {
        byte[] model = "quantized model bytes".getBytes(StandardCharsets.UTF_8);
        intake.objects.put("/quantflow/jobs/job-1/output/model.int8.onnx", model);
        intake.artifactLists.put(JOB, """
            {"jobId":"job-1","artifacts":[{"name":"model.int8.onnx","key":"jobs/job-1/output/model.int8.onnx",
             "sha256":"%s","size":%d,"url":"%s/quantflow/jobs/job-1/output/model.int8.onnx?X-Amz-Signature=abc"}]}"""
            .formatted(sha256(model), model.length, intake.url()));

        var out = client.fetchArtifacts(JOB, tmp.resolve("out"));

        assertThat(out).singleElement().satisfies(a -> {
            assertThat(a.name()).isEqualTo("model.int8.onnx");
            assertThat(a.size()).isEqualTo(model.length);
            assertThat(a.sha256()).isEqualTo(sha256(model));
        });
        assertThat(Files.readAllBytes(tmp.resolve("out/model.int8.onnx"))).isEqualTo(model);
    }

    @Test
    void aDownloadWhoseSha256DiffersIsRefusedAndLeavesNoFile() throws Exception {
        byte[] model = "quantized model bytes".getBytes(StandardCharsets.UTF_8);
        intake.objects.put("/quantflow/jobs/job-1/output/model.int8.onnx", model);
        String right = sha256(model);
        String wrong = sha256("other bytes".getBytes(StandardCharsets.UTF_8));
        intake.artifactLists.put(JOB, """
            {"jobId":"job-1","artifacts":[{"name":"model.int8.onnx","key":"jobs/job-1/output/model.int8.onnx",
             "sha256":"%s","size":%d,"url":"%s/quantflow/jobs/job-1/output/model.int8.onnx"}]}"""
            .formatted(wrong, model.length, intake.url()));

        assertThatThrownBy(() -> client.fetchArtifacts(JOB, tmp.resolve("out")))
            .isInstanceOfSatisfying(QuantflowException.class, e -> {
                assertThat(e.code()).isEqualTo(QuantflowException.CHECKSUM_MISMATCH);
                assertThat(e.reason()).contains("model.int8.onnx").contains(right).contains(wrong);
            });
        try (var files = Files.list(tmp.resolve("out"))) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void theTokenGoesToIntakeAsABearerHeaderAndNeverToDownloadLinks() throws Exception {
        byte[] model = "int8 model".getBytes(StandardCharsets.UTF_8);
        intake.objects.put("/quantflow/jobs/job-1/output/model.int8.onnx", model);
        intake.artifactLists.put(JOB, """
            {"jobId":"job-1","artifacts":[{"name":"model.int8.onnx","key":"jobs/job-1/output/model.int8.onnx",
             "sha256":"%s","size":%d,"url":"%s/quantflow/jobs/job-1/output/model.int8.onnx"}]}"""
            .formatted(sha256(model), model.length, intake.url()));
        try (QuantflowClient authed = QuantflowClient.builder().intakeUrl(intake.url()).token("tok-0123456789abcdef").build()) {
            authed.submit(Submission.builder().model(write("m.onnx", "m")).validation(write("e.npz", "e")).build());
            authed.fetchArtifacts(JOB, tmp.resolve("out"));
        }
        assertThat(intake.authorizations).contains("/api/jobs Bearer tok-0123456789abcdef",
            "/api/jobs/job-1/artifacts Bearer tok-0123456789abcdef",
            "/quantflow/jobs/job-1/output/model.int8.onnx none");
        assertThat(intake.authorizations).filteredOn(a -> a.startsWith("/api/")).allMatch(a -> a.endsWith("Bearer tok-0123456789abcdef"));
    }

    @Test
    void anArtifactNameThatLeavesTheTargetDirectoryIsRefused() {
        intake.artifactLists.put(JOB, """
            {"jobId":"job-1","artifacts":[{"name":"../evil","key":"k","sha256":"00","size":1,"url":"%s/quantflow/k"}]}"""
            .formatted(intake.url()));
        assertThatThrownBy(() -> client.fetchArtifacts(JOB, tmp.resolve("out"))).isInstanceOf(QuantflowException.class)
            .hasMessageContaining("unsafe file name");
        assertThat(tmp.resolve("evil")).doesNotExist();
    }

    @Test
    void aKafkaRequestCarriesTheStoredInputsAndOptions() {
        QuantizationRequested r = QuantflowClient.request(Submission.builder()
            .model(Submission.Input.stored("", "in/model.onnx"))
            .calibration(Submission.Input.stored("b", "in/calib.npz", "ff"))
            .validation(Submission.Input.stored("b", "in/eval.npz"))
            .name("cnn").maxRelativeDrop(0.01).profileOn(List.of("x86-avx2")).targetHardwareClass("x86-avx512-vnni")
            .build(), "job-42");

        assertThat(r.getHeader().getJobId()).isEqualTo("job-42");
        assertThat(r.getHeader().getAttempt()).isEqualTo(1);
        assertThat(r.getHeader().getProducer()).isEqualTo(QuantflowClient.PRODUCER);
        assertThat(r.getInputs().getName()).isEqualTo("cnn");
        assertThat(r.getInputs().getModel().getKey()).isEqualTo("in/model.onnx");
        assertThat(r.getInputs().getCalibration().getSha256()).isEqualTo("ff");
        assertThat(r.getInputs().getTokenizer()).isNull();
        assertThat(r.getMethod()).isEqualTo("static");
        assertThat(r.getMaxRelativeDrop()).isEqualTo(0.01);
        assertThat(r.getProfileHardwareClasses()).containsExactly("x86-avx2");
        assertThat(r.getTargetHardwareClass()).isEqualTo("x86-avx512-vnni");
    }

    @Test
    void localFilesCannotGoOverKafka() throws Exception {
        Submission s = Submission.builder().model(write("model.onnx", "x")).build();
        assertThatThrownBy(() -> QuantflowClient.request(s, "job-1")).isInstanceOfSatisfying(QuantflowException.class,
            e -> assertThat(e.code()).isEqualTo(QuantflowException.INVALID_REQUEST));
    }

    @Test
    void theBucketOfAPathStyleLinkIsItsFirstSegment() {
        assertThat(QuantflowClient.bucketOf(new Artifact("m", "jobs/j/output/m", null, 1,
            java.net.URI.create("http://s3:9000/quantflow/jobs/j/output/m?sig=1")))).isEqualTo("quantflow");
        assertThat(QuantflowClient.bucketOf(new Artifact("m", "jobs/j/output/m", null, 1,
            java.net.URI.create("http://quantflow.s3.amazonaws.com/jobs/j/output/m")))).isEmpty();
    }

    private String readyJob() {
        return """
            {"jobId":"job-1","name":"cnn","method":"static","state":"READY","stage":"export","attempt":2,
             "updatedAt":"2026-01-01T00:00:05Z",
             "result":{"meetsTarget":true,"fp32Accuracy":0.9085,"quantizedAccuracy":0.9080,"fp32SizeBytes":430000,
                       "quantizedSizeBytes":112000,"fp32LatencyMs":0.5,"quantizedLatencyMs":0.4}}""";
    }

    private String artifacts(String modelSha) {
        String base = intake.url() + "/quantflow/jobs/job-1/output/";
        return """
            {"jobId":"job-1","artifacts":[
             {"name":"model.int8.onnx","key":"jobs/job-1/output/model.int8.onnx","sha256":"%s","size":112000,"url":"%smodel.int8.onnx"},
             {"name":"report.json","key":"jobs/job-1/output/report.json","sha256":"aa","size":10,"url":"%sreport.json"},
             {"name":"report.html","key":"jobs/job-1/output/report.html","sha256":"bb","size":20,"url":"%sreport.html"}]}"""
            .formatted(modelSha, base, base, base);
    }

    private static String event(String stage, String state, double progress, String message) {
        String at = switch (stage) {
            case "intake" -> "2026-01-01T00:00:00Z";
            case "calibration" -> "2026-01-01T00:00:01Z";
            case "quantize" -> "2026-01-01T00:00:02Z";
            default -> "2026-01-01T00:00:04Z";
        };
        return "{\"jobId\":\"job-1\",\"jobState\":\"RUNNING\",\"at\":\"" + at + "\",\"stage\":\"" + stage + "\",\"state\":\""
            + state + "\",\"attempt\":2,\"progress\":" + progress + ",\"message\":\"" + message + "\"}";
    }

    private Path write(String name, String content) throws Exception {
        return Files.writeString(tmp.resolve(name), content);
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
