package dev.quantflow.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The intake service's REST API as the CLI uses it ({@code /api/jobs…}). Every failure becomes a
 * {@link CliException} whose message is the server's {@code reason} or a plain description of what went wrong.
 */
public final class IntakeClient {

    private final URI base;
    private final HttpClient http;
    /** The API token sent as {@code Authorization: Bearer} to intake (never to download links); null for none. */
    private final String token;

    public IntakeClient(String baseUrl) {
        this(baseUrl, null);
    }

    public IntakeClient(String baseUrl, String token) {
        this.token = token == null || token.isBlank() ? null : token.trim();
        String trimmed = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        try {
            this.base = URI.create(trimmed);
        } catch (IllegalArgumentException e) {
            throw new CliException("not a URL: " + baseUrl);
        }
        if (base.getScheme() == null || !base.getScheme().startsWith("http")) {
            throw new CliException("not an http(s) URL: " + baseUrl);
        }
        this.http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    }

    public String baseUrl() {
        return base.toString();
    }

    /** A job to submit: three files and the optional settings (null = the server's default). */
    public record Submission(Path model, Path calibration, Path validation, String name, String method,
                             Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                             Integer timeBudgetSeconds, Double maxSizeRatio, Path tokenizer, String metric,
                             Double metricThreshold, Path training, Integer bits, Integer blockSize,
                             boolean allowRetraining, Double maxLatencyMs, Integer trainingSteps, Double learningRate,
                             List<String> profileOn, String targetHardwareClass) {

        /** A builder with only the files left to set; every setting unset means the server's default. */
        public static Builder builder() {
            return new Builder();
        }

        /** Named setters for the record's components. */
        public static final class Builder {
            private Path model;
            private Path calibration;
            private Path validation;
            private String name;
            private String method;
            private Double maxRelativeDrop;
            private Integer maxAttempts;
            private List<String> excludedNodes;
            private Integer timeBudgetSeconds;
            private Double maxSizeRatio;
            private Path tokenizer;
            private String metric;
            private Double metricThreshold;
            private Path training;
            private Integer bits;
            private Integer blockSize;
            private boolean allowRetraining;
            private Double maxLatencyMs;
            private Integer trainingSteps;
            private Double learningRate;
            private List<String> profileOn;
            private String targetHardwareClass;

            private Builder() {
            }

            public Builder model(Path value) { model = value; return this; }
            public Builder calibration(Path value) { calibration = value; return this; }
            public Builder validation(Path value) { validation = value; return this; }
            public Builder name(String value) { name = value; return this; }
            public Builder method(String value) { method = value; return this; }
            public Builder maxRelativeDrop(Double value) { maxRelativeDrop = value; return this; }
            public Builder maxAttempts(Integer value) { maxAttempts = value; return this; }
            public Builder excludedNodes(List<String> value) { excludedNodes = value; return this; }
            public Builder timeBudgetSeconds(Integer value) { timeBudgetSeconds = value; return this; }
            public Builder maxSizeRatio(Double value) { maxSizeRatio = value; return this; }
            public Builder tokenizer(Path value) { tokenizer = value; return this; }
            public Builder metric(String value) { metric = value; return this; }
            public Builder metricThreshold(Double value) { metricThreshold = value; return this; }
            public Builder training(Path value) { training = value; return this; }
            public Builder bits(Integer value) { bits = value; return this; }
            public Builder blockSize(Integer value) { blockSize = value; return this; }
            public Builder allowRetraining(boolean value) { allowRetraining = value; return this; }
            public Builder maxLatencyMs(Double value) { maxLatencyMs = value; return this; }
            public Builder trainingSteps(Integer value) { trainingSteps = value; return this; }
            public Builder learningRate(Double value) { learningRate = value; return this; }
            public Builder profileOn(List<String> value) { profileOn = value; return this; }
            public Builder targetHardwareClass(String value) { targetHardwareClass = value; return this; }

            public Submission build() {
                return new Submission(model, calibration, validation, name, method, maxRelativeDrop, maxAttempts, excludedNodes, timeBudgetSeconds, maxSizeRatio, tokenizer, metric, metricThreshold, training, bits, blockSize, allowRetraining, maxLatencyMs, trainingSteps, learningRate, profileOn, targetHardwareClass);
            }
        }
    }

