package dev.quantflow.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.ModelReady;
import dev.quantflow.events.QuantizationRequested;

/**
 * A client of a quantflow installation: submit a job, await its {@link ModelReady}, fetch its artifacts.
 *
 * <pre>{@code
 * try (QuantflowClient qf = QuantflowClient.builder().intakeUrl("http://127.0.0.1:8080").build()) {
 *     String jobId = qf.submit(Submission.builder().model(model).calibration(calib).validation(eval).build());
 *     ModelReady ready = qf.awaitModelReady(jobId).get(30, TimeUnit.MINUTES);
 *     qf.fetchArtifacts(jobId, Path.of("out"));
 * }
 * }</pre>
 *
 * <p>With {@link Transport#REST} (the default) a submission is a multipart upload (or a JSON body for inputs already in
 * the store) and the wait follows intake's server-sent events. With {@link Transport#KAFKA} a submission is a
 * {@code QuantizationRequested} on {@code quantflow.requests} (inputs must be in the store) and the wait reads
 * {@code quantflow.models.ready} / {@code quantflow.jobs.failed}. Downloads always use intake's presigned links.
 */
public final class QuantflowClient implements AutoCloseable {

    /** How jobs are submitted and awaited. */
    public enum Transport { REST, KAFKA }

    static final String PRODUCER = "quantflow-client";

    private final IntakeRest rest;
    private final HttpClient http;
    private final KafkaEvents kafka;
    private final Transport transport;
    private final Duration pollInterval;
    private final String tenant;
    private final ExecutorService waiters = Executors.newThreadPerTaskExecutor(
        Thread.ofVirtual().name("quantflow-await-", 0).factory());

    private QuantflowClient(Builder b) {
        this.http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(b.connectTimeout)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
        this.rest = new IntakeRest(b.intakeUrl, http, b.requestTimeout, b.retryDelay, b.token);
        this.tenant = b.tenant;
        this.kafka = b.kafkaBootstrapServers == null ? null : new KafkaEvents(b.kafkaBootstrapServers);
        this.transport = b.transport;
        this.pollInterval = b.pollInterval;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Transport transport() {
        return transport;
    }

    /**
     * Starts a job and returns its id. REST: intake validates the inputs first and a refusal is a
     * {@link QuantflowException} with intake's code ({@code INVALID_MODEL}, {@code DATASET_MISMATCH}, …); a 503
     * (intake's store or broker briefly unreachable, nothing kept) is retried twice before it is thrown. Kafka: the
     * request is published and validated by intake afterwards; a refusal arrives as the job's {@code JobFailed}.
     */
    public String submit(Submission submission) {
        Objects.requireNonNull(submission, "submission");
        if (transport == Transport.REST) {
            return rest.submit(submission);
        }
        // the job id names the tenant; intake starts it only for a configured tenant and inputs under its prefix
        QuantizationRequested request = request(submission, tenant + ".job-" + UUID.randomUUID());
        kafka.publish(request);
        return request.getHeader().getJobId();
    }

    /**
     * As {@link #submit(Submission)} over REST whatever the transport, returning intake's whole 202 answer as it came
     * ({@code jobId}, {@code state}, the {@code message} that states the budget); the CLI prints it.
     */
    public JsonNode submitForAnswer(Submission submission) {
        return rest.accept(Objects.requireNonNull(submission, "submission"));
    }

    /**
     * The job's {@code ModelReady}; completes exceptionally with a {@link JobFailedException} (code = the job's reason
     * code) when it fails, or a {@link QuantflowException} when the job is unknown or the outcome cannot be read.
     * Cancelling the future stops the wait (over REST at the next status event or poll). Bound the wait with {@code orTimeout} or {@code get(timeout, unit)}.
     *
     * <p>Over Kafka the future holds the event as the exporter wrote it. Over REST it is rebuilt from intake's
     * answers ({@code GET /api/jobs/{id}} and {@code …/artifacts}): the header has the job id, the attempt and the
     * time of the READY status, {@code eventId} is empty and {@code producer} is {@code intake}; the perplexities are
     * not in intake's job view and stay null; the manifest reference has no sha256.
     */
    public CompletableFuture<ModelReady> awaitModelReady(String jobId) {
        return awaitModelReady(jobId, e -> { });
    }

    /** As {@link #awaitModelReady(String)}; over REST also hands every status event to {@code progress}. */
    public CompletableFuture<ModelReady> awaitModelReady(String jobId, Consumer<StatusEvent> progress) {
        CompletableFuture<ModelReady> future = new CompletableFuture<>();
        waiters.execute(() -> {
            try {
                if (transport == Transport.KAFKA) {
                    kafka.awaitOutcome(jobId, future);
                } else {
                    awaitOverRest(jobId, progress, future);
                }
            } catch (QuantflowException e) {
                future.completeExceptionally(e);
            } catch (RuntimeException e) {
                future.completeExceptionally(new QuantflowException(QuantflowException.UNAVAILABLE,
                    "waiting for " + jobId + " failed: " + e.getMessage(), 0, e));
            }
        });
        return future;
    }

    /** The job's output files and their presigned links ({@code GET /api/jobs/{id}/artifacts}; 409 while it runs). */
    public List<Artifact> artifacts(String jobId) {
        return rest.artifacts(jobId);
    }

    /**
     * Downloads every output file of a finished job into {@code dir} and checks each file's size and sha256 against
     * intake's list. A mismatch deletes the partial file and throws {@link QuantflowException#CHECKSUM_MISMATCH}.
     */
    public List<DownloadedArtifact> fetchArtifacts(String jobId, Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new QuantflowException(QuantflowException.INVALID_REQUEST, "cannot create " + dir + ": " + e.getMessage(), 0, e);
        }
        List<DownloadedArtifact> out = new ArrayList<>();
        for (Artifact a : rest.artifacts(jobId)) {
            out.add(download(a, dir));
        }
        return out;
    }

