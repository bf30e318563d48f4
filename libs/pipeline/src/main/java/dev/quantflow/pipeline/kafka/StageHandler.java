package dev.quantflow.pipeline.kafka;

import org.apache.avro.specific.SpecificRecord;

import dev.quantflow.pipeline.Topics.Topic;

/**
 * One stage's work on one event. Throw {@link dev.quantflow.pipeline.PermanentStageException} for failures that
 * retrying cannot fix; any other exception is retried with back-off and then fails the job with STAGE_ERROR.
 */
public interface StageHandler<V extends SpecificRecord> {

    /**
     * Where a stage sits in the workflow.
     *
     * @param topic the topic it consumes
     * @param stage its name in status and failure events
     * @param group its consumer group: all processes of one pool share it, so each event goes to one of them
     * @param failsJob whether a failure here fails the job (a {@code JobFailed} and a FAILED status). False for side
     *                 work on a finished job — hardware profiling, adding profiles to the report — whose failure must
     *                 not turn a READY job into a FAILED one; such failures are logged and the event is skipped.
     */
    record Binding<V extends SpecificRecord>(Topic<V> topic, String stage, String group, boolean failsJob) {

        public Binding(Topic<V> topic, String stage, String group) {
            this(topic, stage, group, true);
        }
    }

    Binding<V> binding();

    default Topic<V> topic() {
        return binding().topic();
    }

    default String stage() {
        return binding().stage();
    }

    default String group() {
        return binding().group();
    }

    void handle(V event, StageContext context) throws Exception;
}
