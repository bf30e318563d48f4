package dev.quantflow.pipeline.kafka;

import java.util.Optional;

/**
 * The stage worker's durable notes about jobs, shared by every process of every pool: which jobs have failed (so no
 * stage works on them any more) and how often each event was delivered (so a record that kills its worker is given
 * up on instead of being redelivered forever). Kept in the artifact store by {@link StoreWorkLedger}.
 */
public interface WorkLedger {

    /** The failure marker of the job ({@code CODE: reason}) when it has failed; empty while it may still run. */
    Optional<String> failure(String jobId) throws Exception;

    /** Marks the job failed; later work on it is dropped by every stage. */
    void markFailed(String jobId, String reasonCode, String reason) throws Exception;

    /** The delivery record of an event in a group, {@link Delivery#NONE} when there is none yet. */
    Delivery delivery(String jobId, String group, String eventId) throws Exception;

    void saveDelivery(String jobId, String group, String eventId, Delivery delivery) throws Exception;

    /** Notes one stage run (its duration and peak memory) for the job's report; kept nowhere by default. */
    default void saveStageRun(String jobId, StageRun run) throws Exception {
    }

    /** The stage runs noted for the job, in no particular order. */
    default java.util.List<StageRun> stageRuns(String jobId) throws Exception {
        return java.util.List.of();
    }

    /** Keeps nothing and knows of no failure: for tests and tools that run a worker without a store. */
    WorkLedger NONE = new WorkLedger() {
        @Override
        public Optional<String> failure(String jobId) {
            return Optional.empty();
        }

        @Override
        public void markFailed(String jobId, String reasonCode, String reason) {
        }

        @Override
        public Delivery delivery(String jobId, String group, String eventId) {
            return Delivery.NONE;
        }

        @Override
        public void saveDelivery(String jobId, String group, String eventId, Delivery delivery) {
        }
    };
}
