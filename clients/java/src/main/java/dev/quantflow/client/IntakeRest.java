package dev.quantflow.client;

import java.io.IOException;
import java.io.InputStream;
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

    /** {@code POST /api/jobs}: the new job's id. */
    String submit(Submission s) {
        JsonNode accepted = accept(s);
        String jobId = accepted.path("jobId").asText(null);
        if (jobId == null || jobId.isBlank()) {
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "intake accepted the job but sent no jobId", 0);
        }
        return jobId;
    }

    /** {@code POST /api/jobs}, multipart when the inputs are local files, JSON when they are in the store: the 202 body. */
    JsonNode accept(Submission s) {
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
        return json(sendRetrying(request.build()));
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
        try {
            return ServerSentEvents.follow(http, authorized(HttpRequest.newBuilder(base.resolve(jobPath(jobId, "/events")))), data -> {
                StatusEvent event = statusEvent(data);
                return event != null && onEvent.test(event);
            }, (status, body) -> {
                throw error(status, body);
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "interrupted", 0, e);
        }
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
        for (var field : s.options.formFields().entrySet()) {
            parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "\r\nContent-Disposition: form-data; name=\""
                + field.getKey() + "\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + field.getValue() + "\r\n", StandardCharsets.UTF_8));
        }
        parts.add(HttpRequest.BodyPublishers.ofString("--" + boundary + "--\r\n"));
        return HttpRequest.BodyPublishers.concat(parts.toArray(HttpRequest.BodyPublisher[]::new));
    }

    private static ObjectNode referenceBody(Submission s) {
        ObjectNode body = JSON.createObjectNode();
        ref(body, "model", s.model);
        ref(body, "calibration", s.calibration);
        ref(body, "validation", s.validation);
        ref(body, "tokenizer", s.tokenizer);
        ref(body, "training", s.training);
        // the options as JSON values (numbers, arrays, true), only those set
        JSON.<ObjectNode>valueToTree(s.options).properties().forEach(option -> {
            JsonNode v = option.getValue();
            boolean unset = v.isNull() || (v.isArray() && v.isEmpty()) || (v.isBoolean() && !v.booleanValue());
            if (!unset) {
                body.set(option.getKey(), v);
            }
        });
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
