package dev.quantflow.pipeline.kafka;

import java.time.Duration;

/**
 * What a {@link StageWorker} reports about its work, for dashboards. The worker calls it from its poll thread; an
 * implementation must not block. {@link dev.quantflow.pipeline.quarkus.MicrometerStageMetrics} turns the calls
 * into Micrometer meters; {@link #NONE} drops them (tests, tools).
 */
public interface StageMetrics {

    /** A decoded event that the stage starts working on (redeliveries included; skipped repeats are not). */
    void jobIn(int jobAttempt);

    /** The stage finished the event and handed its outputs on. */
    void jobOut(Duration took);

    /**
     * The stage failed the job (or, for side work, the event) with this reason code; {@code took} is null when the
     * stage did not work on it (an undecodable record, a record given up on after its workers died).
     */
    void jobFailed(String reasonCode, Duration took);

    /** One delivery of an event counted by the ledger; {@code redelivery} when an earlier one never finished. */
    void delivery(boolean redelivery);

    /** A try of the handler that failed transiently and is retried in this process. */
    void retry();

    /** A record sent to the dead-letter topic, with its reason code. */
    void deadLetter(String reasonCode);

    /** The process's peak resident memory seen at the end of a job (bytes; negative when unknown). */
    void peakRss(long bytes);

    /** Records waiting behind this worker's position on its assigned partitions. */
    void lag(long records);

    /** Work that ignored its cancellation (a native call) and whose thread was abandoned. */
    default void stuck() {
    }

    StageMetrics NONE = new StageMetrics() {
        @Override
        public void jobIn(int jobAttempt) {
        }

        @Override
        public void jobOut(Duration took) {
        }

        @Override
        public void jobFailed(String reasonCode, Duration took) {
        }

        @Override
        public void delivery(boolean redelivery) {
        }

        @Override
        public void retry() {
        }

        @Override
        public void deadLetter(String reasonCode) {
        }

        @Override
        public void peakRss(long bytes) {
        }

        @Override
        public void lag(long records) {
        }
    };
}
