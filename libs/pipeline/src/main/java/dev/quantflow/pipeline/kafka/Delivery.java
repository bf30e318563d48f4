package dev.quantflow.pipeline.kafka;

/**
 * What the poison-record guard knows about one event in one consumer group.
 *
 * @param count        deliveries to this group that started work on it (this one included) and did not hand it back
 * @param lastError    the last error a try ended with, empty when none was seen (a killed worker leaves none)
 * @param peakRssBytes peak resident memory of the worker process at its last heartbeat, or -1 when unknown
 */
public record Delivery(int count, String lastError, long peakRssBytes) {

    public static final Delivery NONE = new Delivery(0, "", -1);

    public Delivery {
        lastError = lastError == null ? "" : lastError;
    }

    public Delivery next() {
        return new Delivery(count + 1, lastError, peakRssBytes);
    }

    public Delivery handedBack() {
        return new Delivery(Math.max(0, count - 1), lastError, peakRssBytes);
    }

    public Delivery withError(String error) {
        return new Delivery(count, error, peakRssBytes);
    }

    public Delivery withPeakRss(long bytes) {
        return new Delivery(count, lastError, bytes < 0 ? peakRssBytes : Math.max(bytes, peakRssBytes));
    }
}
