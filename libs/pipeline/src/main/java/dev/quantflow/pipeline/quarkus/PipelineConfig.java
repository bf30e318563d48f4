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

    Faults faults();

    /** Fault injection for the fault suite (docs/reliability.md); every knob is off unless set. */
    interface Faults {
        /**
         * Halt the process (as SIGKILL) after the first delivery of an event of this job was handled, its outputs
         * published, before its processed marker and offset commit.
         */
        Optional<String> crashAfterHandleJob();
    }

    interface Kafka {
        /** Broker list; defaults to {@code kafka.bootstrap.servers} (env KAFKA_BOOTSTRAP_SERVERS). */
        String bootstrapServers();

        /** {@code security.protocol}, e.g. SASL_SSL (env KAFKA_SECURITY_PROTOCOL); empty = PLAINTEXT. */
        Optional<String> securityProtocol();

        /** {@code sasl.mechanism}, e.g. SCRAM-SHA-512 (env KAFKA_SASL_MECHANISM). */
        Optional<String> saslMechanism();

        /** {@code sasl.jaas.config} (env KAFKA_SASL_JAAS_CONFIG; Strimzi puts it in the KafkaUser's secret). */
        Optional<String> saslJaasConfig();

        /** {@code ssl.truststore.type}, e.g. PEM (env KAFKA_SSL_TRUSTSTORE_TYPE). */
        Optional<String> sslTruststoreType();

        /** {@code ssl.truststore.location} (env KAFKA_SSL_TRUSTSTORE_LOCATION). */
        Optional<String> sslTruststoreLocation();

        /** The authentication settings as Kafka client properties (only those that are set). */
        default java.util.Map<String, String> clientProperties() {
            java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
            securityProtocol().filter(v -> !v.isBlank()).ifPresent(v -> m.put("security.protocol", v));
            saslMechanism().filter(v -> !v.isBlank()).ifPresent(v -> m.put("sasl.mechanism", v));
            saslJaasConfig().filter(v -> !v.isBlank()).ifPresent(v -> m.put("sasl.jaas.config", v));
            sslTruststoreType().filter(v -> !v.isBlank()).ifPresent(v -> m.put("ssl.truststore.type", v));
            sslTruststoreLocation().filter(v -> !v.isBlank()).ifPresent(v -> m.put("ssl.truststore.location", v));
            return m;
        }
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

        /**
         * How long shutdown (SIGTERM) waits for an in-flight job to finish and be committed; a job still running
         * then is interrupted and its event handed back, uncommitted, to another process of the pool. Keep it
         * below the platform's kill deadline (Kubernetes {@code terminationGracePeriodSeconds}).
         */
        @WithDefault("60s")
        Duration shutdownGrace();

        /**
         * The consumer's {@code max.poll.interval.ms}. The worker polls every 200 ms while a job runs, with its
         * partitions paused, so jobs may take far longer than this; it only bounds a stuck poll thread.
         */
        @WithDefault("5m")
        Duration maxPollInterval();

        /** The consumer's {@code session.timeout.ms}: how long the pool waits before taking over a killed process's partitions. */
        @WithDefault("45s")
        Duration sessionTimeout();

        /**
         * Test and demo aid, off ({@code 0s}) by default: every handled event takes at least this long, the
         * remainder spent after the handler (outputs published, offset not yet committed). Makes a fast stage
         * behave like a slow one, to show long jobs, scaling and crash recovery with real services.
         */
        @WithDefault("0s")
        Duration minJobDuration();

        /**
         * Deliveries of one event that may end with the worker dead (killed for memory, crashed) before the next
         * delivery sends the event to {@code quantflow.dlq} and fails the job with STAGE_CRASHED.
         */
        @WithDefault("3")
        int maxDeliveries();

        /**
         * How often a working stage publishes a heartbeat status. Keep it well below the supervisor's
         * {@code quantflow.supervisor.stage-lease} (intake), which fails a silent stage's job with STAGE_LOST.
         */
        @WithDefault("30s")
        Duration heartbeatInterval();

        /**
         * How long a cancelled job's work thread gets to return (past {@code max-job-duration}, or its job failed
         * meanwhile); one still busy after that is abandoned, a fresh thread takes the next events and the health is
         * DOWN until it returns (liveness: an orchestrator restarts the process).
         */
        @WithDefault("10s")
        Duration stuckGrace();

        /**
         * How long a job waits out an outage of the object store or the broker (connection refused, reset) without
         * spending its tries; then it fails with STAGE_ERROR naming the outage.
         */
        @WithDefault("2m")
        Duration outageWindow();
    }
}
