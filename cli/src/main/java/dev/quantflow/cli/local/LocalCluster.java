package dev.quantflow.cli.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.Topics;
import io.minio.MinioClient;

/**
 * Runs quantflow on one machine without Docker: a real Apache Kafka broker (KRaft, combined broker + controller),
 * S3Proxy as the S3-compatible store, the topics of {@link Topics#ALL}, the bucket, and every service as its own
 * {@code java -jar} process. The broker and S3Proxy come from the jars that {@code deploy/embedded} lays out at
 * build time; the services from {@code services/<app>/target/quarkus-app/quarkus-run.jar} (a service is its own app,
 * except the three LLM pools, which run {@code quantizer-llm} with their method).
 *
 * <p>All processes are children that outlive this JVM (so {@code quantflow up} can return); they are recorded in
 * {@code <rundir>/state.json}, and {@link #stop()} or {@link #stopRecorded(Path, Consumer)} ends them: SIGTERM
 * first, a kill after a grace period. Data (Kafka log dirs, stored objects) stays in the run directory between
 * runs unless {@link Builder#cleanData(boolean)} asks for a fresh start.
 *
 * <p>A service can run as a pool of processes ({@link Builder#instances(String, int)}): each instance has its own
 * port and log, and {@link #process(String)} gives its pid to stop or kill it, as the scaling tests do.
 *
 * <pre>{@code
 * try (LocalCluster cluster = LocalCluster.builder().repoRoot(root).runDir(tmp)
 *         .portPolicy(PortPolicy.EPHEMERAL).infraOnly().build()) {
 *     cluster.start();
 *     String bootstrap = cluster.kafkaBootstrapServers();
 * }
 * }</pre>
 */
public final class LocalCluster implements AutoCloseable {

    public static final String ACCESS_KEY = "quantflow";
    public static final String SECRET_KEY = "quantflow-secret";
    public static final String BUCKET = "quantflow";
    public static final String HOST = "127.0.0.1";

    public static final int DEFAULT_KAFKA_PORT = 9092;
    public static final int DEFAULT_CONTROLLER_PORT = 9093;
    public static final int DEFAULT_S3_PORT = 9000;

    /**
     * A service the cluster runs.
     *
     * @param name             its name: process, log file, port key, and the name callers pass to {@link Builder}
     * @param defaultPort      its default HTTP port
     * @param app              the folder under {@code services/} whose quarkus-app it runs; several pools can run one
     *                         app (the LLM pools all run {@code quantizer-llm})
     * @param systemProperties {@code -Dkey=value} that make the app this service (e.g. the LLM pool's method)
     */
    public record Service(String name, int defaultPort, String app, Map<String, String> systemProperties) {

        public Service {
            systemProperties = Map.copyOf(systemProperties);
        }

        /** A service that is its own app: {@code services/<name>}. */
        public Service(String name, int defaultPort) {
            this(name, defaultPort, name, Map.of());
        }

        /** One pool of the LLM quantizer app, for a weight-only method of the {@link QuantMethod} registry. */
        static Service llmPool(QuantMethod method, int defaultPort) {
            return new Service(method.pool(), defaultPort, LLM_APP, Map.of("quantflow.llm.method", method.wireName()));
        }
    }

    /** The app the three LLM pools run, each with its own method. */
    static final String LLM_APP = "quantizer-llm";

    public static final List<Service> SERVICES = List.of(
        new Service("intake", 8080),
        new Service("calibration", 8081),
        new Service("quantizer-static", 8082),
        new Service("validator", 8083),
        new Service("exporter", 8084),
        new Service("quantizer-dynamic", 8085),
        new Service("quantizer-cast", 8086),
        new Service("hardware-profiler", 8087),
        Service.llmPool(QuantMethod.GPTQ, 8088),
        Service.llmPool(QuantMethod.AWQ, 8089),
        new Service("quantizer-qat", 8090),
        Service.llmPool(QuantMethod.RTN, 8091));

    /**
     * JVM options a service needs: the QAT trainer's matrix kernels use the incubating Vector API (without the module
     * they fall back to scalar kernels, about 3x slower).
     */
    static final Map<String, List<String>> SERVICE_JVM_ARGS = Map.of(
        "quantizer-qat", List.of("--add-modules", "jdk.incubator.vector"));

    /** How ports that were not set explicitly are chosen. Explicitly set ports are always used as given. */
    public enum PortPolicy {
        /** The default ports; a taken port is an error. */
        FIXED,
        /** The default port where free, else any free port. */
        PREFER_DEFAULT,
        /** Any free port: parallel test runs never collide. */
        EPHEMERAL
    }

