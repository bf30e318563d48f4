package dev.quantflow.pipeline;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreSettings;

/** A real Kafka broker (in this JVM, KRaft) and a real S3 server (S3Proxy child process) for tests. */
final class RealInfra implements AutoCloseable {

    final KafkaClusterTestKit kafka;
    final Process s3;
    final int s3Port;
    final Path dir;

    RealInfra() throws Exception {
        dir = Files.createTempDirectory("qf-infra");
        kafka = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
            .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("offsets.topic.num.partitions", "4")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1")
            .setConfigProp("group.initial.rebalance.delay.ms", "0")
            .build();
        kafka.format();
        kafka.startup();
        kafka.waitForReadyBrokers();
        s3Port = freePort();
        Path data = Files.createDirectories(dir.resolve("s3"));
        Path props = dir.resolve("s3proxy.properties");
        Files.writeString(props, String.join("\n",
            "s3proxy.endpoint=http://127.0.0.1:" + s3Port,
            "s3proxy.authorization=aws-v2-or-v4",
            "s3proxy.identity=quantflow",
            "s3proxy.credential=quantflow-secret",
            "jclouds.provider=filesystem-nio2",
            "jclouds.filesystem.basedir=" + data,
            ""));
        String java = ProcessHandle.current().info().command().orElse("java");
        s3 = new ProcessBuilder(java, "-jar", Path.of("target/s3proxy/s3proxy.jar").toAbsolutePath().toString(),
            "--properties", props.toString())
            .redirectErrorStream(true).redirectOutput(dir.resolve("s3proxy.log").toFile()).start();
        waitForS3();
        try (Admin admin = Admin.create(adminProps())) {
            List<NewTopic> topics = new ArrayList<>();
            for (var t : Topics.ALL) {
                topics.add(new NewTopic(t.name(), 2, (short) 1).configs(t.config()));
            }
            admin.createTopics(topics).all().get();
        }
    }

    Properties adminProps() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return p;
    }

    String bootstrap() {
        return kafka.bootstrapServers();
    }

    StoreSettings storeSettings() {
        return new StoreSettings("http://127.0.0.1:" + s3Port, "quantflow", "quantflow-secret", "quantflow", null);
    }

    ArtifactStore store() throws Exception {
        ArtifactStore store = new ArtifactStore(storeSettings());
        store.ensureBucket();
        return store;
    }

    private void waitForS3() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!s3.isAlive()) {
                throw new IllegalStateException("S3Proxy exited: " + Files.readString(dir.resolve("s3proxy.log")));
            }
            try {
                http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s3Port + "/")).build(),
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
        kafka.close();
    }
}
