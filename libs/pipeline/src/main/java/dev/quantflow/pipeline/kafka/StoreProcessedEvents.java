package dev.quantflow.pipeline.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;

/**
 * Processed-event markers kept as small objects in the artifact store, next to the job's artifacts: durable across
 * restarts and shared by every process of a pool, with no extra database.
 */
public final class StoreProcessedEvents implements ProcessedEvents {

    private final ArtifactStore store;

    public StoreProcessedEvents(ArtifactStore store) {
        this.store = store;
    }

    @Override
    public boolean seen(String jobId, String group, String eventId) throws Exception {
        return store.exists(ArtifactKeys.processedMarker(jobId, group, eventId));
    }

    @Override
    public void mark(String jobId, String group, String eventId) throws Exception {
        store.put(ArtifactKeys.processedMarker(jobId, group, eventId),
            Instant.now().toString().getBytes(StandardCharsets.UTF_8), "text/plain");
    }
}