    private static final String RUN_MARKER_PROPERTY = "local-cluster.run-dir";
    // Outside the quantflow.* namespace: Quarkus rejects unknown keys under a @ConfigMapping prefix.
    private static final Duration SERVICE_STOP_GRACE = Duration.ofSeconds(15);
    private static final Duration INFRA_STOP_GRACE = Duration.ofSeconds(20);

    private final Path repoRoot;
    private final Path runDir;
    private final Map<String, Integer> requestedPorts;
    private final PortPolicy portPolicy;
    private final List<Service> services;
    private final Duration startupTimeout;
    private final boolean cleanData;
    private final List<String> serviceJvmArgs;
    private final Map<String, String> serviceSystemProperties;
    private final Map<String, Map<String, String>> perServiceSystemProperties;
    private final Map<String, Integer> instanceCounts;
    private final Map<String, Path> serviceJars;
    private final Consumer<String> progress;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final List<ChildProcess> started = new ArrayList<>();
    private final Map<Long, Process> childProcesses = new LinkedHashMap<>();
    private final Map<String, Integer> ports = new LinkedHashMap<>();
    private ClusterState state;

    private LocalCluster(Builder b) {
        this.repoRoot = (b.repoRoot != null ? b.repoRoot : locateRepoRoot()).toAbsolutePath().normalize();
        this.runDir = (b.runDir != null ? b.runDir : repoRoot.resolve(".quantflow")).toAbsolutePath().normalize();
        this.requestedPorts = Map.copyOf(b.ports);
        this.portPolicy = b.portPolicy;
        this.services = b.services != null ? List.copyOf(b.services) : SERVICES;
        this.startupTimeout = b.startupTimeout;
        this.cleanData = b.cleanData;
        this.serviceJvmArgs = List.copyOf(b.serviceJvmArgs);
        this.serviceSystemProperties = Map.copyOf(b.serviceSystemProperties);
        Map<String, Map<String, String>> perService = new LinkedHashMap<>();
        b.perServiceSystemProperties.forEach((k, v) -> perService.put(k, Map.copyOf(v)));
        this.perServiceSystemProperties = Map.copyOf(perService);
        this.instanceCounts = Map.copyOf(b.instanceCounts);
        this.serviceJars = Map.copyOf(b.serviceJars);
        this.progress = b.progress;
    }

    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------------------------------------ start

    /**
     * Starts everything and returns once every part answers: Kafka lists its cluster, S3 answers HTTP, topics and
     * bucket exist, each service reports ready. On any failure what was started is stopped again and a
     * {@link LocalClusterException} says what failed, with the tail of the failing process's log.
     */
    public ClusterState start() {
        if (state != null) {
            throw new IllegalStateException("already started");
        }
        Path kafkaLibs = kafkaHome().resolve("libs");
        Path s3proxyJar = repoRoot.resolve("deploy/embedded/target/s3proxy/s3proxy.jar");
        checkLayout(kafkaLibs, s3proxyJar);
        refuseIfRunning();
        resolvePorts();
        try {
            Files.createDirectories(runDir.resolve("logs"));
            long t0 = System.nanoTime();
            ChildProcess kafka = startKafka(kafkaLibs);
            ChildProcess s3 = startS3Proxy(s3proxyJar);
            writeState();
            try (Admin admin = Admin.create(adminConfig())) {
                awaitKafka(admin, kafka);
                progress.accept("Kafka ready on " + kafkaBootstrapServers() + " (" + seconds(t0) + ")");
                awaitS3(s3);
                progress.accept("S3 ready on " + s3Endpoint() + " (" + seconds(t0) + ")");
                createTopics(admin);
            }
            createBucket();
            progress.accept("topics (" + Topics.ALL.size() + ") and bucket '" + BUCKET + "' ready");
            startServices();
            writeState();
            return state;
        } catch (RuntimeException e) {
            stopQuietly();
            throw e instanceof LocalClusterException ? e : new LocalClusterException(describe(e), e);
        } catch (IOException e) {
            stopQuietly();
            throw new LocalClusterException(describe(e), e);
        }
    }

