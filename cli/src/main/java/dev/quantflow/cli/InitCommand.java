package dev.quantflow.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

import dev.quantflow.cli.local.LocalCluster;
import dev.quantflow.cli.local.LocalClusterException;
import dev.quantflow.cli.local.Provisioning;
import dev.quantflow.pipeline.Topics;
import io.minio.MinioClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "init", mixinStandardHelpOptions = true,
    description = {"Create quantflow's topics and bucket on an existing Kafka and S3 store (idempotent).",
        "What docker-compose's init container runs; 'up' does this itself."})
final class InitCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--kafka", required = true, paramLabel = "HOST:PORT", description = "Kafka bootstrap servers.")
    String bootstrap;

    @Option(names = "--s3", required = true, paramLabel = "URL", description = "S3 endpoint, e.g. http://minio:9000.")
    String s3Endpoint;

    @Option(names = "--access-key", defaultValue = LocalCluster.ACCESS_KEY, description = "S3 access key (default ${DEFAULT-VALUE}).")
    String accessKey;

    @Option(names = "--secret-key", defaultValue = LocalCluster.SECRET_KEY, description = "S3 secret key (default ${DEFAULT-VALUE}).")
    String secretKey;

    @Option(names = "--bucket", defaultValue = LocalCluster.BUCKET, description = "Bucket (default ${DEFAULT-VALUE}).")
    String bucket;

    @Option(names = "--replication", defaultValue = "1", description = "Topic replication factor (default ${DEFAULT-VALUE}).")
    short replication;

    @Option(names = "--retry-for", paramLabel = "SECONDS", defaultValue = "120",
        description = "Keep retrying while Kafka or S3 are not reachable yet (default ${DEFAULT-VALUE}).")
    int retrySeconds;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        long deadline = System.nanoTime() + Duration.ofSeconds(retrySeconds).toNanos();
        while (true) {
            try {
                List<String> created;
                try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000,
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15000))) {
                    created = Provisioning.createTopics(admin, replication, Duration.ofSeconds(15));
                }
                boolean bucketCreated = Provisioning.createBucket(
                    MinioClient.builder().endpoint(s3Endpoint).credentials(accessKey, secretKey).build(), bucket);
                out.println("topics: " + created.size() + " created, " + (Topics.ALL.size() - created.size())
                    + " already there; bucket '" + bucket + "': " + (bucketCreated ? "created" : "already there"));
                return ExitCodes.OK;
            } catch (LocalClusterException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                spec.commandLine().getErr().println("not ready yet (" + e.getMessage() + "); retrying");
                Thread.sleep(2000);
            }
        }
    }
}
