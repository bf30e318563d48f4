package dev.quantflow.pipeline.kafka;

import org.apache.avro.specific.SpecificRecord;

import dev.quantflow.pipeline.Topics.Topic;

/**
 * One stage's work on one event. Throw {@link dev.quantflow.pipeline.PermanentStageException} for failures that
 * retrying cannot fix; any other exception is retried with back-off and then fails the job with STAGE_ERROR.
 */
public interface StageHandler<V extends SpecificRecord> {

    /** The topic this stage consumes. */
    Topic<V> topic();

    /** Stage name (status events, failure events). */
    String stage();

    /** Consumer group: all processes of one pool share it, so each event is worked on by one of them. */
    String group();

    void handle(V event, StageContext context) throws Exception;
}