    private void checkLayout(Path kafkaLibs, Path s3proxyJar) {
        if (!Files.isDirectory(kafkaLibs) || !Files.isRegularFile(s3proxyJar)) {
            throw new LocalClusterException("the embedded Kafka/S3Proxy runtime is not built (looked for " + kafkaLibs
                + " and " + s3proxyJar + "); build it with: mvn -q -pl deploy/embedded install");
        }
        List<String> missing = services.stream().map(this::serviceJar).distinct().filter(p -> !Files.isRegularFile(p))
            .map(p -> repoRoot.relativize(p).toString()).toList();
        if (!missing.isEmpty()) {
            throw new LocalClusterException("service jars missing: " + String.join(", ", missing)
                + "; build them with: mvn -q -DskipTests install (or start the infrastructure alone with --infra-only)");
        }
    }

    private void refuseIfRunning() {
        Optional<ClusterState> previous = ClusterState.read(runDir);
        if (previous.isPresent() && previous.get().anyAlive()) {
            throw new LocalClusterException("a quantflow cluster from " + runDir + " is already running; stop it first"
                + " (quantflow down)");
        }
        try {
            Files.deleteIfExists(ClusterState.file(runDir));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void resolvePorts() {
        Set<Integer> taken = new HashSet<>();
        choosePort("kafka", DEFAULT_KAFKA_PORT, taken);
        choosePort("kafka-controller", DEFAULT_CONTROLLER_PORT, taken);
        choosePort("s3", DEFAULT_S3_PORT, taken);
        for (Service s : services) {
            List<String> names = instanceNames(s.name());
            for (int i = 0; i < names.size(); i++) {
                // Further instances default to the service's port plus 100 per instance (8086, 8186, 8286, ...).
                choosePort(names.get(i), s.defaultPort() + 100 * i, taken);
            }
        }
    }

    private void choosePort(String name, int defaultPort, Set<Integer> taken) {
        Integer explicit = requestedPorts.get(name);
        int port;
        if (explicit != null && explicit > 0) {
            port = explicit;
            if (!isFree(port)) {
                throw portTaken(name, port);
            }
        } else {
            port = switch (portPolicy) {
                case FIXED -> {
                    if (!isFree(defaultPort)) {
                        throw portTaken(name, defaultPort);
                    }
                    yield defaultPort;
                }
                case PREFER_DEFAULT -> isFree(defaultPort) && !taken.contains(defaultPort) ? defaultPort : freePort(taken);
                case EPHEMERAL -> freePort(taken);
            };
        }
        if (!taken.add(port)) {
            throw new LocalClusterException("port " + port + " is given to two parts (" + name + " and another)");
        }
        ports.put(name, port);
    }

    private static LocalClusterException portTaken(String name, int port) {
        return new LocalClusterException("port " + port + " (" + name + ") is already in use; stop what listens there,"
            + " choose another port, or let quantflow pick free ports (--free-ports)");
    }

    static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort(Set<Integer> taken) {
        for (int i = 0; i < 50; i++) {
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
                int port = socket.getLocalPort();
                if (!taken.contains(port)) {
                    return port;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new LocalClusterException("no free port found");
    }

    /** {@code serviceDir/data}, created, and emptied first when this cluster starts with clean data. */
    private Path dataDir(Path serviceDir) throws IOException {
        Path dataDir = serviceDir.resolve("data");
        if (cleanData) {
            deleteRecursively(dataDir);
        }
        Files.createDirectories(dataDir);
        return dataDir;
    }

    // ------------------------------------------------------------------------------------------------ Kafka

    private Path kafkaHome() {
        return repoRoot.resolve("deploy/embedded/target/kafka");
    }

    private ChildProcess startKafka(Path kafkaLibs) throws IOException {
        Path kafkaDir = runDir.resolve("kafka");
        Path dataDir = dataDir(kafkaDir);
        Path props = kafkaDir.resolve("server.properties");
        writeKafkaProperties(props, dataDir);

        List<String> base = new ArrayList<>(List.of(javaExecutable(), "-Xms256m", "-Xmx768m",
            "-D" + RUN_MARKER_PROPERTY + "=" + runDir,
            "-Dkafka.logs.dir=" + runDir.resolve("logs/kafka"),
            "-Dlog4j2.configurationFile=" + kafkaHome().resolve("config/log4j2.properties"),
            "-cp", kafkaLibs + "/*"));

        if (!Files.exists(dataDir.resolve("meta.properties"))) {
            String clusterId = Uuid.randomUuid().toString();
            List<String> format = new ArrayList<>(base);
            format.addAll(List.of("kafka.tools.StorageTool", "format", "-t", clusterId, "-c", props.toString()));
            Path formatLog = runDir.resolve("logs/kafka-format.log");
            Files.deleteIfExists(formatLog);
            Process p = new ProcessBuilder(format).directory(runDir.toFile()).redirectErrorStream(true)
                .redirectOutput(formatLog.toFile()).start();
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new LocalClusterException("formatting Kafka storage failed; last lines of " + formatLog + ":\n"
                        + ChildProcess.tail(formatLog, 20));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LocalClusterException("interrupted while formatting Kafka storage", e);
            }
        }
        List<String> run = new ArrayList<>(base);
        run.addAll(List.of("kafka.Kafka", props.toString()));
        return track("kafka", run, runDir.resolve("logs/kafka.log"));
    }

    private void writeKafkaProperties(Path file, Path dataDir) throws IOException {
        int port = ports.get("kafka");
        int controller = ports.get("kafka-controller");
        String text = """
            # Written by quantflow LocalCluster for this run; rewritten on every start.
            process.roles=broker,controller
            node.id=1
            controller.quorum.voters=1@%1$s:%3$d
            listeners=PLAINTEXT://%1$s:%2$d,CONTROLLER://%1$s:%3$d
            advertised.listeners=PLAINTEXT://%1$s:%2$d
            controller.listener.names=CONTROLLER
            listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
            inter.broker.listener.name=PLAINTEXT
            log.dirs=%4$s
            num.partitions=1
            offsets.topic.replication.factor=1
            offsets.topic.num.partitions=6
            transaction.state.log.replication.factor=1
            transaction.state.log.min.isr=1
            share.coordinator.state.topic.replication.factor=1
            share.coordinator.state.topic.min.isr=1
            group.initial.rebalance.delay.ms=0
            log.cleaner.dedupe.buffer.size=8388608
            """.formatted(HOST, port, controller, dataDir.toString().replace('\\', '/'));
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    private Map<String, Object> adminConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafkaBootstrapServers());
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000);
        config.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        return config;
    }

    private void awaitKafka(Admin admin, ChildProcess kafka) {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (true) {
            ensureAlive(kafka);
            try {
                admin.describeCluster().nodes().get(3, TimeUnit.SECONDS);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LocalClusterException("interrupted while waiting for Kafka", e);
            } catch (ExecutionException | java.util.concurrent.TimeoutException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new LocalClusterException("Kafka did not answer on " + kafkaBootstrapServers()
                        + " within 90 s; last lines of " + runDir.resolve("logs/kafka/server.log") + ":\n"
                        + ChildProcess.tail(runDir.resolve("logs/kafka/server.log"), 30));
                }
                sleep(250);
            }
        }
    }

