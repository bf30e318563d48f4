package dev.quantflow.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreSettings;

/**
 * A real Kafka broker (KRaft, combined broker + controller, inside this JVM) and a real S3 API server (S3Proxy with
 * its filesystem backend, a child process) on free ports and in a fresh temporary directory, with every topic of
 * the {@link Topics} registry created.
 *
 * <p>The S3Proxy jar is copied into this module's {@code target/s3proxy} by its build; {@code s3proxy.properties}
 * (filtered at build time) says where, so modules using this kit need no copy of their own. The system property
 * {@code quantflow.test.s3proxy-jar} overrides the location.
 */
public final class TestInfra implements AutoCloseable {

    public static final String ACCESS_KEY = "quantflow";
    public static final String SECRET_KEY = "quantflow-secret";
    public static final String BUCKET = "quantflow";

    private final KafkaClusterTestKit kafka;
    private volatile Process s3;
    private final int s3Port;
    private final Path dir;

    private TestInfra(KafkaClusterTestKit kafka, Process s3, int s3Port, Path dir) {
        this.kafka = kafka;
        this.s3 = s3;
        this.s3Port = s3Port;
        this.dir = dir;
    }

    /** Starts both servers (about 5 s for the broker, 2 s for S3Proxy) and creates the registry's topics. */
    public static TestInfra start() throws Exception {
        Path dir = Files.createTempDirectory("qf-infra");
        KafkaClusterTestKit kafka = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
            .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("offsets.topic.num.partitions", "4")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1")
            .setConfigProp("group.initial.rebalance.delay.ms", "0")
            .build();
        Process s3 = null;
        try {
            kafka.format();
            kafka.startup();
            kafka.waitForReadyBrokers();
            int s3Port = freePort();
            s3 = startS3Proxy(dir, s3Port);
            TestInfra infra = new TestInfra(kafka, s3, s3Port, dir);
            infra.waitForS3();
            infra.createTopics();
            return infra;
        } catch (Exception | Error e) {
            if (s3 != null) {
                s3.destroy();
            }
            kafka.close();
            throw e;
        }
    }

    private static Process startS3Proxy(Path dir, int port) throws IOException {
        Path data = Files.createDirectories(dir.resolve("s3"));
        Path props = dir.resolve("s3proxy.properties");
        Files.writeString(props, String.join("\n",
            "s3proxy.endpoint=http://127.0.0.1:" + port,
            "s3proxy.authorization=aws-v2-or-v4",
            "s3proxy.identity=" + ACCESS_KEY,
            "s3proxy.credential=" + SECRET_KEY,
            "jclouds.provider=filesystem-nio2",
            "jclouds.filesystem.basedir=" + data,
            ""));
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-jar", s3ProxyJar().toString(), "--properties", props.toString())
            .redirectErrorStream(true).redirectOutput(dir.resolve("s3proxy.log").toFile()).start();
    }

    static Path s3ProxyJar() throws IOException {
        String override = System.getProperty("quantflow.test.s3proxy-jar");
        Path jar;
        if (override != null && !override.isBlank()) {
            jar = Path.of(override);
        } else {
            Properties p = new Properties();
            try (InputStream in = TestInfra.class.getResourceAsStream("s3proxy.properties")) {
                if (in == null) {
                    throw new IllegalStateException("s3proxy.properties is missing from quantflow-test-support");
                }
                p.load(in);
            }
            jar = Path.of(p.getProperty("jar"));
        }
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no S3Proxy jar at " + jar + ": build libs/test-support in the same Maven run"
                + " (-pl …,libs/test-support -am) or set -Dquantflow.test.s3proxy-jar");
        }
        return jar;
    }

    private void createTopics() throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap()))) {
            List<NewTopic> topics = new ArrayList<>();
            for (var t : Topics.ALL) {
                topics.add(new NewTopic(t.name(), 2, (short) 1).configs(t.config()));
            }
            admin.createTopics(topics).all().get();
        }
    }

    /** Creates a topic the registry builds per name (e.g. {@link Topics#profileRequested(String)}). */
    public void createTopic(Topics.Topic<?> topic) throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(topic.name(), 2, (short) 1).configs(topic.config()))).all().get();
        }
    }

    public String bootstrap() {
        return kafka.bootstrapServers();
    }

    public String s3Endpoint() {
        return "http://127.0.0.1:" + s3Port;
    }

    public StoreSettings storeSettings() {
        return new StoreSettings(s3Endpoint(), ACCESS_KEY, SECRET_KEY, BUCKET, null);
    }

    /** A client of the store, with the bucket created. */
    public ArtifactStore store() throws Exception {
        ArtifactStore store = new ArtifactStore(storeSettings());
        store.ensureBucket();
        return store;
    }

    /**
     * The configuration a quantflow service reads ({@code PipelineConfig}: {@code quantflow.kafka.*},
     * {@code quantflow.store.*}) pointed at these servers, for a {@code @QuarkusTest}.
     */
    public Map<String, String> serviceConfig() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("quantflow.kafka.bootstrap-servers", bootstrap());
        m.put("quantflow.store.endpoint", s3Endpoint());
        m.put("quantflow.store.access-key", ACCESS_KEY);
        m.put("quantflow.store.secret-key", SECRET_KEY);
        m.put("quantflow.store.bucket", BUCKET);
        return m;
    }

    /** Stops the S3 server (an object-store outage); its data stays for {@link #startS3()}. */
    public void stopS3() throws Exception {
        s3.destroy();
        if (!s3.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            s3.destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** Starts the S3 server again on the same port over the same data (the end of an outage). */
    public void startS3() throws Exception {
        s3 = startS3Proxy(dir, s3Port);
        waitForS3();
    }

    private void waitForS3() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!s3.isAlive()) {
                throw new IllegalStateException("S3Proxy exited: " + Files.readString(dir.resolve("s3proxy.log")));
            }
            try {
                http.send(HttpRequest.newBuilder(URI.create(s3Endpoint() + "/")).build(),
                    HttpResponse.BodyHandlers.discarding());
                return;
            } catch (IOException e) {
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("S3Proxy did not start");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        s3.destroy();
        if (!s3.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            s3.destroyForcibly();
        }
        try {
            kafka.close();
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
