package dev.quantflow.pipeline.kafka;

import java.time.Duration;

/**
 * Kafka connection and worker settings.
 *
 * @param bootstrapServers broker list
 * @param maxJobDuration   longest a single stage may run before it is treated as failed
 * @param maxAttempts      tries for a retriable failure (broker, store) before the job is failed with STAGE_ERROR
 */
public record KafkaSettings(String bootstrapServers, Duration maxJobDuration, int maxAttempts, Duration retryBackoff) {

    public static KafkaSettings of(String bootstrapServers) {
        return new KafkaSettings(bootstrapServers, Duration.ofMinutes(60), 3, Duration.ofSeconds(1));
    }
}