    private void createTopics(Admin admin) {
        Provisioning.createTopics(admin, (short) 1, Duration.ofSeconds(30));
    }

    // ------------------------------------------------------------------------------------------------ S3

    private ChildProcess startS3Proxy(Path jar) throws IOException {
        Path s3Dir = runDir.resolve("s3");
        Path dataDir = dataDir(s3Dir);
        Properties props = new Properties();
        props.setProperty("s3proxy.endpoint", "http://" + HOST + ":" + ports.get("s3"));
        props.setProperty("s3proxy.authorization", "aws-v2-or-v4");
        props.setProperty("s3proxy.identity", ACCESS_KEY);
        props.setProperty("s3proxy.credential", SECRET_KEY);
        props.setProperty("jclouds.provider", "filesystem-nio2");
        props.setProperty("jclouds.filesystem.basedir", dataDir.toString());
        props.setProperty("jclouds.identity", ACCESS_KEY);
        props.setProperty("jclouds.credential", SECRET_KEY);
        Path propsFile = s3Dir.resolve("s3proxy.properties");
        try (var out = Files.newBufferedWriter(propsFile)) {
            props.store(out, "Written by quantflow LocalCluster for this run");
        }
        List<String> command = List.of(javaExecutable(), "-Xmx512m", "-D" + RUN_MARKER_PROPERTY + "=" + runDir,
            "-jar", jar.toString(), "--properties", propsFile.toString());
        return track("s3proxy", command, runDir.resolve("logs/s3proxy.log"));
    }

