package dev.quantflow.pipeline.kafka;

/** Remembers which events a consumer group has finished, so a redelivered event is acknowledged without rework. */
public interface ProcessedEvents {

    boolean seen(String jobId, String group, String eventId) throws Exception;

    void mark(String jobId, String group, String eventId) throws Exception;
}
