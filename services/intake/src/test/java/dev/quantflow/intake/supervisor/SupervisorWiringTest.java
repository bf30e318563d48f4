package dev.quantflow.intake.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobFailed;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.intake.rest.TestTokens;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.StageWiringTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The supervisor inside intake on a real broker and S3 server: a job with a 2 s budget and no calibration worker to
 * pick it up fails with DEADLINE_EXCEEDED, and its failed marker is in the store for every stage to see.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class SupervisorWiringTest extends StageWiringTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @TestHTTPResource("/api/jobs")
    URL jobs;

    @Test
    void aJobPastItsTimeBudgetFailsWithDeadlineExceeded() throws Exception {
        String upload = TestTokens.upload();
        ArtifactRef model = probe.putInput(upload, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef calib = probe.putInput(upload, "calib.npz", Fixtures.path("fashion-cnn/calib.npz"));
        ArtifactRef eval = probe.putInput(upload, "eval.npz", Fixtures.path("fashion-cnn/eval.npz"));
        String bucket = probe.store().bucket();
        String body = JSON.writeValueAsString(Map.of(
            "method", "static",
            "timeBudgetSeconds", 2,
            "model", Map.of("bucket", bucket, "key", model.getKey()),
            "calibration", Map.of("bucket", bucket, "key", calib.getKey()),
            "validation", Map.of("bucket", bucket, "key", eval.getKey())));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(jobs.toString()))
            .header("Authorization", TestTokens.bearer()).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        String job = JSON.readTree(r.body()).path("jobId").asText();

        // nothing consumes the calibration request here: the job waits after intake until its deadline
        JobFailed f = assertJobFailed(job, ReasonCodes.DEADLINE_EXCEEDED, Stages.INTAKE, Topics.QUANTIZE_STATIC);
        assertThat(f.getReason()).contains("past its time budget", "waiting for the next stage's worker");
        assertThat(probe.store().exists(ArtifactKeys.failedMarker(job))).isTrue();
    }
}
