package dev.quantflow.pipeline.quarkus;

import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Configuration shared by every stage service ({@code quantflow.*}). */
@ConfigMapping(prefix = "quantflow")
public interface PipelineConfig {

    Kafka kafka();

    Store store();

    Worker worker();

    interface Kafka {
        /** Broker list; defaults to {@code kafka.bootstrap.servers} (env KAFKA_BOOTSTRAP_SERVERS). */
        String bootstrapServers();
    }

    interface Store {
        /** S3 endpoint, e.g. http://127.0.0.1:9000 (env QUANTFLOW_STORE_ENDPOINT). */
        String endpoint();

        @WithDefault("quantflow")
        String accessKey();

        @WithDefault("quantflow-secret")
        String secretKey();

        /** Bucket holding every job's artifacts. */
        @WithDefault("quantflow")
        String bucket();

        Optional<String> region();
    }

    interface Worker {
        /** Longest a single stage may work on one event. */
        @WithDefault("60m")
        Duration maxJobDuration();

        /** Tries for transient failures (broker, store) before the job fails with STAGE_ERROR. */
        @WithDefault("3")
        int maxAttempts();

        @WithDefault("1s")
        Duration retryBackoff();

        /** How long shutdown waits for an in-flight job before leaving it to another process. */
        @WithDefault("60s")
        Duration shutdownGrace();
    }
}
