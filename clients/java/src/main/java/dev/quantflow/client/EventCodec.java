package dev.quantflow.client;

import java.io.IOException;

import org.apache.avro.specific.SpecificRecord;

import dev.quantflow.events.EventEncoding;

/**
 * The wire format of every quantflow Kafka value: Avro single-object encoding (marker {@code C3 01}, the 8-byte
 * CRC-64-AVRO fingerprint of the writer schema, then the binary body), no schema registry: the schemas jar's
 * {@link EventEncoding}, which the services' worker kit uses too, so both write and read the same bytes. A decoder
 * knows the current schema and every released one the schemas jar packages ({@value #HISTORY}/INDEX), so events of
 * services one release older still decode (fields added since take their defaults).
 */
public final class EventCodec {

    static final String HISTORY = EventEncoding.HISTORY;

    private EventCodec() {
    }

    public static byte[] encode(SpecificRecord event) {
        return EventEncoding.encode(event);
    }

    /** Decodes a value written for {@code type}; a value of another schema or a corrupt one is an {@link IOException}. */
    public static <V extends SpecificRecord> V decode(byte[] bytes, Class<V> type) throws IOException {
        return EventEncoding.decode(bytes, type);
    }
}
