package dev.quantflow.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.cli.local.LocalCluster;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.ModelReady;
import dev.quantflow.events.QuantizationRequested;
import dev.quantflow.pipeline.AvroCodec;
import dev.quantflow.pipeline.EventHeaders;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.npz.NpzWriter;

/**
 * A quantizer pool of three processes (the FP16 cast pool: no calibration stage, so the pool is the only slow part)
 * in its own cluster, separate from {@link PipelineIT}: long jobs past the consumer's poll-interval limit, jobs spread
 * over the pool, a process SIGKILLed mid-job, one frozen (SIGSTOP) past the session timeout, one stopped with SIGTERM
 * mid-job; and an exporter halted between publishing model-ready and committing (fault injection), in a pool of two.
 *
 * <p>Every cast job is made to last {@link #MIN_JOB} with the off-by-default
 * {@code quantflow.worker.min-job-duration} knob (the real handler runs, then the work thread waits, outputs
 * published and offset uncommitted), longer than the pool's {@code max.poll.interval.ms} of {@link #MAX_POLL_INTERVAL}.
 * The evidence comes from outside the processes: Kafka topics, stored objects, each process's log and health data.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ScalingIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Path ROOT = Path.of(System.getProperty("quantflow.repo.root", "..")).toAbsolutePath().normalize();
    static final Path FIXTURE = ROOT.resolve("fixtures/fashion-cnn");
    static final String POOL = "quantizer-cast";
    static final int INSTANCES = 3;
    static final int JOBS = 20;
    static final Duration MAX_POLL_INTERVAL = Duration.ofSeconds(5);
    static final Duration MIN_JOB = Duration.ofSeconds(7);
    static final Duration SESSION_TIMEOUT = Duration.ofSeconds(10);
    static final Pattern HANDLING = Pattern.compile("handling event (\\S+) of job (\\S+) from");
    static final Pattern DONE = Pattern.compile("done with event (\\S+) of job (\\S+) in (\\d+) ms \\((\\w+)\\)");

    static LocalCluster cluster;
    static HttpClient http;
    static ArtifactStore store;
    static EventPublisher publisher;
    static ArtifactRef model;
    static ArtifactRef validation;
    static final Set<String> killed = new LinkedHashSet<>();
    /** The job whose export the exporter is told to crash in (fault injection), once, after publishing model-ready. */
    static final String CRASH_JOB = "dev.job-crash-export-" + UUID.randomUUID(); // the tenant names the job
    static final String EXPORTER = "exporter";

    @BeforeAll
    static void startPlatform() throws Exception {
        Path runDir = ROOT.resolve("integration-tests/target/scaling-cluster");
        // Service logs are appended across runs; this test reads them, so it starts with none.
        deleteLogs(runDir.resolve("logs"));
        cluster = LocalCluster.builder()
            .repoRoot(ROOT)
            .runDir(runDir)
            .pickFreePorts(true)
            .cleanData(true)
            .startupTimeout(Duration.ofMinutes(4))
            .services(List.of("intake", POOL, "validator", EXPORTER))
            .instances(POOL, INSTANCES)
            // Two exporters: one halts between publishing CRASH_JOB's model-ready and committing; the other redoes it.
            .instances(EXPORTER, 2)
            .serviceSystemProperty(EXPORTER, "quantflow.faults.crash-after-handle-job", CRASH_JOB)
            .serviceSystemProperty(EXPORTER, "quantflow.worker.session-timeout", SESSION_TIMEOUT.toSeconds() + "s")
            .serviceSystemProperty(POOL, "quantflow.worker.min-job-duration", MIN_JOB.toSeconds() + "s")
            .serviceSystemProperty(POOL, "quantflow.worker.max-poll-interval", MAX_POLL_INTERVAL.toSeconds() + "s")
            .serviceSystemProperty(POOL, "quantflow.worker.session-timeout", SESSION_TIMEOUT.toSeconds() + "s")
            // Fewer latency runs: this test is about the pool, not about the numbers in the report.
            .serviceSystemProperty("validator", "quantflow.validator.batch1-runs", "5")
            .serviceSystemProperty("validator", "quantflow.validator.large-batch-runs", "1")
            // JSON logs on one service outside the pool, to read the (unsampled) trace in its lines' MDC
            .serviceSystemProperty("validator", "quarkus.log.console.json.enabled", "true")
            .progress(line -> System.out.println("[scaling-it] " + line))
            .build();
        cluster.start();
        ItCluster.apiToken = cluster.apiToken();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        store = ItCluster.store(cluster);
        publisher = new EventPublisher(cluster.kafkaBootstrapServers(), "scaling-it");
        model = store.put("tenants/dev/scaling-it/model.onnx", Files.readAllBytes(FIXTURE.resolve("model.onnx")), "application/onnx");
        validation = store.put("tenants/dev/scaling-it/eval-200.npz", evalSubset(200), "application/x-npz");
        awaitStablePool(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stopPlatform() throws Exception {
        ItCluster.closeAll(publisher, store, cluster);
    }

    @Test
    @Order(1)
    void aJobLongerThanThePollIntervalRunsOnceWithoutARebalance() throws Exception {
        Map<String, JsonNode> before = new LinkedHashMap<>();
        for (String instance : cluster.instanceNames(POOL)) {
            before.put(instance, workerData(instance));
        }
        String jobId = submit("long-job");
        JsonNode job = awaitTerminal(jobId, Duration.ofMinutes(2));
        assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("READY");
        // tracing as shipped (off): the job still has its trace id, and no service tried to export a span
        assertThat(job.path("traceId").asText()).as("trace id with tracing off").matches("[0-9a-f]{32}");
        assertNoTraceExportErrors();
        assertUnsampledTraceInTheLogs(jobId, job.path("traceId").asText());

        // The pool commits (and logs "done") only after min-job-duration, while its outputs are already published, so
        // the job can be READY before the pool's log has its lines: wait for them (bounded) before counting.
        awaitLogLines(() -> linesPerInstance(DONE, jobId).values().stream().mapToInt(List::size).sum() >= 1,
            Duration.ofSeconds(30));
        Map<String, List<String[]>> handled = linesPerInstance(HANDLING, jobId);
        assertThat(handled.values().stream().mapToInt(List::size).sum()).as("cast pool handled the job once: " + handled)
            .isEqualTo(1);
        List<String[]> done = linesPerInstance(DONE, jobId).values().stream().flatMap(List::stream).toList();
        assertThat(done).hasSize(1);
        long millis = Long.parseLong(done.get(0)[2]);
        System.out.printf("[scaling-it] long job %s took %d ms in the cast pool (max.poll.interval %d ms)%n", jobId, millis,
            MAX_POLL_INTERVAL.toMillis());
        assertThat(millis).isGreaterThan(MAX_POLL_INTERVAL.toMillis());

        for (String instance : cluster.instanceNames(POOL)) {
            JsonNode after = workerData(instance);
            assertThat(after.path(POOL + ".assignments").asLong()).as(instance + ": no rebalance moved partitions")
                .isEqualTo(before.get(instance).path(POOL + ".assignments").asLong());
            assertThat(after.path(POOL + ".partitionsLost").asLong()).as(instance + " was never dropped from the group")
                .isZero();
            assertThat(after.path(POOL + ".commitFailures").asLong()).as(instance).isZero();
        }
        assertThat(describePool().members()).hasSize(INSTANCES);
        assertThat(store.list("jobs/" + jobId + "/processed/" + POOL + "/")).as("one processed marker").hasSize(1);
        assertThat(readKeys(Topics.MODELS_READY, Set.of(jobId), Duration.ofSeconds(3)).get(jobId)).hasSize(1);
    }

    /**
     * SIGSTOP (a process frozen, as by a native call that hangs the whole JVM, or a paused VM) past the session
     * timeout: the group drops the frozen process and its uncommitted job is redone by another; when it wakes up it
     * finds itself out of the group, its late commit is refused, and it rejoins. Nothing is lost or duplicated.
     */
    @Test
    @Order(3)
    void aPoolProcessFrozenPastTheSessionTimeoutLosesItsJobToThePoolAndRejoinsWithNothingDuplicated() throws Exception {
        String frozen = survivors().getLast(); // after the SIGKILL test: two processes left, one is frozen
        long pid = cluster.process(frozen).pid();
        // One job on a partition the process to be frozen holds, one on a partition of the other process.
        Set<Integer> held = new java.util.TreeSet<>();
        Set<Integer> others = new java.util.TreeSet<>();
        for (var m : describePool().members()) {
            for (var tp : m.assignment().topicPartitions()) {
                if (tp.topic().equals(Topics.QUANTIZE_CAST.name())) {
                    (m.clientId().endsWith("-" + pid) ? held : others).add(tp.partition());
                }
            }
        }
        assertThat(held).as("partitions of " + frozen).isNotEmpty();
        assertThat(others).as("partitions of the other process").isNotEmpty();
        List<String> jobs = List.of(submit("frozen-0", held.iterator().next()), submit("frozen-1", others.iterator().next()));
        int finishedBefore = doneLines(frozen).size();
        String jobId = awaitJobInFlight(List.of(frozen), finishedBefore, Duration.ofSeconds(90)).orElseThrow().getValue();
        assertThat(jobId).isEqualTo(jobs.getFirst());
        signal("STOP", pid);
        System.out.printf("[scaling-it] SIGSTOP to %s (pid %d) while it handled job %s%n", frozen, pid, jobId);
        try {
            awaitLogLines(() -> cluster.instanceNames(POOL).stream().filter(i -> !i.equals(frozen))
                .anyMatch(i -> doneLines(i).stream().anyMatch(d -> d[1].equals(jobId))), Duration.ofSeconds(90));
        } finally {
            signal("CONT", pid);
        }
        List<String> redoneBy = cluster.instanceNames(POOL).stream().filter(i -> !i.equals(frozen))
            .filter(i -> doneLines(i).stream().anyMatch(d -> d[1].equals(jobId))).toList();
        System.out.println("[scaling-it] job " + jobId + " was redone by " + redoneBy + " while " + frozen + " was frozen");
        assertThat(redoneBy).hasSize(1);

        for (String id : jobs) {
            JsonNode job = awaitTerminal(id, Duration.ofMinutes(3));
            assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("READY");
        }
        Map<String, List<byte[]>> ready = readKeys(Topics.MODELS_READY, Set.copyOf(jobs), Duration.ofSeconds(5));
        for (String id : jobs) {
            assertThat(ready.getOrDefault(id, List.of())).as("model-ready events of " + id).hasSize(1);
        }
        awaitStablePool(survivors().size(), Duration.ofSeconds(90)); // the woken process is a member again
        JsonNode data = workerData(frozen);
        System.out.println("[scaling-it] " + frozen + " worker data after SIGCONT: " + data);
        assertThat(data.path(POOL + ".partitionsLost").asLong()).as(frozen + " was dropped from the group").isPositive();
    }

    @Test
    @Order(2)
    void twentyJobsSpreadOverThePoolAndSurviveAProcessKilledMidJob() throws Exception {
        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            jobs.add(submit("pool-" + i, i % Topics.QUANTIZE_CAST.partitions()));
        }
        String victim = POOL + "-2";
        // Killed in the middle of a job after it finished one of these, so that every process shows work.
        int finishedBefore = doneLines(victim).size();
        String interrupted = awaitJobInFlight(List.of(victim), finishedBefore + 1, Duration.ofSeconds(90)).orElseThrow()
            .getValue();
        cluster.process(victim).handle().orElseThrow().destroyForcibly(); // SIGKILL: no shutdown hook, no LeaveGroup
        killed.add(victim);
        System.out.printf("[scaling-it] SIGKILLed %s (pid %d) while it handled job %s%n", victim, cluster.process(victim).pid(),
            interrupted);

        for (String jobId : jobs) {
            JsonNode job = awaitTerminal(jobId, Duration.ofMinutes(4));
            assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("READY");
        }

        awaitLogLines(() -> cluster.instanceNames(POOL).stream()
            .mapToLong(i -> doneLines(i).stream().filter(d -> jobs.contains(d[1])).count()).sum() >= JOBS,
            Duration.ofSeconds(60));
        Map<String, Integer> perInstance = new LinkedHashMap<>();
        for (String instance : cluster.instanceNames(POOL)) {
            perInstance.put(instance, (int) doneLines(instance).stream().filter(d -> jobs.contains(d[1])).count());
        }
        System.out.println("[scaling-it] jobs finished per process of the " + POOL + " pool: " + perInstance);
        assertThat(perInstance.values().stream().filter(n -> n > 0).count()).as("processes that did work").isGreaterThanOrEqualTo(2);
        assertThat(perInstance.values().stream().mapToInt(Integer::intValue).sum()).as("each job finished once in the pool")
            .isEqualTo(JOBS);

        boolean victimFinishedIt = doneLines(victim).stream().anyMatch(d -> d[1].equals(interrupted));
        if (!victimFinishedIt) {
            List<String> takenOverBy = cluster.instanceNames(POOL).stream().filter(i -> !i.equals(victim))
                .filter(i -> handlingLines(i).stream().anyMatch(h -> h[1].equals(interrupted))).toList();
            System.out.println("[scaling-it] job " + interrupted + " was redelivered to " + takenOverBy);
            assertThat(takenOverBy).as("the killed process's uncommitted job went to another process").hasSize(1);
        }

        Map<String, List<byte[]>> ready = readKeys(Topics.MODELS_READY, Set.copyOf(jobs), Duration.ofSeconds(5));
        for (String jobId : jobs) {
            assertThat(ready.getOrDefault(jobId, List.of())).as("model-ready events of " + jobId).hasSize(1);
            assertThat(store.list("jobs/" + jobId + "/processed/" + POOL + "/")).as("one processed marker for " + jobId)
                .hasSize(1);
            verifyExport(AvroCodec.decode(ready.get(jobId).get(0), ModelReady.class));
        }

        for (String instance : survivors()) {
            JsonNode data = workerData(instance);
            System.out.println("[scaling-it] " + instance + " worker data after the kill: " + data);
            assertThat(data.path(POOL + ".partitionsLost").asLong()).as(instance + " kept its membership").isZero();
            assertThat(data.path(POOL + ".commitFailures").asLong()).as(instance + ": its partitions stayed with it")
                .isZero();
        }
        assertThat(describePool().members()).hasSize(INSTANCES - 1);
    }

    @Test
    @Order(4)
    void sigtermLetsTheInFlightJobFinishBeforeTheProcessLeaves() throws Exception {
        List<String> jobs = List.of(submit("term-0"), submit("term-1"), submit("term-2"));
        Map.Entry<String, String> inFlight = awaitJobInFlight(survivors(), 0, Duration.ofSeconds(60)).orElseThrow();
        String stopped = inFlight.getKey();
        String jobId = inFlight.getValue();
        ProcessHandle handle = cluster.process(stopped).handle().orElseThrow();
        long t0 = System.nanoTime();
        handle.destroy(); // SIGTERM
        handle.onExit().get(40, TimeUnit.SECONDS);
        killed.add(stopped);
        System.out.printf("[scaling-it] SIGTERM to %s while it handled job %s: exited after %d ms%n", stopped, jobId,
            (System.nanoTime() - t0) / 1_000_000);

        assertThat(doneLines(stopped).stream().anyMatch(d -> d[1].equals(jobId))).as(stopped + " finished " + jobId).isTrue();
        String log = Files.readString(cluster.log(stopped));
        assertThat(log).contains("stopped and left group " + POOL).doesNotContain("back uncommitted");

        for (String id : jobs) {
            assertThat(awaitTerminal(id, Duration.ofMinutes(2)).path("state").asText()).isEqualTo("READY");
        }
        int handledTimes = cluster.instanceNames(POOL).stream()
            .mapToInt(i -> (int) handlingLines(i).stream().filter(h -> h[1].equals(jobId)).count()).sum();
        assertThat(handledTimes).as("the job in flight at SIGTERM ran once, not again elsewhere").isEqualTo(1);
        Map<String, List<byte[]>> ready = readKeys(Topics.MODELS_READY, Set.copyOf(jobs), Duration.ofSeconds(3));
        for (String id : jobs) {
            assertThat(ready.getOrDefault(id, List.of())).hasSize(1);
        }
    }

    /**
     * Exactly one model-ready as seen from outside: an exporter halted (as SIGKILL, by fault injection) after it
     * published the job's model-ready and before its processed marker and offset commit. The other exporter redoes
     * the export and publishes model-ready again, under the same event id and the same {@code
     * quantflow-idempotency-key} header, so a consumer that keeps the first record per key (as intake does) sees one.
     */
    @Test
    @Order(5)
    void anExporterKilledBetweenPublishingModelReadyAndCommittingRepeatsItUnderTheSameIdempotencyKey() throws Exception {
        submitAs(CRASH_JOB, "crash-export");
        JsonNode job = awaitTerminal(CRASH_JOB, Duration.ofMinutes(3));
        assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("READY");

        // The repeat comes once the group dropped the halted exporter (session timeout) and the other took over.
        List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> ready = List.of();
        Instant end = Instant.now().plus(Duration.ofSeconds(90));
        while (ready.size() < 2 && Instant.now().isBefore(end)) {
            ready = readRecords(Topics.MODELS_READY, CRASH_JOB, Duration.ofSeconds(3));
        }
        List<String> halted = cluster.instanceNames(EXPORTER).stream().filter(i -> logOf(i).contains(
            "fault injection (quantflow.faults.crash-after-handle-job): halting after the outputs of event")).toList();
        assertThat(halted).as("one exporter halted in the window").hasSize(1);
        assertThat(cluster.process(halted.getFirst()).alive()).isFalse();
        assertThat(ready).as("the model-ready of the halted export and its repeat").hasSize(2);

        List<String> keys = ready.stream().map(r -> new String(r.headers().lastHeader(EventPublisher.IDEMPOTENCY_KEY).value(),
            StandardCharsets.UTF_8)).toList();
        List<ModelReady> events = ready.stream().map(r -> AvroCodec.decode(r.value(), ModelReady.class)).toList();
        String eventId = events.getFirst().getHeader().getEventId();
        assertThat(events).extracting(e -> e.getHeader().getEventId()).containsExactly(eventId, eventId);
        assertThat(keys).containsExactly(CRASH_JOB + ":" + eventId, CRASH_JOB + ":" + eventId);
        assertThat(Set.copyOf(keys)).as("after dedupe on the key").hasSize(1);
        assertThat(events.getLast().getModel().getKey()).isEqualTo(events.getFirst().getModel().getKey());
        verifyExport(events.getLast()); // the files the repeat points to are whole

        // intake (a consumer that dedupes on event ids) shows the job READY once.
        JsonNode after = JSON.readTree(get(cluster.serviceUrl("intake") + "/api/jobs/" + CRASH_JOB).body());
        long readyEntries = 0;
        for (JsonNode h : after.path("history")) {
            readyEntries += h.path("state").asText().equals("READY") ? 1 : 0;
        }
        assertThat(readyEntries).as(after.toString()).isEqualTo(1);
        assertThat(store.list("jobs/" + CRASH_JOB + "/processed/" + EXPORTER + "/")).as("the redo left its marker").hasSize(1);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static void signal(String signal, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0).as("kill -" + signal + " " + pid).isTrue();
    }

    private static String logOf(String instance) {
        try {
            return Files.readString(cluster.log(instance));
        } catch (IOException e) {
            return "";
        }
    }

    /** Every record of a topic with this key, read from the beginning, headers included. */
    private static List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> readRecords(Topics.Topic<?> topic,
                                                                                                      String key,
                                                                                                      Duration wait) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.kafkaBootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "scaling-it-reader-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (var c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic.name()));
            Instant end = Instant.now().plus(wait);
            while (Instant.now().isBefore(end)) {
                for (var r : c.poll(Duration.ofMillis(250))) {
                    if (key.equals(r.key())) {
                        out.add(r);
                    }
                }
            }
        }
        return out;
    }

    /** The validator's JSON lines of the job carry its trace id, not sampled: the shipped sampler (ratio 0) applies. */
    private static void assertUnsampledTraceInTheLogs(String jobId, String traceId) throws IOException {
        Path log = ROOT.resolve("integration-tests/target/scaling-cluster/logs/validator.log");
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readString(log, java.nio.charset.StandardCharsets.ISO_8859_1).lines().toList()) {
            if (line.startsWith("{") && line.contains(jobId)) {
                JsonNode l = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
                if (jobId.equals(l.path("mdc").path("jobId").asText())) {
                    lines.add(l);
                }
            }
        }
        assertThat(lines).as("validator JSON log lines of job " + jobId).isNotEmpty().allSatisfy(l -> {
            assertThat(l.path("mdc").path("traceId").asText()).as(l.toString()).isEqualTo(traceId);
            assertThat(l.path("mdc").path("sampled").asText()).as(l.toString()).isEqualTo("false");
        });
    }

    /** No WARN/ERROR line of an OpenTelemetry exporter in any service log (nothing is exported by default). */
    private static void assertNoTraceExportErrors() throws IOException {
        try (var files = Files.list(ROOT.resolve("integration-tests/target/scaling-cluster/logs"))) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".log")).toList()) {
                assertThat(Files.readString(f, java.nio.charset.StandardCharsets.ISO_8859_1).lines())
                    .as(f.getFileName().toString()).noneMatch(l -> (l.contains("WARN")
                    || l.contains("ERROR")) && (l.toLowerCase(java.util.Locale.ROOT).contains("otlp")
                    || l.contains("Failed to export") || l.contains("opentelemetry") || l.contains("[io.op.")
                    || l.contains("[io.qu.op.")));
            }
        }
    }

    private static void deleteLogs(Path logs) throws IOException {
        if (!Files.isDirectory(logs)) {
            return;
        }
        try (var files = Files.list(logs)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".log")).toList()) {
                Files.delete(f);
            }
        }
    }

    /** The exported files match the manifest's sha256 and size: nothing half-written is referenced. */
    private static void verifyExport(ModelReady ready) throws Exception {
        byte[] modelBytes = store.get(ready.getModel());
        assertThat(ArtifactStore.sha256(modelBytes)).isEqualTo(ready.getModel().getSha256());
        JsonNode manifest = JSON.readTree(store.get(ready.getManifest()));
        assertThat(ArtifactStore.sha256(store.get(ready.getManifest()))).isEqualTo(ready.getManifest().getSha256());
        JsonNode files = manifest.path("files");
        assertThat(files.size()).isGreaterThanOrEqualTo(3);
        for (JsonNode f : files) {
            byte[] bytes = store.get(f.path("key").asText());
            assertThat(ArtifactStore.sha256(bytes)).as(f.toString()).isEqualTo(f.path("sha256").asText());
            assertThat((long) bytes.length).as(f.toString()).isEqualTo(f.path("size").asLong());
        }
    }

    private static String submit(String name) {
        return submit(name, -1);
    }

    /**
     * Submits an FP16 job whose id (the record key everywhere) hashes to {@code partition} of the work topics, or to
     * any partition when negative. Twenty random keys spread unevenly over six partitions (often 6 on one and 1 on
     * another); spreading them evenly keeps the test's length predictable without changing what it shows.
     */
    private static String submit(String name, int partition) {
        String jobId = "dev.job-" + UUID.randomUUID();
        while (partition >= 0 && partitionOf(jobId) != partition) {
            jobId = "dev.job-" + UUID.randomUUID();
        }
        return submitAs(jobId, name);
    }

    private static String submitAs(String jobId, String name) {
        publisher.publish(Topics.REQUESTS, jobId, QuantizationRequested.newBuilder()
            .setHeader(EventHeaders.fresh(jobId, 1, "scaling-it", "1"))
            .setInputs(JobInputs.newBuilder().setName(name).setModel(model).setValidation(validation).build())
            .setMethod("fp16")
            .build());
        return jobId;
    }

    /** The partition Kafka's default partitioner picks for a key (murmur2, as the producer does). */
    private static int partitionOf(String key) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % Topics.QUANTIZE_CAST.partitions();
    }

    private static List<String> survivors() {
        return cluster.instanceNames(POOL).stream().filter(i -> !killed.contains(i)).toList();
    }

    /**
     * Waits until one of the instances, having finished at least {@code minFinished} of its jobs, logged the start
     * of a job it has not finished; returns (instance, job).
     */
    private static Optional<Map.Entry<String, String>> awaitJobInFlight(List<String> instances, int minFinished,
                                                                        Duration timeout) throws InterruptedException {
        Instant end = Instant.now().plus(timeout);
        while (Instant.now().isBefore(end)) {
            for (String instance : instances) {
                Set<String> finished = new LinkedHashSet<>();
                doneLines(instance).forEach(d -> finished.add(d[0]));
                if (finished.size() < minFinished) {
                    continue;
                }
                for (String[] h : handlingLines(instance)) {
                    if (!finished.contains(h[0])) {
                        return Optional.of(Map.entry(instance, h[1]));
                    }
                }
            }
            Thread.sleep(100);
        }
        return Optional.empty();
    }

    /** Polls the service logs until {@code condition} holds or {@code timeout} passes (then the caller's asserts tell). */
    private static void awaitLogLines(java.util.function.BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < end) {
            Thread.sleep(250);
        }
    }

    private static List<String[]> handlingLines(String instance) {
        return matches(instance, HANDLING);
    }

    /** (event id, job id, millis, outcome) of each event an instance finished. */
    private static List<String[]> doneLines(String instance) {
        return matches(instance, DONE);
    }

    private static Map<String, List<String[]>> linesPerInstance(Pattern pattern, String jobId) {
        Map<String, List<String[]>> out = new LinkedHashMap<>();
        for (String instance : cluster.instanceNames(POOL)) {
            out.put(instance, matches(instance, pattern).stream().filter(m -> m[1].equals(jobId)).toList());
        }
        return out;
    }

    private static List<String[]> matches(String instance, Pattern pattern) {
        List<String[]> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(cluster.log(instance))) {
                Matcher m = pattern.matcher(line);
                if (m.find()) {
                    String[] groups = new String[m.groupCount()];
                    for (int g = 0; g < groups.length; g++) {
                        groups[g] = m.group(g + 1);
                    }
                    out.add(groups);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    /** The stage-worker health data of one instance ({@code <group>.processed}, {@code .assignments}, ...). */
    private static JsonNode workerData(String instance) throws Exception {
        HttpResponse<String> r = get(cluster.serviceUrl(instance) + "/q/health/ready");
        for (JsonNode check : JSON.readTree(r.body()).path("checks")) {
            if (check.path("name").asText().equals("stage-workers")) {
                return check.path("data");
            }
        }
        throw new AssertionError("no stage-workers health check on " + instance + ": " + r.body());
    }

    private static ConsumerGroupDescription describePool() throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.kafkaBootstrapServers());
        try (Admin admin = Admin.create(p)) {
            return admin.describeConsumerGroups(List.of(POOL)).all().get(10, TimeUnit.SECONDS).get(POOL);
        }
    }

    /** Waits until every process of the pool is a member holding at least one partition. */
    private static void awaitStablePool(Duration timeout) throws Exception {
        awaitStablePool(INSTANCES, timeout);
    }

    private static void awaitStablePool(int members, Duration timeout) throws Exception {
        Instant end = Instant.now().plus(timeout);
        ConsumerGroupDescription d = null;
        while (Instant.now().isBefore(end)) {
            d = describePool();
            if (d.members().size() == members
                && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty())) {
                System.out.println("[scaling-it] pool: " + d.members().stream()
                    .map(m -> m.clientId() + "=" + m.assignment().topicPartitions().size()).toList());
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the " + POOL + " pool did not settle: " + d);
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return ItCluster.get(http, url, Duration.ofSeconds(30));
    }

    private static JsonNode awaitTerminal(String jobId, Duration timeout) throws Exception {
        return ItCluster.awaitTerminal(http, cluster.serviceUrl("intake"), jobId, timeout);
    }

    /** Every record of a topic whose key is one of {@code keys}, by key, read from the beginning. */
    private static Map<String, List<byte[]>> readKeys(Topics.Topic<?> topic, Collection<String> keys, Duration wait) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.kafkaBootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "scaling-it-reader-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        Map<String, List<byte[]>> out = new LinkedHashMap<>();
        try (var c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic.name()));
            Instant end = Instant.now().plus(wait);
            while (Instant.now().isBefore(end)) {
                for (var r : c.poll(Duration.ofMillis(250))) {
                    if (keys.contains(r.key())) {
                        out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
                    }
                }
            }
        }
        return out;
    }

    /** The first {@code n} validation images and labels: validation cost is not what this test measures. */
    private static byte[] evalSubset(int n) {
        NpzArchive eval = NpzArchive.read(FIXTURE.resolve("eval.npz"));
        List<NdArray> arrays = List.of(eval.array("input").slice(0, n), eval.array("labels").slice(0, n));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NpzWriter.write(out, arrays, false);
        return out.toByteArray();
    }
}