    private DownloadedArtifact download(Artifact a, Path dir) {
        if (a.name() == null || a.name().isBlank() || a.name().contains("/") || a.name().contains("\\")
            || a.name().startsWith(".")) {
            throw new QuantflowException(QuantflowException.CHECKSUM_MISMATCH, "intake listed an artifact with an unsafe file name '"
                + a.name() + "'", 0);
        }
        if (a.url() == null) {
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "intake listed " + a.name() + " without a link", 0);
        }
        Path target = dir.resolve(a.name());
        Path partial = dir.resolve(a.name() + ".part");
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long size;
        try {
            HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(a.url()).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                response.body().close();
                throw new QuantflowException(QuantflowException.UNAVAILABLE, "download of " + a.name() + " answered "
                    + response.statusCode() + " (the link may have expired: list the artifacts again)", response.statusCode());
            }
            try (InputStream in = new DigestInputStream(response.body(), sha); OutputStream o = Files.newOutputStream(partial)) {
                size = in.transferTo(o);
            }
        } catch (IOException e) {
            deleteQuietly(partial);
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "download of " + a.name() + " failed: " + e.getMessage(), 0, e);
        } catch (InterruptedException e) {
            deleteQuietly(partial);
            Thread.currentThread().interrupt();
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "interrupted", 0, e);
        }
        String hex = HexFormat.of().formatHex(sha.digest());
        if ((a.size() >= 0 && size != a.size()) || (a.sha256() != null && !a.sha256().equalsIgnoreCase(hex))) {
            deleteQuietly(partial);
            throw new QuantflowException(QuantflowException.CHECKSUM_MISMATCH, a.name() + ": got " + size + " bytes with sha256 "
                + hex + ", intake announced " + a.size() + " bytes with sha256 " + a.sha256(), 0);
        }
        try {
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new QuantflowException(QuantflowException.UNAVAILABLE, "cannot write " + target + ": " + e.getMessage(), 0, e);
        }
        return new DownloadedArtifact(a.name(), target, size, hex);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the caller gets the real error
        }
    }

    /**
     * Follows the SSE stream to a terminal state; where it cannot be opened or drops early, polls the job resource.
     * Either way the outcome is read from {@code GET /api/jobs/{id}}, which is the projection's final word.
     */
    private void awaitOverRest(String jobId, Consumer<StatusEvent> progress, CompletableFuture<ModelReady> future) {
        Instant[] readyAt = {null};
        rest.followEvents(jobId, event -> {
            progress.accept(event);
            if ("READY".equals(event.state())) {
                readyAt[0] = event.at();
            }
            return event.terminal() || future.isDone();
        });
        while (!future.isDone()) {
            JsonNode job = rest.job(jobId);
            String state = job.path("state").asText();
            if ("READY".equals(state)) {
                future.complete(modelReadyFromRest(jobId, job, readyAt[0]));
                return;
            }
            if ("FAILED".equals(state)) {
                JsonNode r = job.path("result");
                future.completeExceptionally(new JobFailedException(jobId, r.path("reasonCode").asText("FAILED"),
                    r.path("reason").asText(job.path("message").asText("")), r.path("failedStage").asText(job.path("stage").asText("")),
                    r.path("bestEffort").asBoolean(false), null));
                return;
            }
            try {
                Thread.sleep(pollInterval.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private ModelReady modelReadyFromRest(String jobId, JsonNode job, Instant readyAt) {
        List<Artifact> artifacts = rest.artifacts(jobId);
        Artifact model = artifacts.stream().filter(a -> a.name().endsWith(".onnx")).findFirst()
            .orElseThrow(() -> new QuantflowException(QuantflowException.UNAVAILABLE, "job " + jobId
                + " is READY but intake lists no .onnx artifact", 0));
        Artifact report = named(artifacts, "report.json", jobId);
        Artifact html = named(artifacts, "report.html", jobId);
        String bucket = bucketOf(model);
        Instant at = readyAt != null ? readyAt : IntakeRest.parseInstant(job.path("updatedAt").asText(""));
        JsonNode r = job.path("result");
        return ModelReady.newBuilder()
            .setHeader(EventHeader.newBuilder()
                .setEventId("")
                .setJobId(jobId)
                .setAttempt(job.path("attempt").asInt(1))
                .setOccurredAt(at != null ? at : Instant.now())
                .setProducer("intake")
                .setProducerVersion("")
                .build())
            .setName(job.path("name").asText(""))
            .setMethod(job.path("method").asText(""))
            .setMeetsTarget(r.path("meetsTarget").asBoolean(true))
            .setModel(ref(bucket, model, "application/onnx"))
            .setReport(ref(bucket, report, "application/json"))
            .setReportHtml(ref(bucket, html, "text/html"))
            .setManifest(ArtifactRef.newBuilder().setBucket(bucket).setKey("jobs/" + jobId + "/output/manifest.json")
                .setSha256(null).setSize(-1).setMediaType("application/json").build())
            .setFp32Accuracy(doubleOrNull(r, "fp32Accuracy"))
            .setQuantizedAccuracy(doubleOrNull(r, "quantizedAccuracy"))
            .setFp32SizeBytes(r.path("fp32SizeBytes").asLong(-1))
            .setQuantizedSizeBytes(r.path("quantizedSizeBytes").asLong(model.size()))
            .setFp32LatencyMs(doubleOrNull(r, "fp32LatencyMs"))
            .setQuantizedLatencyMs(doubleOrNull(r, "quantizedLatencyMs"))
            .build();
    }

    private static Artifact named(List<Artifact> artifacts, String name, String jobId) {
        return artifacts.stream().filter(a -> name.equals(a.name())).findFirst()
            .orElseThrow(() -> new QuantflowException(QuantflowException.UNAVAILABLE, "job " + jobId
                + " is READY but intake lists no " + name, 0));
    }

    /** A path-style presigned link is {@code /<bucket>/<key>}; anything else leaves the bucket unknown (empty). */
    static String bucketOf(Artifact a) {
        String path = a.url() == null ? null : a.url().getPath();
        String suffix = "/" + a.key();
        if (path != null && path.endsWith(suffix) && path.length() > suffix.length() + 1) {
            String bucket = path.substring(1, path.length() - suffix.length());
            return bucket.contains("/") ? "" : bucket;
        }
        return "";
    }

    private static ArtifactRef ref(String bucket, Artifact a, String mediaType) {
        return ArtifactRef.newBuilder().setBucket(bucket).setKey(a.key()).setSha256(a.sha256()).setSize(a.size())
            .setMediaType(mediaType).build();
    }

    private static Double doubleOrNull(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asDouble();
    }

    /** The Kafka request of a submission whose inputs are in the store. */
    static QuantizationRequested request(Submission s, String jobId) {
        if (s.inputs().stream().anyMatch(Submission.Input::isFile)) {
            throw new QuantflowException(QuantflowException.INVALID_REQUEST, "a Kafka submission takes inputs already in "
                + "the artifact store (Submission.Input.stored); upload local files with Transport.REST", 0);
        }
        return QuantizationRequested.newBuilder()
            .setHeader(EventHeader.newBuilder()
                .setEventId(UUID.randomUUID().toString())
                .setJobId(jobId)
                .setAttempt(1)
                .setOccurredAt(Instant.now())
                .setProducer(PRODUCER)
                .setProducerVersion(version())
                .build())
            .setInputs(JobInputs.newBuilder()
                .setName(s.options.name() == null ? "" : s.options.name())
                .setModel(storedRef(s.model))
                .setCalibration(storedRef(s.calibration))
                .setValidation(storedRef(s.validation))
                .setTokenizer(storedRef(s.tokenizer))
                .setTraining(storedRef(s.training))
                .build())
            .setMethod(s.options.method() == null ? "static" : s.options.method())
            .setMaxRelativeDrop(s.options.maxRelativeDrop())
            .setMaxAttempts(s.options.maxAttempts())
            .setExcludedNodes(s.options.excludedNodes())
            .setTimeBudgetSeconds(s.options.timeBudgetSeconds())
            .setMaxSizeRatio(s.options.maxSizeRatio())
            .setMetric(s.options.metric())
            .setMetricThreshold(s.options.metricThreshold())
            .setBits(s.options.bits())
            .setBlockSize(s.options.blockSize())
            .setAllowRetraining(s.options.allowRetraining())
            .setMaxLatencyMs(s.options.maxLatencyMs())
            .setTrainingSteps(s.options.trainingSteps())
            .setLearningRate(s.options.learningRate())
            .setProfileHardwareClasses(s.options.profileOn())
            .setTargetHardwareClass(s.options.targetHardwareClass() == null ? "" : s.options.targetHardwareClass())
            .build();
    }

    private static ArtifactRef storedRef(Submission.Input input) {
        if (input == null) {
            return null;
        }
        return ArtifactRef.newBuilder().setBucket(input.bucket()).setKey(input.key()).setSha256(input.sha256())
            .setSize(-1).setMediaType("application/octet-stream").build();
    }

    private static String version() {
        String v = QuantflowClient.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** Stops running waits (their futures stay incomplete) and closes the Kafka producer. */
    @Override
    public void close() {
        waiters.shutdownNow();
        if (kafka != null) {
            kafka.close();
        }
    }

    public static final class Builder {
        private URI intakeUrl = URI.create("http://127.0.0.1:8080");
        private String kafkaBootstrapServers;
        private Transport transport = Transport.REST;
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration requestTimeout = Duration.ofMinutes(5);
        private Duration pollInterval = Duration.ofSeconds(1);
        private Duration retryDelay = Duration.ofSeconds(1);
        private String token = System.getenv("QUANTFLOW_TOKEN");
        private String tenant = envOr("QUANTFLOW_TENANT", "dev");

        private Builder() {
        }

        private static String envOr(String name, String fallback) {
            String v = System.getenv(name);
            return v == null || v.isBlank() ? fallback : v;
        }

        /**
         * The API token intake knows the caller's tenant by (sent as {@code Authorization: Bearer}); default env
         * {@code QUANTFLOW_TOKEN}. {@code ./quantflow up} writes a local one to {@code .quantflow/api-token}.
         */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /**
         * The tenant that {@link Transport#KAFKA} submits for (job ids are {@code <tenant>.job-<uuid>}); default env
         * {@code QUANTFLOW_TENANT}, else {@code dev} (the local cluster's). REST submits take the token's tenant.
         */
        public Builder tenant(String tenant) {
            if (tenant == null || !tenant.matches("[a-z0-9][a-z0-9-]{0,31}")) {
                throw new IllegalArgumentException("a tenant is 1 to 32 lower-case letters, digits or dashes, was '" + tenant + "'");
            }
            this.tenant = tenant;
            return this;
        }

        /** Intake's base URL (default {@code http://127.0.0.1:8080}, what {@code ./quantflow up} starts). */
        public Builder intakeUrl(String url) {
            String trimmed = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
            URI uri = URI.create(trimmed);
            if (uri.getScheme() == null || !uri.getScheme().startsWith("http") || uri.getHost() == null) {
                throw new IllegalArgumentException("intake URL must be http(s)://host[:port], was '" + url + "'");
            }
            this.intakeUrl = uri;
            return this;
        }

        /** Kafka bootstrap servers, e.g. {@code 127.0.0.1:9092}; needed by {@link Transport#KAFKA}. */
        public Builder kafkaBootstrapServers(String servers) {
            this.kafkaBootstrapServers = servers == null || servers.isBlank() ? null : servers;
            return this;
        }

        public Builder transport(Transport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        public Builder connectTimeout(Duration d) {
            this.connectTimeout = d;
            return this;
        }

        /** Limit of one REST call (an upload of a large model included); default 5 min. */
        public Builder requestTimeout(Duration d) {
            this.requestTimeout = d;
            return this;
        }

        /** How often a REST wait polls the job when the event stream is not available; default 1 s. */
        public Builder pollInterval(Duration d) {
            this.pollInterval = d;
            return this;
        }

        /** First pause before a REST submit answered 503 is sent again (then twice as long; two retries). Default 1 s. */
        public Builder retryDelay(Duration d) {
            this.retryDelay = d;
            return this;
        }

        public QuantflowClient build() {
            if (transport == Transport.KAFKA && kafkaBootstrapServers == null) {
                throw new IllegalArgumentException("Transport.KAFKA needs kafkaBootstrapServers");
            }
            return new QuantflowClient(this);
        }
    }
}
