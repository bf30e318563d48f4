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
 *                          supervisor's stage lease; also how often a working stage checks whether its job has
 *                          failed meanwhile (the supervisor's DEADLINE_EXCEEDED / STAGE_LOST) and abandons it if so
 * @param stuckGrace        how long the work thread gets to return after its work was cancelled (past
 *                          {@code max-job-duration}, or its job failed meanwhile); a thread still busy after that is
 *                          stuck (a native call that cannot be interrupted): it is abandoned, a fresh work thread
 *                          takes the next events and the worker's health is DOWN until the stuck thread returns
 * @param outageWindow      how long a job waits out an outage of the store or the broker (its tries failing with
 *                          {@link dev.quantflow.pipeline.Failures#isUnavailable}: connection refused, reset, …)
 *                          without spending its tries, backing off up to 5 s between tries; after that it fails
 *                          with STAGE_ERROR naming the outage
 * @param crashAfterHandleJob fault injection for the fault suite, null (off) in production: the process halts (as
 *                          if SIGKILLed) after the handler finished the first delivery of an event of this job, its
 *                          outputs published, and before the processed marker and the offset commit
 */
public record GuardSettings(int maxDeliveries, Duration heartbeatInterval, Duration stuckGrace, Duration outageWindow,
                            String crashAfterHandleJob) {

    public static final Duration DEFAULT_STUCK_GRACE = Duration.ofSeconds(10);
    public static final Duration DEFAULT_OUTAGE_WINDOW = Duration.ofMinutes(2);
    public static final GuardSettings DEFAULTS = new GuardSettings(3, Duration.ofSeconds(30), DEFAULT_STUCK_GRACE);

    public GuardSettings(int maxDeliveries, Duration heartbeatInterval) {
        this(maxDeliveries, heartbeatInterval, DEFAULT_STUCK_GRACE);
    }

    public GuardSettings(int maxDeliveries, Duration heartbeatInterval, Duration stuckGrace) {
        this(maxDeliveries, heartbeatInterval, stuckGrace, DEFAULT_OUTAGE_WINDOW, null);
    }

    boolean crashesAfterHandling(String jobId, Delivery delivery) {
        return crashAfterHandleJob != null && !crashAfterHandleJob.isBlank() && crashAfterHandleJob.equals(jobId)
            && delivery != null && delivery.count() == 1;
    }

    public GuardSettings {
        Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
        Objects.requireNonNull(stuckGrace, "stuckGrace");
        Objects.requireNonNull(outageWindow, "outageWindow");
        if (stuckGrace.isNegative()) {
            throw new IllegalArgumentException("stuckGrace is negative: " + stuckGrace);
        }
        if (maxDeliveries < 1) {
            throw new IllegalArgumentException("maxDeliveries must be at least 1; was " + maxDeliveries);
        }
        if (heartbeatInterval.toMillis() < 100) {
            throw new IllegalArgumentException("heartbeatInterval below 100 ms: " + heartbeatInterval);
        }
    }
}
