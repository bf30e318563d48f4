package dev.quantflow.intake.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.StageWiringTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Bearer tokens and tenants on a real broker and S3 server: no or a bad token is 401 with a reason; tenant "other"
 * neither lists, sees, follows nor fetches tenant "test"'s job (404, as if it did not exist); a submit by reference
 * to another tenant's object, another bucket or a {@code ..} key is 403 FORBIDDEN_REFERENCE; an upload over the
 * size limit is 413 before its body is read.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class AuthAndTenantsTest extends StageWiringTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URI root;

    HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(root.resolve(path)).GET();
        if (token != null) {
            b.header("Authorization", token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> submit(String token, Map<String, Object> body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(root.resolve("/api/jobs")).header("Authorization", token)
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
            .build(), HttpResponse.BodyHandlers.ofString());
    }

    static Map<String, Object> refs(String bucket, String model, String calib, String eval) {
        return Map.of("method", "static",
            "model", Map.of("bucket", bucket, "key", model),
            "calibration", Map.of("bucket", bucket, "key", calib),
            "validation", Map.of("bucket", bucket, "key", eval));
    }

    @Test
    void withoutOrWithABadTokenTheApiAnswers401WithAReasonAndHealthStaysOpen() throws Exception {
        for (String token : new String[] {null, "Bearer not-a-configured-token-at-all", "Basic dGVzdDp0ZXN0", "Bearer "}) {
            HttpResponse<String> r = get("/api/jobs", token);
            assertThat(r.statusCode()).as("token %s: %s", token, r.body()).isEqualTo(401);
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            JsonNode error = JSON.readTree(r.body());
            assertThat(error.path("error").asText()).isEqualTo("UNAUTHENTICATED");
            assertThat(error.path("reason").asText()).contains("token");
        }
        assertThat(get("/api/jobs/test.job-x/report", null).statusCode()).isEqualTo(401);
        assertThat(get("/q/health/ready", null).statusCode()).isEqualTo(200);
        assertThat(get("/api/jobs", TestTokens.bearer()).statusCode()).isEqualTo(200);
    }

    @Test
    void anotherTenantNeitherListsNorSeesNorFetchesAJob() throws Exception {
        String bucket = probe.store().bucket();
        String prefix = "tenants/test/" + java.util.UUID.randomUUID() + "/";
        ArtifactRef model = probe.store().put(prefix + "model.onnx", Fixtures.path("fashion-cnn/model.onnx"), "application/onnx");
        ArtifactRef calib = probe.store().put(prefix + "calib.npz", Fixtures.path("fashion-cnn/calib.npz"), "application/x-npz");
        ArtifactRef eval = probe.store().put(prefix + "eval.npz", Fixtures.path("fashion-cnn/eval.npz"), "application/x-npz");

        HttpResponse<String> accepted = submit(TestTokens.bearer(), refs(bucket, model.getKey(), calib.getKey(), eval.getKey()));
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String job = JSON.readTree(accepted.body()).path("jobId").asText();
        assertThat(job).startsWith("test.job-");

        String other = "Bearer " + TestTokens.OTHER_TOKEN;
        assertThat(ids(get("/api/jobs", TestTokens.bearer()))).contains(job);
        assertThat(ids(get("/api/jobs", other))).doesNotContain(job);
        assertThat(get("/api/jobs/" + job, TestTokens.bearer()).statusCode()).isEqualTo(200);
        for (String path : List.of("", "/events", "/report", "/report.html", "/artifacts")) {
            HttpResponse<String> r = get("/api/jobs/" + job + path, other);
            assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(404);
            assertThat(r.body()).contains("UNKNOWN_JOB");
        }

        // and the other tenant cannot start a job from the first one's objects either
        HttpResponse<String> stolen = submit(other, refs(bucket, model.getKey(), calib.getKey(), eval.getKey()));
        assertThat(stolen.statusCode()).as(stolen.body()).isEqualTo(403);
        JsonNode error = JSON.readTree(stolen.body());
        assertThat(error.path("error").asText()).isEqualTo("FORBIDDEN_REFERENCE");
        assertThat(error.path("reason").asText()).contains(model.getKey()).contains("tenants/other/");
    }

    @Test
    void referencesOutsideTheTenantsPrefixAreRefusedWith403AndAReason() throws Exception {
        String bucket = probe.store().bucket();
        String own = "tenants/test/x/";
        Map<String, String> cases = Map.of(
            "jobs/other.job-1/input/model.onnx", "outside tenant test's prefix",
            "models/shared/model.onnx", "outside tenant test's prefix",
            "tenants/test/../other/model.onnx", "'..'",
            "tenants/testing/model.onnx", "outside tenant test's prefix",
            "jobs/test-2.job-1/output/model.onnx", "outside tenant test's prefix");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            HttpResponse<String> r = submit(TestTokens.bearer(), refs(bucket, c.getKey(), own + "c.npz", own + "e.npz"));
            assertThat(r.statusCode()).as(c.getKey() + ": " + r.body()).isEqualTo(403);
            assertThat(JSON.readTree(r.body()).path("reason").asText()).contains(c.getValue());
        }
        HttpResponse<String> otherBucket = submit(TestTokens.bearer(), refs("someone-elses-bucket", own + "m.onnx",
            own + "c.npz", own + "e.npz"));
        assertThat(otherBucket.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(otherBucket.body()).path("reason").asText()).contains("bucket 'someone-elses-bucket'");
        // inside the prefix the reference passes the scope check and meets the store: no such object is a 422
        HttpResponse<String> missing = submit(TestTokens.bearer(), refs(bucket, own + "m.onnx", own + "c.npz", own + "e.npz"));
        assertThat(missing.statusCode()).as(missing.body()).isEqualTo(422);
        assertThat(missing.body()).contains("ARTIFACT_MISSING");
    }

    @Test
    void anUploadOverTheLimitIs413WithAReasonBeforeTheBodyIsRead() throws Exception {
        // the test profile's limit is 32M; the request claims 64 MiB and sends none of it
        try (Socket s = new Socket(root.getHost(), root.getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /api/jobs HTTP/1.1\r\nHost: " + root.getHost() + "\r\nAuthorization: " + TestTokens.bearer()
                + "\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: " + (64L << 20) + "\r\n\r\n--b\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder answer = new StringBuilder();
            byte[] buf = new byte[4096];
            while (!answer.toString().endsWith("}")) { // the whole JSON reason, however the packets fall
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                answer.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            }
            assertThat(answer.toString()).startsWith("HTTP/1.1 413").contains("UPLOAD_TOO_LARGE").contains("64.0 MiB")
                .contains("quantflow.intake.max-upload-size");
        }
    }

    static List<String> ids(HttpResponse<String> list) throws Exception {
        assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
        List<String> out = new ArrayList<>();
        JSON.readTree(list.body()).forEach(j -> out.add(j.path("jobId").asText()));
        return out;
    }
}
