package dev.quantflow.pipeline.kafka;

import java.time.Duration;
import java.util.Objects;

/**
 * The stage worker's guards against lost and poisonous work.
 *
 * @param maxDeliveries     deliveries of one event to a group that may end without the event being finished (the
 *                          worker died) before the next one sends it to the dead-letter topic and fails the job with
 *                          STAGE_CRASHED
 * @param heartbeatInterval how often a working stage publishes a heartbeat status; keep it well below the
 *                          supervisor's stage lease
 */
public record GuardSettings(int maxDeliveries, Duration heartbeatInterval) {

    public static final GuardSettings DEFAULTS = new GuardSettings(3, Duration.ofSeconds(30));

    public GuardSettings {
        Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
        if (maxDeliveries < 1) {
            throw new IllegalArgumentException("maxDeliveries must be at least 1; was " + maxDeliveries);
        }
        if (heartbeatInterval.toMillis() < 100) {
            throw new IllegalArgumentException("heartbeatInterval below 100 ms: " + heartbeatInterval);
        }
    }
}