    /** {@code POST /api/jobs}: returns the 202 body ({@code jobId}, {@code state}). */
    public JsonNode submit(Submission s) {
        Map<String, String> fields = new LinkedHashMap<>();
        putIfSet(fields, "name", s.name());
        putIfSet(fields, "method", s.method());
        putIfSet(fields, "maxRelativeDrop", s.maxRelativeDrop() == null ? null : s.maxRelativeDrop().toString());
        putIfSet(fields, "maxAttempts", s.maxAttempts() == null ? null : s.maxAttempts().toString());
        putIfSet(fields, "excludedNodes", s.excludedNodes() == null || s.excludedNodes().isEmpty() ? null
            : String.join(",", s.excludedNodes()));
        putIfSet(fields, "timeBudgetSeconds", s.timeBudgetSeconds() == null ? null : s.timeBudgetSeconds().toString());
        putIfSet(fields, "maxSizeRatio", s.maxSizeRatio() == null ? null : s.maxSizeRatio().toString());
        putIfSet(fields, "metric", s.metric());
        putIfSet(fields, "metricThreshold", s.metricThreshold() == null ? null : s.metricThreshold().toString());
        putIfSet(fields, "bits", s.bits() == null ? null : s.bits().toString());
        putIfSet(fields, "blockSize", s.blockSize() == null ? null : s.blockSize().toString());
        putIfSet(fields, "allowRetraining", s.allowRetraining() ? "true" : null);
        putIfSet(fields, "maxLatencyMs", s.maxLatencyMs() == null ? null : s.maxLatencyMs().toString());
        putIfSet(fields, "trainingSteps", s.trainingSteps() == null ? null : s.trainingSteps().toString());
        putIfSet(fields, "learningRate", s.learningRate() == null ? null : s.learningRate().toString());
        putIfSet(fields, "profileOn", s.profileOn() == null || s.profileOn().isEmpty() ? null : String.join(",", s.profileOn()));
        putIfSet(fields, "targetHardwareClass", s.targetHardwareClass());
        Map<String, Path> files = new LinkedHashMap<>();
        files.put("model", s.model());
        if (s.calibration() != null) {
            files.put("calibration", s.calibration());
        }
        files.put("validation", s.validation());
        if (s.tokenizer() != null) {
            files.put("tokenizer", s.tokenizer());
        }
        if (s.training() != null) {
            files.put("training", s.training());
        }

        String boundary = "quantflow-" + UUID.randomUUID();
        HttpRequest request = authorized(HttpRequest.newBuilder(resolve("/api/jobs")))
            .header("Content-Type", "multipart/form-data; boundary=" + boundary)
            .header("Accept", "application/json")
            .POST(multipart(boundary, fields, files))
            .build();
        HttpResponse<String> response = send(request, "submit the job");
        if (response.statusCode() / 100 != 2) {
            throw failure(response, "submitting the job");
        }
        return Json.parse(response.body());
    }

    /** {@code GET /api/jobs/{id}}. */
    public JsonNode job(String jobId) {
        HttpResponse<String> response = get(jobPath(jobId, ""), "application/json");
        if (response.statusCode() == 404) {
            throw unknownJob(jobId);
        }
        if (response.statusCode() != 200) {
            throw failure(response, "reading job " + jobId);
        }
        return Json.parse(response.body());
    }

    /** {@code GET /api/jobs/{id}/report}; a job that is not finished is a {@link CliException}. */
    public JsonNode report(String jobId) {
        return Json.parse(reportText(jobId, "/report", "application/json"));
    }

    /** {@code GET /api/jobs/{id}/report.html}. */
    public String reportHtml(String jobId) {
        return reportText(jobId, "/report.html", "text/html");
    }

