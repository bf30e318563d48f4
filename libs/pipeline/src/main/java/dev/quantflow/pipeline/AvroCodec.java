package dev.quantflow.pipeline;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;

import dev.quantflow.events.EventHeader;

/**
 * Avro single-object encoding (2-byte marker, 8-byte schema fingerprint, binary body) for Kafka values. No schema
 * registry is needed: the fingerprint tells a reader which writer schema produced the bytes, and a reader can be
 * taught older writer schemas (from {@code schemas/history}) as the contract evolves.
 */
public final class AvroCodec {

    private static final Map<Class<?>, BinaryMessageDecoder<?>> DECODERS = new ConcurrentHashMap<>();

    private AvroCodec() {
    }

    public static byte[] encode(SpecificRecord record) {
        try {
            @SuppressWarnings("unchecked")
            BinaryMessageEncoder<SpecificRecord> encoder =
                new BinaryMessageEncoder<>(SpecificData.getForClass(record.getClass()), record.getSchema());
            ByteBuffer buf = encoder.encode(record);
            byte[] out = new byte[buf.remaining()];
            buf.get(out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode " + record.getClass().getSimpleName(), e);
        }
    }

    /** Decodes bytes written for {@code type}; throws {@link UndecodableEventException} on anything else. */
    @SuppressWarnings("unchecked")
    public static <V extends SpecificRecord> V decode(byte[] bytes, Class<V> type) {
        if (bytes == null) {
            throw new UndecodableEventException("empty record value (expected " + type.getSimpleName() + ")");
        }
        BinaryMessageDecoder<V> decoder = (BinaryMessageDecoder<V>) DECODERS.computeIfAbsent(type, t -> {
            var schema = SpecificData.get().getSchema(t);
            return new BinaryMessageDecoder<>(SpecificData.getForClass(t), schema);
        });
        try {
            return decoder.decode(bytes);
        } catch (Exception e) {
            throw new UndecodableEventException("not a " + type.getSimpleName() + " event: " + e.getMessage(), e);
        }
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