    private void awaitS3(ChildProcess s3) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        URI uri = URI.create(s3Endpoint() + "/");
        while (true) {
            ensureAlive(s3);
            try {
                http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.discarding());
                return; // any HTTP answer (403 without credentials) means it serves requests
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new LocalClusterException("S3Proxy did not answer on " + s3Endpoint() + " within 60 s;"
                        + " last lines of " + s3.log() + ":\n" + s3.logTail(30));
                }
                sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LocalClusterException("interrupted while waiting for S3Proxy", e);
            }
        }
    }

    /** A MinIO client for this cluster's store. It uses OkHttp: a command-line caller must exit explicitly. */
    public MinioClient newMinioClient() {
        return MinioClient.builder().endpoint(s3Endpoint()).credentials(ACCESS_KEY, SECRET_KEY).build();
    }

    private void createBucket() {
        Provisioning.createBucket(newMinioClient(), BUCKET);
    }

    // ------------------------------------------------------------------------------------------------ services

    private Path serviceJar(Service service) {
        Path override = serviceJars.get(service.name());
        if (override != null) {
            return override.toAbsolutePath();
        }
        return repoRoot.resolve("services").resolve(service.app()).resolve("target/quarkus-app/quarkus-run.jar");
    }

    private void startServices() {
        if (services.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        List<ChildProcess> serviceProcesses = new ArrayList<>();
        for (Service service : services) {
            for (String instance : instanceNames(service.name())) {
                serviceProcesses.add(track(instance, serviceCommand(service, instance),
                    runDir.resolve("logs").resolve(instance + ".log")));
            }
        }
        writeState();
        long deadline = System.nanoTime() + startupTimeout.toNanos();
        for (ChildProcess process : serviceProcesses) {
            awaitReady(process, deadline);
            progress.accept(process.name() + " ready on " + serviceUrl(process.name()) + " (" + seconds(t0) + ")");
        }
    }

    private List<String> serviceCommand(Service service, String instance) {
        List<String> command = new ArrayList<>();
        command.add(javaExecutable());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-D" + RUN_MARKER_PROPERTY + "=" + runDir);
        command.addAll(serviceJvmArgs);
        command.addAll(SERVICE_JVM_ARGS.getOrDefault(service.name(), List.of()));
        Map<String, String> props = new LinkedHashMap<>();
        props.put("kafka.bootstrap.servers", kafkaBootstrapServers());
        props.put("quantflow.store.endpoint", s3Endpoint());
        props.put("quantflow.store.access-key", ACCESS_KEY);
        props.put("quantflow.store.secret-key", SECRET_KEY);
        props.put("quantflow.store.bucket", BUCKET);
        props.put("quarkus.http.port", String.valueOf(ports.get(instance)));
        props.put("quarkus.http.host", HOST);
        if (service.name().equals("intake")) {
            // the API token's digest only: the token itself stays in <run dir>/api-token
            props.put("quantflow.auth.tokens." + ApiToken.TENANT, "sha256:" + ApiToken.sha256(apiToken()));
        }
        props.putAll(service.systemProperties());
        props.putAll(serviceSystemProperties);
        props.putAll(perServiceSystemProperties.getOrDefault(service.name(), Map.of()));
        props.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(serviceJar(service).toString());
        return command;
    }

    private void awaitReady(ChildProcess process, long deadline) {
        URI uri = URI.create(serviceUrl(process.name()) + "/q/health/ready");
        String lastAnswer = "no answer";
        while (true) {
            ensureAlive(process);
            try {
                HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(3)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return;
                }
                lastAnswer = "HTTP " + response.statusCode() + " " + oneLine(response.body());
            } catch (IOException notYet) {
                lastAnswer = "no answer (" + notYet.getClass().getSimpleName() + ")";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LocalClusterException("interrupted while waiting for " + process.name(), e);
            }
            if (System.nanoTime() > deadline) {
                throw new LocalClusterException(process.name() + " is not ready after " + startupTimeout.toSeconds()
                    + " s (" + uri + ": " + lastAnswer + "); last lines of " + process.log() + ":\n"
                    + process.logTail(30));
            }
            sleep(300);
        }
    }

    // ------------------------------------------------------------------------------------------------ stop

    /** Stops every process this cluster started (services first) and removes the state file. Idempotent. */
    public void stop() {
        List<ChildProcess> toStop = List.copyOf(started);
        started.clear();
        stopAll(toStop);
        state = null;
        try {
            Files.deleteIfExists(ClusterState.file(runDir));
        } catch (IOException ignored) {
            // a stale state file is handled by the next start or down
        }
    }

    @Override
    public void close() {
        stop();
    }

    private void stopQuietly() {
        try {
            stop();
        } catch (RuntimeException ignored) {
            // the start failure is what the caller needs to see
        }
    }

    /**
     * Stops what {@code <runDir>/state.json} records, e.g. from an earlier {@code quantflow up}; processes that are
     * gone (or whose pid now belongs to another process) are skipped. Returns the names of those stopped.
     */
    public static List<String> stopRecorded(Path runDir, Consumer<String> progress) {
        Optional<ClusterState> recorded = ClusterState.read(runDir);
        if (recorded.isEmpty()) {
            return List.of();
        }
        List<ChildProcess> processes = recorded.get().processes().stream().map(ClusterState.Entry::process).toList();
        List<String> alive = processes.stream().filter(ChildProcess::alive).map(ChildProcess::name).toList();
        List<String> killed = stopAll(processes);
        killed.forEach(name -> progress.accept(name + " did not stop in time and was killed"));
        try {
            Files.deleteIfExists(ClusterState.file(runDir));
        } catch (IOException e) {
            throw new LocalClusterException("cannot remove " + ClusterState.file(runDir) + ": " + e.getMessage(), e);
        }
        return alive;
    }

    private static List<String> stopAll(List<ChildProcess> processes) {
        Set<String> infra = Set.of("kafka", "s3proxy");
        List<ChildProcess> serviceProcesses = processes.stream().filter(p -> !infra.contains(p.name())).toList();
        List<ChildProcess> infraProcesses = processes.stream().filter(p -> infra.contains(p.name())).toList();
        List<String> killed = new ArrayList<>(ChildProcess.terminate(serviceProcesses, SERVICE_STOP_GRACE));
        killed.addAll(ChildProcess.terminate(infraProcesses, INFRA_STOP_GRACE));
        return killed;
    }

    // ------------------------------------------------------------------------------------------------ accessors

    public Path repoRoot() {
        return repoRoot;
    }

    public Path runDir() {
        return runDir;
    }

    /** The recorded state once {@link #start()} returned. */
    public ClusterState state() {
        return Objects.requireNonNull(state, "not started");
    }

    public int port(String name) {
        Integer port = ports.get(name);
        if (port == null) {
            throw new IllegalArgumentException("no port for '" + name + "' (ports are chosen by start())");
        }
        return port;
    }

    public String kafkaBootstrapServers() {
        return HOST + ":" + port("kafka");
    }

    public String s3Endpoint() {
        return "http://" + HOST + ":" + port("s3");
    }

    /** The local API token (tenant {@link ApiToken#TENANT}), made on first use and kept in {@code <run dir>/api-token}. */
    public String apiToken() {
        return ApiToken.createOrRead(runDir);
    }

    public String serviceUrl(String service) {
        return "http://" + HOST + ":" + port(service);
    }

    public List<Service> services() {
        return services;
    }

    /**
     * The instance names of a service: its own name for the first, then {@code <name>-2}, {@code <name>-3}, ...
     * (see {@link Builder#instances(String, int)}). Each names a port ({@link #serviceUrl(String)}), a log file
     * {@code <runDir>/logs/<instance>.log} and a process ({@link #process(String)}).
     */
    public List<String> instanceNames(String service) {
        int count = instanceCounts.getOrDefault(service, 1);
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            names.add(i == 1 ? service : service + "-" + i);
        }
        return names;
    }

    /**
     * The process started for a part ({@code kafka}, {@code s3proxy}) or a service instance, e.g. to stop
     * ({@code handle().ifPresent(ProcessHandle::destroy)}, SIGTERM) or kill ({@code destroyForcibly()}, SIGKILL) it.
     */
    public ChildProcess process(String name) {
        return started.stream().filter(p -> p.name().equals(name)).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("no process '" + name + "' (started: "
                + started.stream().map(ChildProcess::name).toList() + ")"));
    }

    /** The log file of a part or service instance. */
    public Path log(String name) {
        return runDir.resolve("logs").resolve(name + ".log");
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private ChildProcess track(String name, List<String> command, Path log) {
        Process process = ChildProcess.launch(name, command, runDir, log);
        ChildProcess child = ChildProcess.of(name, process, log);
        childProcesses.put(process.pid(), process);
        started.add(child);
        return child;
    }

    private void ensureAlive(ChildProcess process) {
        if (!process.alive()) {
            Optional<Integer> code = exitCode(process);
            throw new LocalClusterException(process.name() + " exited during startup"
                + code.map(c -> " with code " + c).orElse("") + "; last lines of " + process.log() + ":\n"
                + process.logTail(30)
                + ("kafka".equals(process.name()) ? "\n" + ChildProcess.tail(runDir.resolve("logs/kafka/server.log"), 20) : ""));
        }
    }

    private Optional<Integer> exitCode(ChildProcess process) {
        // Only a direct child's exit code is known; ProcessHandle alone does not carry it.
        return Optional.ofNullable(childProcesses.get(process.pid())).filter(p -> !p.isAlive()).map(Process::exitValue);
    }

    private void writeState() {
        List<ClusterState.Entry> entries = new ArrayList<>();
        for (ChildProcess p : started) {
            String role = switch (p.name()) {
                case "kafka" -> "kafka";
                case "s3proxy" -> "s3";
                default -> "service";
            };
            Integer port = switch (role) {
                case "kafka" -> ports.get("kafka");
                case "s3" -> ports.get("s3");
                default -> ports.get(p.name());
            };
            String url = switch (role) {
                case "kafka" -> kafkaBootstrapServers();
                case "s3" -> s3Endpoint();
                default -> serviceUrl(p.name());
            };
            entries.add(new ClusterState.Entry(p.name(), role, p.pid(),
                p.startedAt() == null ? null : p.startedAt().toString(), port, url, p.log().toString()));
        }
        state = new ClusterState(ClusterState.CURRENT_VERSION, runDir.toString(), repoRoot.toString(),
            Instant.now().toString(), kafkaBootstrapServers(), s3Endpoint(), ACCESS_KEY, BUCKET,
            ports.containsKey("intake") ? serviceUrl("intake") : null, entries);
        state.write(runDir);
    }

    private static String javaExecutable() {
        Path java = Path.of(System.getProperty("java.home"), "bin", isWindows() ? "java.exe" : "java");
        return Files.isExecutable(java) ? java.toString() : "java";
    }

    private static boolean isWindows() {
        return System.getProperty("os.name", "").toLowerCase().startsWith("windows");
    }

    private static String seconds(long t0) {
        return String.format("%.1f s", (System.nanoTime() - t0) / 1e9);
    }

    private static String oneLine(String s) {
        String flat = s == null ? "" : s.replaceAll("\\s+", " ").trim();
        return flat.length() > 200 ? flat.substring(0, 200) + "…" : flat;
    }

    private static String describe(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalClusterException("interrupted", e);
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /**
     * The repository root: system property {@code quantflow.home}, else env {@code QUANTFLOW_HOME}, else the first
     * directory at or above the working directory that holds {@code deploy/embedded/pom.xml}, else the directory
     * above the CLI jar's {@code cli/target}.
     */
    public static Path locateRepoRoot() {
        String configured = System.getProperty("quantflow.home", System.getenv("QUANTFLOW_HOME"));
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (isRepoRoot(dir)) {
                return dir;
            }
        }
        try {
            Path codeSource = Path.of(LocalCluster.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = codeSource; dir != null; dir = dir.getParent()) {
                if (isRepoRoot(dir)) {
                    return dir;
                }
            }
        } catch (Exception ignored) {
            // fall through to the error below
        }
        throw new LocalClusterException("cannot find the quantflow repository (no deploy/embedded/pom.xml above "
            + Path.of("").toAbsolutePath() + "); run from inside it or set QUANTFLOW_HOME");
    }

    private static boolean isRepoRoot(Path dir) {
        return Files.isRegularFile(dir.resolve("deploy/embedded/pom.xml")) && Files.isRegularFile(dir.resolve("pom.xml"));
    }

    /** Options for a {@link LocalCluster}; every one has a default. */
    public static final class Builder {
        private Path repoRoot;
        private Path runDir;
        private final Map<String, Integer> ports = new LinkedHashMap<>();
        private PortPolicy portPolicy = PortPolicy.FIXED;
        private List<Service> services;
        private Duration startupTimeout = Duration.ofSeconds(180);
        private boolean cleanData;
        private final List<String> serviceJvmArgs = new ArrayList<>();
        private final Map<String, String> serviceSystemProperties = new LinkedHashMap<>();
        private final Map<String, Map<String, String>> perServiceSystemProperties = new LinkedHashMap<>();
        private final Map<String, Integer> instanceCounts = new LinkedHashMap<>();
        private final Map<String, Path> serviceJars = new LinkedHashMap<>();
        private Consumer<String> progress = message -> { };

        private Builder() {
        }

        /** The repository root (jars are found below it); default {@link #locateRepoRoot()}. */
        public Builder repoRoot(Path repoRoot) {
            this.repoRoot = repoRoot;
            return this;
        }

        /** Where state, logs and data live; default {@code <repoRoot>/.quantflow}. */
        public Builder runDir(Path runDir) {
            this.runDir = runDir;
            return this;
        }

        public Builder kafkaPort(int port) {
            return port("kafka", port);
        }

        public Builder controllerPort(int port) {
            return port("kafka-controller", port);
        }

        public Builder s3Port(int port) {
            return port("s3", port);
        }

        /** The HTTP port of one service, by its folder name (e.g. {@code intake}). */
        public Builder servicePort(String service, int port) {
            if (SERVICES.stream().noneMatch(s -> s.name().equals(service))) {
                throw new IllegalArgumentException("unknown service '" + service + "'");
            }
            return port(service, port);
        }

        private Builder port(String name, int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            if (port > 0) {
                ports.put(name, port);
            }
            return this;
        }

        /** How ports not set explicitly are chosen; default {@link PortPolicy#FIXED}. */
        public Builder portPolicy(PortPolicy policy) {
            this.portPolicy = Objects.requireNonNull(policy);
            return this;
        }

        /** Shorthand: {@link PortPolicy#EPHEMERAL} when true, {@link PortPolicy#FIXED} when false. */
        public Builder pickFreePorts(boolean pick) {
            return portPolicy(pick ? PortPolicy.EPHEMERAL : PortPolicy.FIXED);
        }

        /** Runs only these services (folder names); default all of {@link #SERVICES}. */
        public Builder services(List<String> names) {
            List<Service> chosen = new ArrayList<>();
            for (String name : names) {
                chosen.add(SERVICES.stream().filter(s -> s.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown service '" + name + "'; known: "
                        + SERVICES.stream().map(Service::name).toList())));
            }
            this.services = chosen;
            return this;
        }

        /** Kafka, S3, topics and bucket only; no service. */
        public Builder infraOnly() {
            this.services = List.of();
            return this;
        }

        /** How long all services together may take to report ready; default 180 s. */
        public Builder startupTimeout(Duration timeout) {
            this.startupTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        /** Deletes the Kafka log dirs and stored objects of earlier runs before starting. */
        public Builder cleanData(boolean clean) {
            this.cleanData = clean;
            return this;
        }

        /** Extra JVM options for every service (e.g. {@code -Xmx1g}). */
        public Builder serviceJvmArg(String arg) {
            this.serviceJvmArgs.add(arg);
            return this;
        }

        /** An extra {@code -Dkey=value} for every service (overrides the defaults LocalCluster passes). */
        public Builder serviceSystemProperty(String key, String value) {
            this.serviceSystemProperties.put(key, value);
            return this;
        }

        /**
         * An extra {@code -Dkey=value} for every instance of one service; overrides the defaults and the
         * properties given to every service.
         */
        public Builder serviceSystemProperty(String service, String key, String value) {
            requireKnown(service);
            this.perServiceSystemProperties.computeIfAbsent(service, s -> new LinkedHashMap<>()).put(key, value);
            return this;
        }

        /**
         * Runs {@code count} processes of one service (a pool sharing one consumer group), default 1. Each has
         * its own HTTP port and log file; see {@link LocalCluster#instanceNames(String)}.
         */
        public Builder instances(String service, int count) {
            requireKnown(service);
            if (count < 1 || count > 20) {
                throw new IllegalArgumentException("instances of '" + service + "' must be 1..20, not " + count);
            }
            this.instanceCounts.put(service, count);
            return this;
        }

        private static void requireKnown(String service) {
            if (SERVICES.stream().noneMatch(s -> s.name().equals(service))) {
                throw new IllegalArgumentException("unknown service '" + service + "'");
            }
        }

        /** Runs this jar for a service instead of {@code services/<app>/target/quarkus-app/quarkus-run.jar}. */
        public Builder serviceJar(String service, Path jar) {
            if (SERVICES.stream().noneMatch(s -> s.name().equals(service))) {
                throw new IllegalArgumentException("unknown service '" + service + "'");
            }
            this.serviceJars.put(service, jar);
            return this;
        }

        /** Receives one line per step reached (Kafka ready, each service ready, …). */
        public Builder progress(Consumer<String> progress) {
            this.progress = Objects.requireNonNull(progress);
            return this;
        }

        public LocalCluster build() {
            return new LocalCluster(this);
        }
    }
}
