package dev.quantflow.intake.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.StageWiringTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Intake on a real broker and S3 server: a JSON submit of inputs already in the store starts the job with one
 * {@code CalibrationRequested}; a model that is not ONNX is refused with 422 and a reason, and no job is created.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class IntakeWiringTest extends StageWiringTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource("/api/jobs")
    URL jobs;

    HttpResponse<String> submit(ArtifactRef model, ArtifactRef calibration, ArtifactRef validation) throws Exception {
        return submit(model, calibration, validation, java.util.Map.of());
    }

    HttpResponse<String> submit(ArtifactRef model, ArtifactRef calibration, ArtifactRef validation,
                                java.util.Map<String, Object> options) throws Exception {
        String bucket = probe.store().bucket();
        java.util.Map<String, Object> fields = new java.util.HashMap<>(options);
        fields.putAll(java.util.Map.of(
            "name", "wiring",
            "method", "static",
            "model", java.util.Map.of("bucket", bucket, "key", model.getKey()),
            "calibration", java.util.Map.of("bucket", bucket, "key", calibration.getKey()),
            "validation", java.util.Map.of("bucket", bucket, "key", validation.getKey())));
        String body = JSON.writeValueAsString(fields);
        return HTTP.send(HttpRequest.newBuilder(URI.create(jobs.toString())).header("Authorization", TestTokens.bearer()).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aSubmitByReferenceIsAcceptedAndStartsCalibration() throws Exception {
        String upload = TestTokens.upload(); // only a folder for the uploaded inputs
        ArtifactRef model = probe.putInput(upload, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef calib = probe.putInput(upload, "calib.npz", Fixtures.path("fashion-cnn/calib.npz"));
        ArtifactRef eval = probe.putInput(upload, "eval.npz", Fixtures.path("fashion-cnn/eval.npz"));

        HttpResponse<String> r = submit(model, calib, eval);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        String job = JSON.readTree(r.body()).path("jobId").asText();
        assertThat(job).startsWith("test.job-");

        List<CalibrationRequested> started = probe.awaitFirst(Topics.CALIBRATION_REQUESTED, job, WAIT);
        assertThat(started).hasSize(1);
        assertThat(started.getFirst().getContext().getPlan().getMethod()).isEqualTo("static");
        assertThat(started.getFirst().getContext().getInputs().getModel().getKey()).isEqualTo(model.getKey());
        assertThat(probe.readFor(Topics.QUANTIZE_STATIC, job, QUIET)).as("static calibrates first").isEmpty();
    }

    @Test
    void metricIouIsAcceptedAndAnUnknownMetricIsRefusedWith400ListingTheValidOnes() throws Exception {
        String upload = TestTokens.upload();
        ArtifactRef model = probe.putInput(upload, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef calib = probe.putInput(upload, "calib.npz", Fixtures.path("fashion-cnn/calib.npz"));
        ArtifactRef eval = probe.putInput(upload, "eval.npz", Fixtures.path("fashion-cnn/eval.npz"));

        HttpResponse<String> accepted = submit(model, calib, eval, java.util.Map.of("metric", "iou"));
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String job = JSON.readTree(accepted.body()).path("jobId").asText();
        List<CalibrationRequested> started = probe.awaitFirst(Topics.CALIBRATION_REQUESTED, job, WAIT);
        assertThat(started.getFirst().getContext().getPlan().getMetric()).isEqualTo("iou");

        HttpResponse<String> refused = submit(model, calib, eval, java.util.Map.of("metric", "dice"));
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
        JsonNode error = JSON.readTree(refused.body());
        assertThat(error.path("error").asText()).isEqualTo("INVALID_REQUEST");
        assertThat(error.path("reason").asText()).contains("'dice'")
            .contains("auto, top1, agreement, cosine, mse, iou, perplexity");
    }

    @Test
    void aModelThatIsNotOnnxIsRefusedWithAReasonAndNothingStarts() throws Exception {
        String upload = TestTokens.upload();
        ArtifactRef model = probe.putInput(upload, "model.onnx", "not an ONNX model".getBytes());
        ArtifactRef calib = probe.putInput(upload, "calib.npz", Fixtures.path("fashion-cnn/calib.npz"));
        ArtifactRef eval = probe.putInput(upload, "eval.npz", Fixtures.path("fashion-cnn/eval.npz"));

        HttpResponse<String> r = submit(model, calib, eval);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        JsonNode error = JSON.readTree(r.body());
        assertThat(error.path("error").asText()).isEqualTo("INVALID_MODEL");
        assertThat(error.path("reason").asText()).isNotBlank().doesNotContain("\tat ", "Exception");
        assertThat(error.has("jobId")).isFalse();
    }
}
