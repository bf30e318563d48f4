package dev.quantflow.pipeline.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreException;

/**
 * {@link WorkLedger} as small objects in the artifact store next to the job's artifacts
 * ({@code jobs/<job>/failed}, {@code jobs/<job>/deliveries/<group>/<eventId>}, {@code jobs/<job>/stages/…}): durable across restarts and shared by
 * every process, with no extra database. Counting is read-then-write, not atomic: two processes starting the same
 * event at the same moment (a partition moving mid-job) may count one delivery instead of two, which only delays
 * the dead-lettering by one delivery.
 */
public final class StoreWorkLedger implements WorkLedger {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ArtifactStore store;

    public StoreWorkLedger(ArtifactStore store) {
        this.store = store;
    }

    @Override
    public Optional<String> failure(String jobId) throws StoreException {
        return read(ArtifactKeys.failedMarker(jobId)).map(b -> new String(b, StandardCharsets.UTF_8));
    }

    @Override
    public void markFailed(String jobId, String reasonCode, String reason) throws StoreException {
        store.put(ArtifactKeys.failedMarker(jobId), (reasonCode + ": " + reason).getBytes(StandardCharsets.UTF_8), "text/plain");
    }

    @Override
    public Delivery delivery(String jobId, String group, String eventId) throws Exception {
        Optional<byte[]> bytes = read(ArtifactKeys.deliveries(jobId, group, eventId));
        return bytes.isEmpty() ? Delivery.NONE : decode(bytes.get());
    }

    @Override
    public void saveDelivery(String jobId, String group, String eventId, Delivery delivery) throws Exception {
        store.put(ArtifactKeys.deliveries(jobId, group, eventId), encode(delivery), "application/json");
    }

    @Override
    public void saveStageRun(String jobId, StageRun run) throws Exception {
        store.put(ArtifactKeys.stageRun(jobId, run.group(), run.eventId()), JSON.writeValueAsBytes(run), "application/json");
    }

    @Override
    public java.util.List<StageRun> stageRuns(String jobId) throws Exception {
        java.util.List<StageRun> runs = new java.util.ArrayList<>();
        for (String key : store.list(ArtifactKeys.stageRuns(jobId))) {
            if (key.endsWith(".json")) {
                try {
                    runs.add(JSON.readValue(store.get(key), StageRun.class));
                } catch (StoreException e) {
                    if (!e.notFound()) {
                        throw e;
                    }
                }
            }
        }
        return runs;
    }

    static byte[] encode(Delivery delivery) throws java.io.IOException {
        return JSON.writeValueAsBytes(delivery);
    }

    static Delivery decode(byte[] json) throws java.io.IOException {
        return JSON.readValue(json, Delivery.class);
    }

    private Optional<byte[]> read(String key) throws StoreException {
        try {
            return Optional.of(store.get(key));
        } catch (StoreException e) {
            if (e.notFound()) {
                return Optional.empty();
            }
            throw e;
        }
    }
}