    private String reportText(String jobId, String suffix, String accept) {
        HttpResponse<String> response = get(jobPath(jobId, suffix), accept);
        return switch (response.statusCode()) {
            case 200 -> response.body();
            case 404 -> throw unknownJob(jobId);
            case 409 -> throw new CliException("job " + jobId + " has no report yet (it is not finished; "
                + "follow it with: quantflow status " + jobId + ")");
            default -> throw failure(response, "reading the report of job " + jobId);
        };
    }

    /** {@code GET /api/jobs/{id}/artifacts}: the {@code artifacts} array. */
    public List<JsonNode> artifacts(String jobId) {
        HttpResponse<String> response = get(jobPath(jobId, "/artifacts"), "application/json");
        if (response.statusCode() == 404) {
            throw unknownJob(jobId);
        }
        if (response.statusCode() != 200) {
            throw failure(response, "listing the artifacts of job " + jobId);
        }
        List<JsonNode> list = new ArrayList<>();
        Json.parse(response.body()).path("artifacts").forEach(list::add);
        return list;
    }

    /**
     * Follows {@code GET /api/jobs/{id}/events} (server-sent events), handing each {@code data:} JSON to
     * {@code onEvent} until it returns true (a terminal state) or the stream ends. Returns whether
     * {@code onEvent} said stop; false means the stream ended or dropped first, and the caller should poll.
     */
    public boolean followEvents(String jobId, Predicate<JsonNode> onEvent) {
        HttpRequest request = authorized(HttpRequest.newBuilder(resolve(jobPath(jobId, "/events"))))
            .header("Accept", "text/event-stream")
            .GET().build();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
        if (response.statusCode() == 404) {
            drain(response.body());
            throw unknownJob(jobId);
        }
        if (response.statusCode() != 200) {
            drain(response.body());
            return false;
        }
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            StringBuilder data = new StringBuilder();
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isEmpty()) {
                    if (!data.isEmpty()) {
                        JsonNode event = parseEvent(data.toString());
                        data.setLength(0);
                        if (event != null && onEvent.test(event)) {
                            return true;
                        }
                    }
                } else if (line.startsWith("data:")) {
                    if (!data.isEmpty()) {
                        data.append('\n');
                    }
                    data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
                }
                // "event:", "id:", "retry:" and ":" comment lines carry nothing the CLI needs
            }
            if (!data.isEmpty()) {
                JsonNode event = parseEvent(data.toString());
                return event != null && onEvent.test(event);
            }
            return false;
        } catch (IOException dropped) {
            return false;
        }
    }

    private static JsonNode parseEvent(String data) {
        try {
            return Json.MAPPER.readTree(data);
        } catch (IOException e) {
            return null;
        }
    }

    /** A download's outcome: where it went, how many bytes, their sha256 (lower-case hex). */
    public record Download(Path file, long size, String sha256) {
    }

    /**
     * Downloads {@code url} (absolute, or relative to the intake URL) to {@code target}, hashing on the way. The
     * file appears only once complete (written beside it, then renamed).
     */
    public Download download(String url, Path target) {
        URI uri = resolve(url);
        HttpRequest request = HttpRequest.newBuilder(uri).GET().build();
        Path partial = target.resolveSibling(target.getFileName() + ".part");
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                String body = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
                throw new CliException("downloading " + target.getFileName() + " failed: HTTP " + response.statusCode()
                    + " " + Json.abbreviate(body));
            }
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            long size;
            try (InputStream in = new DigestInputStream(response.body(), sha);
                 OutputStream out = Files.newOutputStream(partial)) {
                size = in.transferTo(out);
            }
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return new Download(target, size, HexFormat.of().formatHex(sha.digest()));
        } catch (IOException e) {
            deleteQuietly(partial);
            throw connectionFailure(e, uri);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            deleteQuietly(partial);
            throw new CliException("interrupted");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } catch (CliException e) {
            deleteQuietly(partial);
            throw e;
        }
    }

    // ------------------------------------------------------------------------------------------------ plumbing

    private HttpResponse<String> get(String path, String accept) {
        HttpRequest request = authorized(HttpRequest.newBuilder(resolve(path))).header("Accept", accept)
            .timeout(Duration.ofSeconds(60)).GET().build();
        return send(request, "reach intake");
    }

    private HttpRequest.Builder authorized(HttpRequest.Builder request) {
        return token == null ? request : request.header("Authorization", "Bearer " + token);
    }

    private HttpResponse<String> send(HttpRequest request, String what) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw connectionFailure(e, request.uri());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted while trying to " + what);
        }
    }

    private CliException connectionFailure(IOException e, URI uri) {
        String target = uri.getScheme() + "://" + uri.getAuthority();
        if (e instanceof ConnectException || e instanceof HttpConnectTimeoutException) {
            return new CliException("cannot reach quantflow at " + target + " (" + describe(e) + "); start it with "
                + "'quantflow up', or point --url / QUANTFLOW_URL at a running intake");
        }
        if (e instanceof HttpTimeoutException) {
            return new CliException("quantflow at " + target + " did not answer in time");
        }
        return new CliException("talking to " + target + " failed: " + describe(e));
    }

    private static String describe(IOException e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** An error answer: the server's {@code reason} (and {@code error} code) when it sent the documented shape. */
    static CliException failure(HttpResponse<String> response, String doing) {
        String body = response.body();
        String reason = null;
        String code = null;
        try {
            JsonNode json = Json.MAPPER.readTree(body);
            reason = Json.text(json, "reason");
            code = Json.text(json, "error");
        } catch (IOException | RuntimeException notJson) {
            // fall back to the status line below
        }
        if (reason != null) {
            return new CliException(reason + (code != null ? " (" + code + ")" : ""));
        }
        return new CliException(doing + " failed: HTTP " + response.statusCode()
            + (body == null || body.isBlank() ? "" : " " + Json.abbreviate(body)));
    }

    private CliException unknownJob(String jobId) {
        return new CliException("no job '" + jobId + "' at " + base);
    }

    private static String jobPath(String jobId, String suffix) {
        return "/api/jobs/" + URLEncoder.encode(jobId, StandardCharsets.UTF_8).replace("+", "%20") + suffix;
    }

    private URI resolve(String pathOrUrl) {
        URI uri = URI.create(pathOrUrl);
        if (uri.isAbsolute()) {
            return uri;
        }
        String basePath = base.getPath() == null ? "" : base.getPath();
        return base.resolve(basePath + (pathOrUrl.startsWith("/") ? pathOrUrl : "/" + pathOrUrl));
    }

    private static HttpRequest.BodyPublisher multipart(String boundary, Map<String, String> fields, Map<String, Path> files) {
        List<HttpRequest.BodyPublisher> parts = new ArrayList<>();
        for (Map.Entry<String, String> field : fields.entrySet()) {
            parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"" + field.getKey() + "\"\r\n"
                + "Content-Type: text/plain; charset=UTF-8\r\n\r\n"
                + field.getValue() + "\r\n", StandardCharsets.UTF_8));
        }
        for (Map.Entry<String, Path> file : files.entrySet()) {
            String filename = file.getValue().getFileName().toString().replace("\"", "");
            parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"" + file.getKey() + "\"; filename=\"" + filename + "\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n", StandardCharsets.UTF_8));
            try {
                parts.add(HttpRequest.BodyPublishers.ofFile(file.getValue()));
            } catch (java.io.FileNotFoundException e) {
                throw new CliException("file not found: " + file.getValue());
            }
            parts.add(HttpRequest.BodyPublishers.ofString("\r\n"));
        }
        parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "--\r\n"));
        return HttpRequest.BodyPublishers.concat(parts.toArray(HttpRequest.BodyPublisher[]::new));
    }

    private static void putIfSet(Map<String, String> map, String key, String value) {
        if (value != null && !value.isBlank()) {
            map.put(key, value);
        }
    }

    private static void drain(InputStream in) {
        try (in) {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException ignored) {
            // nothing to salvage from an error body we do not read
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a leftover .part file is harmless
        }
    }
}
