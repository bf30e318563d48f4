package dev.quantflow.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.cli.local.LocalCluster;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreSettings;

/** What every integration test opens against a started {@link LocalCluster}, and closes again. */
final class ItCluster {

    private ItCluster() {
    }

    /**
     * Where {@code fixtures/paddleocr/fetch.sh} put the PaddleOCR models ({@code -Dtest.paddleocr.dir}, which
     * {@code ./quantflow test} passes, else the script's default cache). Without them the test is skipped with a
     * message, or fails under {@code -Dtest.require-real-models=true} (CI).
     */
    static java.nio.file.Path paddleOcrDir() {
        String dir = System.getProperty("test.paddleocr.dir", "");
        java.nio.file.Path path = dir.isBlank()
            ? java.nio.file.Path.of(System.getProperty("user.home"), ".cache", "quantflow", "paddleocr")
            : java.nio.file.Path.of(dir);
        if (!java.nio.file.Files.isRegularFile(path.resolve("ch_PP-OCRv4_det_infer.onnx"))) {
            String message = "PaddleOCR models not found in " + path + ": run fixtures/paddleocr/fetch.sh";
            if (Boolean.getBoolean("test.require-real-models")) {
                throw new AssertionError(message + " (test.require-real-models=true)");
            }
            org.junit.jupiter.api.Assumptions.abort(message);
        }
        return path;
    }

    /** Where {@code fixtures/silero/fetch.sh} put the Silero VAD models (system property test.silero.dir). */
    static java.nio.file.Path sileroDir() {
        String dir = System.getProperty("test.silero.dir", "");
        java.nio.file.Path path = dir.isBlank()
            ? java.nio.file.Path.of(System.getProperty("user.home"), ".cache", "quantflow", "silero")
            : java.nio.file.Path.of(dir);
        if (!java.nio.file.Files.isRegularFile(path.resolve("silero_vad_v5.onnx"))) {
            String message = "Silero VAD models not found in " + path + ": run fixtures/silero/fetch.sh";
            if (Boolean.getBoolean("test.require-real-models")) {
                throw new AssertionError(message + " (test.require-real-models=true)");
            }
            org.junit.jupiter.api.Assumptions.abort(message);
        }
        return path;
    }

    /** A client of the cluster's S3 server, with the credentials and bucket the services use. */
    static ArtifactStore store(LocalCluster cluster) {
        return new ArtifactStore(new StoreSettings(cluster.s3Endpoint(), LocalCluster.ACCESS_KEY, LocalCluster.SECRET_KEY,
            LocalCluster.BUCKET, null));
    }

    /** Closes what was opened, in the given order, skipping what was never opened (a failed start). */
    static void closeAll(AutoCloseable... resources) throws Exception {
        for (AutoCloseable r : resources) {
            if (r != null) {
                r.close();
            }
        }
    }

    /** The API token ITs send to intake ({@code LocalCluster#apiToken()}, tenant dev); set after the cluster started. */
    static volatile String apiToken;

    /** A GET of {@code url} with the body as text; an intake API URL gets the {@link #apiToken} as a bearer token. */
    static HttpResponse<String> get(HttpClient http, String url, Duration timeout) throws Exception {
        return get(http, url, timeout, url.contains("/api/") ? apiToken : null);
    }

    /** A GET of {@code url} with {@code token} as the bearer token (none when null). */
    static HttpResponse<String> get(HttpClient http, String url, Duration timeout, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(timeout);
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Polls intake's job view until the job is READY or FAILED, as a user's script would.
     *
     * @throws AssertionError with the last view seen, if the job is still running after {@code timeout}
     */
    static JsonNode awaitTerminal(HttpClient http, String intakeUrl, String jobId, Duration timeout) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Instant end = Instant.now().plus(timeout);
        JsonNode job = null;
        while (Instant.now().isBefore(end)) {
            HttpResponse<String> r = get(http, intakeUrl + "/api/jobs/" + jobId, Duration.ofSeconds(30));
            if (r.statusCode() == 200) {
                job = json.readTree(r.body());
                String state = job.path("state").asText();
                if (state.equals("READY") || state.equals("FAILED")) {
                    return job;
                }
            }
            Thread.sleep(500);
        }
        throw new AssertionError("job " + jobId + " did not finish in " + timeout + ": " + job);
    }
}
