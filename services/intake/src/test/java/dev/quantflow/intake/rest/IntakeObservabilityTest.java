package dev.quantflow.intake.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.GrafanaDashboard;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.StageWiringTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Intake's API document and metrics: {@code /q/openapi} describes every endpoint of the README's REST table with a
 * summary and its error codes, Swagger UI is served, and {@code /q/metrics} counts submissions and refusals by
 * reason code (every intake metric the Grafana dashboard queries exists).
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class IntakeObservabilityTest extends StageWiringTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();
    /** A row of the README's REST table: {@code | `GET /api/jobs/{id}/report`, `…/report.html` | …}. */
    static final Pattern ROW = Pattern.compile("^\\| `(GET|POST) (/api/jobs\\S*?)`(.*?)\\|");
    static final Pattern SIBLING = Pattern.compile("`…/(\\S+?)`");

    @TestHTTPResource("/")
    URI root;

    HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(root.resolve(path)).header("Authorization", TestTokens.bearer()).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** "METHOD path" of every endpoint in the README's REST table. */
    static Set<String> readmeEndpoints() throws Exception {
        Path readme = GrafanaDashboard.locate().getParent().getParent().getParent().resolve("README.md");
        Set<String> out = new LinkedHashSet<>();
        for (String line : Files.readAllLines(readme)) {
            Matcher m = ROW.matcher(line);
            if (m.find()) {
                String path = m.group(2);
                out.add(m.group(1) + " " + path);
                Matcher s = SIBLING.matcher(m.group(3));
                while (s.find()) {
                    out.add(m.group(1) + " " + path.substring(0, path.lastIndexOf('/') + 1) + s.group(1));
                }
            }
        }
        return out;
    }

    @Test
    void theOpenApiDocumentDescribesEveryEndpointOfTheReadmeTable() throws Exception {
        Set<String> readme = readmeEndpoints();
        assertThat(readme).contains("POST /api/jobs", "GET /api/jobs/{id}", "GET /api/jobs/{id}/events",
            "GET /api/jobs/{id}/report", "GET /api/jobs/{id}/report.html", "GET /api/jobs/{id}/artifacts");

        HttpResponse<String> r = get("/q/openapi?format=json");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode paths = JSON.readTree(r.body()).path("paths");
        for (String endpoint : readme) {
            String[] mp = endpoint.split(" ");
            JsonNode op = paths.path(mp[1]).path(mp[0].toLowerCase(java.util.Locale.ROOT));
            assertThat(op.isMissingNode()).as("%s in /q/openapi (paths: %s)", endpoint, paths.fieldNames()).isFalse();
            assertThat(op.path("summary").asText()).as("summary of %s", endpoint).isNotBlank();
            // the list and the submits name no job: no 404
            assertThat(op.path("responses").has("404") || mp[1].equals("/api/jobs")).as("404 of %s", endpoint).isTrue();
        }
        JsonNode submit = paths.path("/api/jobs").path("post").path("responses");
        assertThat(submit.has("202") && submit.has("400") && submit.has("422") && submit.has("503")).as(submit.toString()).isTrue();
        assertThat(paths.path("/api/jobs/{id}/report").path("get").path("responses").has("409")).isTrue();
        assertThat(submit.has("401") && submit.has("403") && submit.has("413")).as(submit.toString()).isTrue();
        assertThat(paths.path("/api/jobs").path("get").path("responses").has("401")).isTrue();
    }

    @Test
    void swaggerUiIsServed() throws Exception {
        HttpResponse<String> r = get("/q/swagger-ui/");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).containsIgnoringCase("swagger");
    }

    @Test
    void submissionsAndRefusalsAreCountedByReasonCode() throws Exception {
        String upload = TestTokens.upload();
        ArtifactRef model = probe.putInput(upload, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef notOnnx = probe.putInput(upload, "bad.onnx", "not an ONNX model".getBytes());
        ArtifactRef eval = probe.putInput(upload, "eval.npz", Fixtures.path("fashion-cnn/eval.npz"));
        String submitted = "quantflow_intake_jobs_total{outcome=\"submitted\",reason=\"none\"}";
        String refused = "quantflow_intake_jobs_total{outcome=\"refused\",reason=\"INVALID_MODEL\"}";
        String before = scrape();

        HttpResponse<String> ok = submit(model, eval);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(202);
        probe.awaitFirst(Topics.CALIBRATION_REQUESTED, JSON.readTree(ok.body()).path("jobId").asText(), WAIT);
        assertThat(submit(notOnnx, eval).statusCode()).isEqualTo(422);

        String after = scrape();
        assertThat(value(after, submitted) - value(before, submitted)).isEqualTo(1.0);
        assertThat(value(after, refused) - value(before, refused)).isEqualTo(1.0);

        Set<String> queried = new TreeSet<>(GrafanaDashboard.metricNames(GrafanaDashboard.locate()));
        queried.removeIf(n -> !n.startsWith("quantflow_intake_"));
        assertThat(queried).isNotEmpty();
        assertThat(GrafanaDashboard.scrapedNames(after)).containsAll(queried);
    }

    HttpResponse<String> submit(ArtifactRef model, ArtifactRef validation) throws Exception {
        String bucket = probe.store().bucket();
        String body = JSON.writeValueAsString(Map.of("method", "dynamic",
            "model", Map.of("bucket", bucket, "key", model.getKey()),
            "validation", Map.of("bucket", bucket, "key", validation.getKey())));
        return HTTP.send(HttpRequest.newBuilder(root.resolve("/api/jobs")).header("Authorization", TestTokens.bearer()).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    String scrape() throws Exception {
        HttpResponse<String> r = get("/q/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /** The sample's value, 0 when the series does not exist yet. */
    static double value(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
            }
        }
        return 0;
    }
}
