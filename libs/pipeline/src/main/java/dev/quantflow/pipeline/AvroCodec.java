package dev.quantflow.pipeline;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;

import dev.quantflow.events.EventEncoding;
import dev.quantflow.events.EventHeader;

/**
 * Events as Kafka values: {@link EventEncoding} (Avro single-object encoding, every released schema known, shared
 * with the Java client), with the kit's exception for what cannot be decoded.
 */
public final class AvroCodec {

    /** Classpath folder of the released schema versions. */
    public static final String HISTORY = EventEncoding.HISTORY;

    private AvroCodec() {
    }

    public static byte[] encode(SpecificRecord record) {
        return EventEncoding.encode(record);
    }

    /** Decodes bytes written for {@code type}; throws {@link UndecodableEventException} on anything else. */
    public static <V extends SpecificRecord> V decode(byte[] bytes, Class<V> type) {
        try {
            return EventEncoding.decode(bytes, type);
        } catch (IOException e) {
            throw new UndecodableEventException(e.getMessage(), e);
        }
    }

    /** The released writer schemas by full name ({@link EventEncoding#releasedSchemas()}). */
    static Map<String, List<Schema>> releasedSchemas() {
        return EventEncoding.releasedSchemas();
    }

    /** Every quantflow event has a {@code header} field. */
    public static EventHeader header(SpecificRecord event) {
        Object h = ((SpecificRecordBase) event).get("header");
        if (h instanceof EventHeader header) {
            return header;
        }
        throw new IllegalArgumentException(event.getClass().getSimpleName() + " has no event header");
    }
}
