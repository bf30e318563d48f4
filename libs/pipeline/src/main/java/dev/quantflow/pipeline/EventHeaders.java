package dev.quantflow.pipeline;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

import dev.quantflow.events.EventHeader;

/** Builds event headers. Ids of events caused by another event are derived from it, so a redelivery repeats them. */
public final class EventHeaders {

    private EventHeaders() {
    }

    /** A header for an event that starts something (a new job, a user's request). */
    public static EventHeader fresh(String jobId, int attempt, String producer, String version) {
        return build(UUID.randomUUID().toString(), jobId, attempt, producer, version);
    }

    /**
     * A header for an event caused by {@code cause}: its id is a name-based UUID of (cause id, producer, purpose), so
     * processing the same input twice emits events with the same ids and downstream consumers drop the repeat.
     */
    public static EventHeader derived(EventHeader cause, int attempt, String producer, String version, String purpose) {
        String seed = cause.getEventId() + "|" + producer + "|" + purpose + "|" + attempt;
        return build(UUID.nameUUIDFromBytes(seed.getBytes(StandardCharsets.UTF_8)).toString(), cause.getJobId(), attempt,
            producer, version);
    }

    private static EventHeader build(String eventId, String jobId, int attempt, String producer, String version) {
        return EventHeader.newBuilder()
            .setEventId(eventId)
            .setJobId(jobId)
            .setAttempt(attempt)
            .setOccurredAt(Instant.now())
            .setProducer(producer)
            .setProducerVersion(version)
            .build();
    }
}
