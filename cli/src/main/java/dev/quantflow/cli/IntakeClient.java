package dev.quantflow.cli;

import java.io.IOException;
import java.io.InputStream;
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
import java.util.List;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;

import dev.quantflow.client.QuantflowClient;
import dev.quantflow.client.QuantflowException;
import dev.quantflow.client.ServerSentEvents;
import dev.quantflow.client.Submission;

/**
 * The intake service's REST API as the CLI uses it ({@code /api/jobs…}). Every failure becomes a
 * {@link CliException} whose message is the server's {@code reason} or a plain description of what went wrong.
 */
public final class IntakeClient {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** An upload of a large model and its data may take long; intake answers as soon as it has checked them. */
    private static final Duration UPLOAD_TIMEOUT = Duration.ofMinutes(30);

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
            .connectTimeout(CONNECT_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    }

    public String baseUrl() {
        return base.toString();
    }

    /**
     * {@code POST /api/jobs} through the Java client (its multipart encoder, its retry of a 503): returns the 202 body
     * ({@code jobId}, {@code state}, the budget {@code message}).
     */
    public JsonNode submit(Submission s) {
        try (QuantflowClient client = QuantflowClient.builder().intakeUrl(base.toString())
                 .token(token).connectTimeout(CONNECT_TIMEOUT).requestTimeout(UPLOAD_TIMEOUT).build()) {
            return client.submitForAnswer(s);
        } catch (QuantflowException e) {
            throw failure(e);
        }
    }

    /** The client's refusal as the CLI words it: intake's reason and code, or how to reach intake. */
    private CliException failure(QuantflowException e) {
        if (e.getCause() instanceof IOException io) {
            return connectionFailure(io, base);
        }
        if (e.httpStatus() > 0 && !e.reason().isBlank() && !e.code().startsWith("HTTP_")) {
            return new CliException(e.reason() + " (" + e.code() + ")");
        }
        return new CliException(e.reason().isBlank() ? e.getMessage() : e.reason());
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
        try {
            return ServerSentEvents.follow(http, authorized(HttpRequest.newBuilder(resolve(jobPath(jobId, "/events")))), data -> {
                JsonNode event = parseEvent(data);
                return event != null && onEvent.test(event);
            }, (status, body) -> {
                if (status == 404) {
                    throw unknownJob(jobId);
                }
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
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

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a leftover .part file is harmless
        }
    }
}
