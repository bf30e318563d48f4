package dev.quantflow.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Intake's REST API ({@code /api/jobs…}) over {@code java.net.http}; every non-2xx answer becomes a {@link QuantflowException}. */
final class IntakeRest {

    static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final HttpClient http;
    private final Duration requestTimeout;
    private final Duration retryDelay;
    /** Sent as {@code Authorization: Bearer} on every call to intake (never to download links); null for none. */
    private final String token;

    static final int SUBMIT_RETRIES = 2;

    IntakeRest(URI base, HttpClient http, Duration requestTimeout, Duration retryDelay) {
        this(base, http, requestTimeout, retryDelay, null);
    }

    IntakeRest(URI base, HttpClient http, Duration requestTimeout, Duration retryDelay, String token) {
        this.token = token == null || token.isBlank() ? null : token.trim();
        this.base = base;
        this.http = http;
        this.requestTimeout = requestTimeout;
        this.retryDelay = retryDelay;
    }

    URI base() {
        return base;
    }

    /** {@code POST /api/jobs}: multipart when the inputs are local files, JSON when they are in the store. */
    String submit(Submission s) {
        boolean files = s.inputs().stream().allMatch(Submission.Input::isFile);
        boolean stored = s.inputs().stream().noneMatch(Submission.Input::isFile);
        HttpRequest.Builder request = authorized(HttpRequest.newBuilder(base.resolve("/api/jobs"))).timeout(requestTimeout);
        if (files) {
            String boundary = "quantflow-" + UUID.randomUUID();
            request.header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(multipart(s, boundary));
        } else if (stored) {
            request.header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(referenceBody(s).toString()));
        } else {
            throw new QuantflowException(QuantflowException.INVALID_REQUEST,
                "give every input as a local file or every input as a stored object, not a mix", 0);
        }
        JsonNode accepted = json(sendRetrying(request.build()));
        String jobId = accepted.path("jobId").asText(null);
        if (jobId == null || jobId.isBlank()) {
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "intake accepted the job but sent no jobId", 0);
        }
        return jobId;
    }

    JsonNode job(String jobId) {
        return json(send(get(jobPath(jobId, ""))));
    }

    List<Artifact> artifacts(String jobId) {
        JsonNode body = json(send(get(jobPath(jobId, "/artifacts"))));
        List<Artifact> out = new ArrayList<>();
        for (JsonNode a : body.path("artifacts")) {
            String url = a.path("url").asText("");
            out.add(new Artifact(a.path("name").asText(), a.path("key").asText(), a.path("sha256").asText(null),
                a.path("size").asLong(-1), url.isEmpty() ? null : URI.create(url)));
        }
        return out;
    }

    /**
     * Reads {@code GET /api/jobs/{id}/events} until {@code onEvent} returns true (then true) or the stream ends or
     * drops (then false). A 4xx answer (unknown job) is thrown.
     */
    boolean followEvents(String jobId, Predicate<StatusEvent> onEvent) {
        HttpRequest request = authorized(HttpRequest.newBuilder(base.resolve(jobPath(jobId, "/events"))))
            .header("Accept", "text/event-stream").GET().build();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "interrupted", 0, e);
        }
        if (response.statusCode() >= 400 && response.statusCode() < 500) {
            throw error(response.statusCode(), readAll(response.body()));
        }
        if (response.statusCode() != 200) {
            readAll(response.body());
            return false;
        }
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            StringBuilder data = new StringBuilder();
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isEmpty()) {
                    if (!data.isEmpty() && dispatch(data, onEvent)) {
                        return true;
                    }
                } else if (line.startsWith("data:")) {
                    if (!data.isEmpty()) {
                        data.append('\n');
                    }
                    data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
                }
                // "event:", "id:", "retry:" and ":" comment lines carry nothing a job's progress needs
            }
            return !data.isEmpty() && dispatch(data, onEvent);
        } catch (IOException dropped) {
            return false;
        }
    }

    private static boolean dispatch(StringBuilder data, Predicate<StatusEvent> onEvent) {
        StatusEvent event = statusEvent(data.toString());
        data.setLength(0);
        return event != null && onEvent.test(event);
    }

    static StatusEvent statusEvent(String data) {
        try {
            return statusEvent(JSON.readTree(data));
        } catch (IOException e) {
            return null; // a keep-alive or a line that is not an event
        }
    }

    static StatusEvent statusEvent(JsonNode n) {
        String at = n.path("at").asText(null);
        return new StatusEvent(n.path("jobId").asText(null), n.path("jobState").asText(null),
            at == null ? null : parseInstant(at), n.path("stage").asText(""), n.path("state").asText(""),
            n.path("attempt").asInt(1), n.path("progress").asDouble(0), n.path("message").asText(""));
    }

    /** Intake writes instants as ISO-8601 text or as epoch seconds with a fraction. */
    static Instant parseInstant(String text) {
        try {
            return Instant.parse(text);
        } catch (RuntimeException notIso) {
            try {
                java.math.BigDecimal seconds = new java.math.BigDecimal(text);
                return Instant.ofEpochSecond(seconds.longValue(),
                    seconds.remainder(java.math.BigDecimal.ONE).movePointRight(9).longValue());
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    private HttpRequest get(String path) {
        return authorized(HttpRequest.newBuilder(base.resolve(path))).timeout(requestTimeout).GET().build();
    }

    private HttpRequest.Builder authorized(HttpRequest.Builder request) {
        return token == null ? request : request.header("Authorization", "Bearer " + token);
    }

    private static String jobPath(String jobId, String suffix) {
        if (jobId == null || !jobId.matches("[A-Za-z0-9._-]+")) {
            throw new QuantflowException(QuantflowException.INVALID_REQUEST, "not a job id: '" + jobId + "'", 0);
        }
        return "/api/jobs/" + jobId + suffix;
    }

    /**
     * A submit that intake answers 503 (its store or broker was briefly unreachable; it keeps nothing of a refused
     * submit) is sent again, twice at most, 1 s then 2 s later. Every other answer is final.
     */
    private String sendRetrying(HttpRequest request) {
        for (int attempt = 1; ; attempt++) {
            try {
                return send(request);
            } catch (QuantflowException e) {
                if (e.httpStatus() != 503 || attempt > SUBMIT_RETRIES) {
                    throw e;
                }
                try {
                    Thread.sleep(retryDelay.toMillis() * attempt);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private String send(HttpRequest request) {
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            String why = e instanceof java.net.ConnectException ? "connection refused: is it running? ('./quantflow up')"
                : e instanceof java.net.http.HttpTimeoutException ? "timed out"
                : e.getMessage() == null ? "connection failed" : e.getMessage();
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "cannot reach intake at " + base + " (" + why + ")", 0, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "interrupted", 0, e);
        }
        if (response.statusCode() / 100 != 2) {
            throw error(response.statusCode(), response.body());
        }
        return response.body();
    }

    /** Intake's {@code {"error": CODE, "reason": "…"}} body as an exception; anything else keeps the status. */
    static QuantflowException error(int status, String body) {
        try {
            JsonNode n = JSON.readTree(body);
            if (n != null && n.hasNonNull("error")) {
                return new QuantflowException(n.path("error").asText(), n.path("reason").asText(""), status);
            }
        } catch (IOException notJson) {
            // fall through
        }
        String text = body == null ? "" : body.strip();
        return new QuantflowException("HTTP_" + status, "intake answered " + status
            + (text.isEmpty() ? "" : ": " + (text.length() > 200 ? text.substring(0, 200) + "…" : text)), status);
    }

    private static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "intake answered something that is not JSON", 0, e);
        }
    }

    private static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static HttpRequest.BodyPublisher multipart(Submission s, String boundary) {
        List<HttpRequest.BodyPublisher> parts = new ArrayList<>();
        Map<String, Submission.Input> files = new LinkedHashMap<>();
        files.put("model", s.model);
        files.put("calibration", s.calibration);
        files.put("validation", s.validation);
        files.put("tokenizer", s.tokenizer);
        files.put("training", s.training);
        for (var f : files.entrySet()) {
            if (f.getValue() == null) {
                continue;
            }
            Path file = f.getValue().file();
            if (!Files.isRegularFile(file)) {
                throw new QuantflowException(QuantflowException.INVALID_REQUEST, f.getKey() + ": no such file: " + file, 0);
            }
            String fileName = file.getFileName().toString().replace("\"", "");
            parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "\r\nContent-Disposition: form-data; name=\""
                + f.getKey() + "\"; filename=\"" + fileName + "\"\r\nContent-Type: application/octet-stream\r\n\r\n"));
            try {
                parts.add(HttpRequest.BodyPublishers.ofFile(file));
            } catch (IOException e) {
                throw new QuantflowException(QuantflowException.INVALID_REQUEST, "cannot read " + file, 0, e);
            }
            parts.add(HttpRequest.BodyPublishers.ofString("\r\n"));
        }
        for (var field : fields(s).entrySet()) {
            parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "\r\nContent-Disposition: form-data; name=\""
                + field.getKey() + "\"\r\n\r\n" + field.getValue() + "\r\n", StandardCharsets.UTF_8));
        }
        parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "--\r\n"));
        return HttpRequest.BodyPublishers.concat(parts.toArray(HttpRequest.BodyPublisher[]::new));
    }

    /** The option fields of the multipart form, only those set. */
    static Map<String, String> fields(Submission s) {
        Map<String, String> f = new LinkedHashMap<>();
        put(f, "name", s.name);
        put(f, "method", s.method);
        put(f, "maxRelativeDrop", s.maxRelativeDrop);
        put(f, "maxAttempts", s.maxAttempts);
        put(f, "excludedNodes", s.excludedNodes.isEmpty() ? null : String.join(",", s.excludedNodes));
        put(f, "timeBudgetSeconds", s.timeBudgetSeconds);
        put(f, "maxSizeRatio", s.maxSizeRatio);
        put(f, "metric", s.metric);
        put(f, "metricThreshold", s.metricThreshold);
        put(f, "bits", s.bits);
        put(f, "blockSize", s.blockSize);
        put(f, "allowRetraining", s.allowRetraining ? "true" : null);
        put(f, "maxLatencyMs", s.maxLatencyMs);
        put(f, "trainingSteps", s.trainingSteps);
        put(f, "learningRate", s.learningRate);
        put(f, "profileOn", s.profileOn.isEmpty() ? null : String.join(",", s.profileOn));
        put(f, "targetHardwareClass", s.targetHardwareClass);
        return f;
    }

    private static void put(Map<String, String> f, String name, Object value) {
        if (value != null) {
            f.put(name, String.valueOf(value));
        }
    }

    private static ObjectNode referenceBody(Submission s) {
        ObjectNode body = JSON.createObjectNode();
        ref(body, "model", s.model);
        ref(body, "calibration", s.calibration);
        ref(body, "validation", s.validation);
        ref(body, "tokenizer", s.tokenizer);
        ref(body, "training", s.training);
        if (s.name != null) body.put("name", s.name);
        if (s.method != null) body.put("method", s.method);
        if (s.maxRelativeDrop != null) body.put("maxRelativeDrop", s.maxRelativeDrop);
        if (s.maxAttempts != null) body.put("maxAttempts", s.maxAttempts);
        if (!s.excludedNodes.isEmpty()) s.excludedNodes.forEach(body.putArray("excludedNodes")::add);
        if (s.timeBudgetSeconds != null) body.put("timeBudgetSeconds", s.timeBudgetSeconds);
        if (s.maxSizeRatio != null) body.put("maxSizeRatio", s.maxSizeRatio);
        if (s.metric != null) body.put("metric", s.metric);
        if (s.metricThreshold != null) body.put("metricThreshold", s.metricThreshold);
        if (s.bits != null) body.put("bits", s.bits);
        if (s.blockSize != null) body.put("blockSize", s.blockSize);
        if (s.allowRetraining) body.put("allowRetraining", true);
        if (s.maxLatencyMs != null) body.put("maxLatencyMs", s.maxLatencyMs);
        if (s.trainingSteps != null) body.put("trainingSteps", s.trainingSteps);
        if (s.learningRate != null) body.put("learningRate", s.learningRate);
        if (!s.profileOn.isEmpty()) s.profileOn.forEach(body.putArray("profileOn")::add);
        if (s.targetHardwareClass != null) body.put("targetHardwareClass", s.targetHardwareClass);
        return body;
    }

    private static void ref(ObjectNode body, String field, Submission.Input input) {
        if (input == null) {
            return;
        }
        ObjectNode r = body.putObject(field);
        r.put("bucket", input.bucket());
        r.put("key", input.key());
        if (input.sha256() != null) {
            r.put("sha256", input.sha256());
        }
    }
}
