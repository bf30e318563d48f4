package dev.quantflow.intake;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.intake.rest.TestTokens;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.StageWiringTest;
import io.quarkus.test.common.http.TestHTTPResource;

/**
 * Intake's wiring tests over its REST API: inputs put in the store under a fresh upload folder, a JSON submit that
 * names them by reference, the 202's job id.
 */
public abstract class IntakeRestWiringTest extends StageWiringTest {

    protected static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource("/api/jobs")
    protected URL jobs;

    /** A job's three inputs, already in the store. */
    public record Inputs(ArtifactRef model, ArtifactRef calibration, ArtifactRef validation) {
    }

    /** {@code model} and the fashion-CNN calibration and eval sets, stored under a fresh upload folder. */
    protected static Inputs storeInputs(byte[] model) throws Exception {
        String upload = TestTokens.upload(); // a folder of the test tenant's own for the uploaded inputs
        return new Inputs(probe.putInput(upload, "model.onnx", model),
            probe.putInput(upload, "calib.npz", Fixtures.path("fashion-cnn/calib.npz")),
            probe.putInput(upload, "eval.npz", Fixtures.path("fashion-cnn/eval.npz")));
    }

    /** {@link #storeInputs(byte[])} with the model of a fixture file. */
    protected static Inputs storeInputs(Path model) throws Exception {
        return storeInputs(Files.readAllBytes(model));
    }

    /** {@code POST /api/jobs} with the inputs by reference and {@code options} (name, method, budget, …). */
    protected HttpResponse<String> submitByReference(Inputs in, Map<String, Object> options) throws Exception {
        String bucket = probe.store().bucket();
        Map<String, Object> fields = new HashMap<>(options);
        fields.putAll(Map.of(
            "model", Map.of("bucket", bucket, "key", in.model().getKey()),
            "calibration", Map.of("bucket", bucket, "key", in.calibration().getKey()),
            "validation", Map.of("bucket", bucket, "key", in.validation().getKey())));
        return HTTP.send(HttpRequest.newBuilder(URI.create(jobs.toString())).header("Authorization", TestTokens.bearer())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(fields))).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    /** The job id of a submit that intake accepted (202). */
    protected static String acceptedJobId(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return JSON.readTree(r.body()).path("jobId").asText();
    }
}
