package dev.quantflow.cli.local;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import dev.quantflow.pipeline.Topics;
import io.minio.BucketExistsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;

/**
 * Creates what quantflow needs on a Kafka cluster and an S3 store: every topic of {@link Topics#ALL} with its
 * partitions and configuration, and the bucket. Idempotent: what exists is left alone. Used by LocalCluster and by
 * {@code quantflow init} (the docker-compose init container).
 */
public final class Provisioning {

    private Provisioning() {
    }

    /** Creates the missing topics (replication factor {@code replication}); returns the names it created. */
    public static List<String> createTopics(Admin admin, short replication, Duration timeout) {
        try {
            Set<String> existing = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            List<NewTopic> missing = Topics.ALL.stream().filter(t -> !existing.contains(t.name()))
                .map(t -> new NewTopic(t.name(), t.partitions(), replication).configs(t.config())).toList();
            if (missing.isEmpty()) {
                return List.of();
            }
            for (var entry : admin.createTopics(missing).values().entrySet()) {
                try {
                    entry.getValue().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new LocalClusterException("cannot create topic " + entry.getKey() + ": "
                            + e.getCause().getMessage(), e);
                    }
                }
            }
            return missing.stream().map(NewTopic::name).toList();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalClusterException("interrupted while creating topics", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new LocalClusterException("cannot list or create topics: " + e, e);
        }
    }

    /** Creates the bucket unless it exists; returns whether it created it. */
    public static boolean createBucket(MinioClient minio, String bucket) {
        try {
            if (minio.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
                return false;
            }
            minio.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
            return true;
        } catch (Exception e) {
            throw new LocalClusterException("cannot create bucket '" + bucket + "': " + e, e);
        }
    }
}
