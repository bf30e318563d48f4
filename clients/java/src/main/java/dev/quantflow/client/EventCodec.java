package dev.quantflow.client;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * The wire format of every quantflow Kafka value: Avro single-object encoding (marker {@code C3 01}, the 8-byte
 * CRC-64-AVRO fingerprint of the writer schema, then the binary body), no schema registry. The same rules as the
 * services' codec in libs/pipeline, kept here so the client does not depend on the worker kit.
 */
public final class EventCodec {

    private EventCodec() {
    }

    public static byte[] encode(SpecificRecord event) {
        BinaryMessageEncoder<SpecificRecord> encoder =
            new BinaryMessageEncoder<>(SpecificData.getForClass(event.getClass()), event.getSchema());
        try {
            ByteBuffer buf = encoder.encode(event);
            byte[] out = new byte[buf.remaining()];
            buf.get(out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode " + event.getClass().getSimpleName(), e);
        }
    }

    /** Decodes a value written for {@code type}; a value of another schema or a corrupt one is an {@link IOException}. */
    public static <V extends SpecificRecord> V decode(byte[] bytes, Class<V> type) throws IOException {
        if (bytes == null) {
            throw new IOException("empty record value (expected " + type.getSimpleName() + ")");
        }
        BinaryMessageDecoder<V> decoder =
            new BinaryMessageDecoder<>(SpecificData.getForClass(type), SpecificData.get().getSchema(type));
        try {
            return decoder.decode(bytes);
        } catch (RuntimeException e) {
            throw new IOException("not a " + type.getSimpleName() + " event: " + e.getMessage(), e);
        }
    }
}
