package dev.quantflow.pipeline.kafka;

import java.time.Duration;
import java.util.Objects;

/**
 * Kafka connection and worker settings.
 *
 * @param bootstrapServers broker list
 * @param maxJobDuration   longest a single stage may run before it is treated as failed
 * @param maxAttempts      tries for a retriable failure (broker, store) before the job is failed with STAGE_ERROR
 * @param retryBackoff     wait before the second try; doubled for each further try
 * @param maxPollInterval  the consumer's {@code max.poll.interval.ms}: the longest gap between two polls before the
 *                         member is dropped from its group. The worker polls every few hundred milliseconds while a
 *                         job runs, so this bounds a stuck poll thread, not the length of a job
 * @param sessionTimeout   the consumer's {@code session.timeout.ms}: how long the group waits for a silent (killed)
 *                         process before giving its partitions to the others
 * @param minJobDuration   test and demo aid, zero (off) by default: every handled event takes at least this long, the
 *                         remainder spent on the work thread after the handler returned (outputs already published,
 *                         offset not yet committed), exactly as a slow stage would
 */
public record KafkaSettings(String bootstrapServers, Duration maxJobDuration, int maxAttempts, Duration retryBackoff,
                            Duration maxPollInterval, Duration sessionTimeout, Duration minJobDuration,
                            java.util.Map<String, String> clientProperties) {

    /** Kafka's own defaults for {@code max.poll.interval.ms} (5 min) and {@code session.timeout.ms} (45 s). */
    public static final Duration DEFAULT_MAX_POLL_INTERVAL = Duration.ofMinutes(5);
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(45);

    public KafkaSettings {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(maxJobDuration, "maxJobDuration");
        Objects.requireNonNull(retryBackoff, "retryBackoff");
        maxPollInterval = maxPollInterval == null ? DEFAULT_MAX_POLL_INTERVAL : maxPollInterval;
        sessionTimeout = sessionTimeout == null ? DEFAULT_SESSION_TIMEOUT : sessionTimeout;
        minJobDuration = minJobDuration == null ? Duration.ZERO : minJobDuration;
        clientProperties = clientProperties == null ? java.util.Map.of() : java.util.Map.copyOf(clientProperties);
        if (maxPollInterval.toMillis() < 1000) {
            throw new IllegalArgumentException("maxPollInterval below 1 s: " + maxPollInterval);
        }
        if (minJobDuration.isNegative()) {
            throw new IllegalArgumentException("minJobDuration is negative: " + minJobDuration);
        }
    }

    /** Without extra client properties (a plaintext broker). */
    public KafkaSettings(String bootstrapServers, Duration maxJobDuration, int maxAttempts, Duration retryBackoff,
                         Duration maxPollInterval, Duration sessionTimeout, Duration minJobDuration) {
        this(bootstrapServers, maxJobDuration, maxAttempts, retryBackoff, maxPollInterval, sessionTimeout, minJobDuration,
            null);
    }

    /** The original four settings; consumer timeouts at Kafka's defaults, no minimum job duration. */
    public KafkaSettings(String bootstrapServers, Duration maxJobDuration, int maxAttempts, Duration retryBackoff) {
        this(bootstrapServers, maxJobDuration, maxAttempts, retryBackoff, null, null, null, null);
    }

    public static KafkaSettings of(String bootstrapServers) {
        return new KafkaSettings(bootstrapServers, Duration.ofMinutes(60), 3, Duration.ofSeconds(1));
    }
}
