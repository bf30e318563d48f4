package dev.quantflow.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.quantflow.pipeline.Topics;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;

/**
 * Starts the real thing: the Kafka broker and S3Proxy that deploy/embedded laid out, plus a stand-in service jar.
 * Needs {@code mvn -pl deploy/embedded install} to have run (the reactor order does that).
 */
class LocalClusterTest {

    private static final Path REPO_ROOT = LocalCluster.locateRepoRoot();

    @TempDir
    Path tmp;

    /** A cluster on free ports in {@code runDir} whose one service is the fake service jar under {@code name}. */
    private LocalCluster.Builder withFakeService(Path runDir, String name) throws IOException {
        return LocalCluster.builder()
            .repoRoot(REPO_ROOT)
            .runDir(runDir)
            .pickFreePorts(true)
            .services(List.of(name))
            .serviceJar(name, fakeServiceJar());
    }

    @Test
    void startsKafkaS3TopicsBucketAndServicesThenDownStopsThem() throws Exception {
        Path runDir = tmp.resolve("run");
        LocalCluster cluster = withFakeService(runDir, "intake").build();
        try (cluster) {
            ClusterState state = cluster.start();

            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                cluster.kafkaBootstrapServers()))) {
                Set<String> expected = Topics.ALL.stream().map(Topics.Topic::name).collect(Collectors.toSet());
                Map<String, TopicDescription> described = admin.describeTopics(expected).allTopicNames()
                    .get(20, TimeUnit.SECONDS);
                for (Topics.Topic<?> topic : Topics.ALL) {
                    assertThat(described.get(topic.name()).partitions()).as(topic.name()).hasSize(topic.partitions());
                }
                ConfigResource status = new ConfigResource(ConfigResource.Type.TOPIC, Topics.JOBS_STATUS.name());
                Config config = admin.describeConfigs(List.of(status)).all().get(20, TimeUnit.SECONDS).get(status);
                assertThat(config.get("cleanup.policy").value()).isEqualTo("compact");
            }

            MinioClient minio = cluster.newMinioClient();
            byte[] payload = "weights, or so".getBytes(StandardCharsets.UTF_8);
            minio.putObject(PutObjectArgs.builder().bucket(LocalCluster.BUCKET).object("jobs/t/probe.bin")
                .stream(new ByteArrayInputStream(payload), payload.length, -1).build());
            try (InputStream in = minio.getObject(GetObjectArgs.builder().bucket(LocalCluster.BUCKET)
                .object("jobs/t/probe.bin").build())) {
                assertThat(in.readAllBytes()).isEqualTo(payload);
            }

            String settings = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(cluster.serviceUrl("intake") + "/settings")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
            assertThat(settings.split("\n")).containsExactly(cluster.kafkaBootstrapServers(), cluster.s3Endpoint(),
                LocalCluster.ACCESS_KEY, LocalCluster.SECRET_KEY, LocalCluster.BUCKET);

            ClusterState recorded = ClusterState.read(runDir).orElseThrow();
            assertThat(recorded.processes()).extracting(ClusterState.Entry::name)
                .containsExactly("kafka", "s3proxy", "intake");
            assertThat(recorded.intakeUrl()).isEqualTo(cluster.serviceUrl("intake"));
            assertThat(recorded.anyAlive()).isTrue();
            assertThat(state.kafkaBootstrapServers()).isEqualTo(cluster.kafkaBootstrapServers());

            // what `quantflow down` does: stop from the state file alone
            List<String> stopped = LocalCluster.stopRecorded(runDir, message -> { });
            assertThat(stopped).containsExactlyInAnyOrder("kafka", "s3proxy", "intake");
            assertThat(recorded.anyAlive()).isFalse();
            assertThat(ClusterState.file(runDir)).doesNotExist();
        }
    }

    @Test
    void aServiceThatDiesFailsStartWithItsLogAndStopsTheRest() throws Exception {
        Path runDir = tmp.resolve("run-failing");
        LocalCluster cluster = withFakeService(runDir, "validator").serviceSystemProperty("fake.fail", "true").build();

        assertThatThrownBy(cluster::start)
            .isInstanceOf(LocalClusterException.class)
            .hasMessageContaining("validator exited during startup with code 3")
            .hasMessageContaining("cannot reach the model store");

        assertThat(ClusterState.file(runDir)).doesNotExist();
        assertThat(LocalCluster.isFree(cluster.port("kafka"))).isTrue();
        assertThat(LocalCluster.isFree(cluster.port("s3"))).isTrue();
    }

    @Test
    void aTakenDefaultPortIsAClearError() throws Exception {
        try (var blocker = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(LocalCluster.HOST))) {
            LocalCluster cluster = LocalCluster.builder().repoRoot(REPO_ROOT).runDir(tmp.resolve("run-port"))
                .kafkaPort(blocker.getLocalPort()).pickFreePorts(true).infraOnly().build();
            assertThatThrownBy(cluster::start)
                .isInstanceOf(LocalClusterException.class)
                .hasMessage("port " + blocker.getLocalPort() + " (kafka) is already in use; stop what listens there,"
                    + " choose another port, or let quantflow pick free ports (--free-ports)");
        }
    }

    /** A runnable jar holding {@link FakeService}, built from the compiled test class. */
    private Path fakeServiceJar() throws IOException {
        Path jar = tmp.resolve("fake-service.jar");
        if (Files.exists(jar)) {
            return jar;
        }
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, FakeService.class.getName());
        String entry = FakeService.class.getName().replace('.', '/') + ".class";
        try (OutputStream file = Files.newOutputStream(jar);
             JarOutputStream out = new JarOutputStream(file, manifest);
             InputStream classBytes = FakeService.class.getClassLoader().getResourceAsStream(entry)) {
            out.putNextEntry(new JarEntry(entry));
            classBytes.transferTo(out);
            out.closeEntry();
        }
        return jar;
    }
}
