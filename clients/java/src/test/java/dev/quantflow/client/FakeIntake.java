package dev.quantflow.client;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * An in-process stand-in for intake's {@code /api/jobs} endpoints and the store's presigned links: each test scripts
 * the answers (submit, SSE lines, job views, artifact lists, object bytes) and reads back what the client sent.
 */
final class FakeIntake implements AutoCloseable {

    /** One scripted HTTP answer. */
    record Answer(int status, String contentType, byte[] body) {
        static Answer json(int status, String body) {
            return new Answer(status, "application/json", body.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The request the client sent to {@code POST /api/jobs}. */
    record Received(String contentType, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.ISO_8859_1);
        }
    }

    private final HttpServer server;
    final List<Received> submits = new CopyOnWriteArrayList<>();
    volatile Answer submitAnswer = Answer.json(202, "{\"jobId\":\"job-1\",\"state\":\"ACCEPTED\"}");
    /** Answers of the first submits, in order, before {@link #submitAnswer}. */
    final java.util.Queue<Answer> firstSubmitAnswers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** SSE {@code data:} payloads per job; a null list answers 503 (stream unavailable). */
    final Map<String, List<String>> events = new ConcurrentHashMap<>();
    /** Successive answers of {@code GET /api/jobs/{id}}; the last one repeats. */
    final Map<String, List<Supplier<Answer>>> jobs = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> jobCalls = new ConcurrentHashMap<>();
    final Map<String, String> artifactLists = new ConcurrentHashMap<>();
    /** Object bytes by URL path ({@code /bucket/key}). */
    final Map<String, byte[]> objects = new ConcurrentHashMap<>();
    /** "path → Authorization header (or "none")" of every request, in order. */
    final List<String> authorizations = new CopyOnWriteArrayList<>();

    FakeIntake() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/api/jobs", this::jobs);
        server.createContext("/quantflow/", ex -> {
            authorizations.add(ex.getRequestURI().getPath() + " " + authorization(ex));
            byte[] bytes = objects.get(ex.getRequestURI().getPath());
            send(ex, bytes == null ? new Answer(404, "text/plain", "no such object".getBytes(StandardCharsets.UTF_8))
                : new Answer(200, "application/octet-stream", bytes));
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private static String authorization(HttpExchange ex) {
        String a = ex.getRequestHeaders().getFirst("Authorization");
        return a == null ? "none" : a;
    }

    private void jobs(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        authorizations.add(path + " " + authorization(ex));
        if ("POST".equals(ex.getRequestMethod()) && "/api/jobs".equals(path)) {
            submits.add(new Received(ex.getRequestHeaders().getFirst("Content-Type"), ex.getRequestBody().readAllBytes()));
            Answer first = firstSubmitAnswers.poll();
            send(ex, first != null ? first : submitAnswer);
            return;
        }
        String[] parts = path.substring("/api/jobs/".length()).split("/");
        String id = parts[0];
        String sub = parts.length > 1 ? parts[1] : "";
        switch (sub) {
            case "events" -> {
                List<String> lines = events.get(id);
                if (lines == null) {
                    send(ex, jobs.containsKey(id) ? Answer.json(503, "{\"error\":\"STAGE_ERROR\",\"reason\":\"busy\"}")
                        : unknown(id));
                    return;
                }
                ex.getResponseHeaders().set("Content-Type", "text/event-stream");
                ex.sendResponseHeaders(200, 0);
                try (OutputStream out = ex.getResponseBody()) {
                    for (String data : lines) {
                        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    }
                }
            }
            case "artifacts" -> {
                String list = artifactLists.get(id);
                send(ex, list == null ? unknown(id) : Answer.json(200, list));
            }
            case "" -> {
                List<Supplier<Answer>> script = jobs.get(id);
                if (script == null) {
                    send(ex, unknown(id));
                    return;
                }
                int call = jobCalls.computeIfAbsent(id, k -> new AtomicInteger()).getAndIncrement();
                send(ex, script.get(Math.min(call, script.size() - 1)).get());
            }
            default -> send(ex, Answer.json(404, "{\"error\":\"NOT_FOUND\",\"reason\":\"no route\"}"));
        }
    }

    private static Answer unknown(String id) {
        return Answer.json(404, "{\"error\":\"UNKNOWN_JOB\",\"reason\":\"no job '" + id + "'\"}");
    }

    private static void send(HttpExchange ex, Answer a) throws IOException {
        ex.getRequestBody().readAllBytes();
        ex.getResponseHeaders().set("Content-Type", a.contentType());
        ex.sendResponseHeaders(a.status(), a.body().length == 0 ? -1 : a.body().length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(a.body());
        }
    }

    /** The multipart parts of a received body: name → content (files and fields alike), filename kept in a second map. */
    static Map<String, String> parts(Received r, Map<String, String> fileNames) {
        String boundary = r.contentType().substring(r.contentType().indexOf("boundary=") + "boundary=".length());
        Map<String, String> out = new LinkedHashMap<>();
        String body = r.text();
        List<String> chunks = new ArrayList<>(List.of(body.split("--" + java.util.regex.Pattern.quote(boundary))));
        for (String chunk : chunks) {
            int headerEnd = chunk.indexOf("\r\n\r\n");
            if (headerEnd < 0) {
                continue;
            }
            String headers = chunk.substring(0, headerEnd);
            String content = chunk.substring(headerEnd + 4, chunk.length() - 2); // drop the CRLF before the boundary
            var name = java.util.regex.Pattern.compile("name=\"([^\"]*)\"").matcher(headers);
            if (!name.find()) {
                continue;
            }
            var file = java.util.regex.Pattern.compile("filename=\"([^\"]*)\"").matcher(headers);
            if (file.find()) {
                fileNames.put(name.group(1), file.group(1));
            }
            out.put(name.group(1), content);
        }
        return out;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
