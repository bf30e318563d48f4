package dev.quantflow.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * The wire format of every quantflow Kafka value: Avro single-object encoding (marker {@code C3 01}, the 8-byte
 * CRC-64-AVRO fingerprint of the writer schema, then the binary body), no schema registry. The same rules as the
 * services' codec in libs/pipeline, kept here so the client does not depend on the worker kit: a decoder knows the
 * current schema and every released one the schemas jar packages ({@value #HISTORY}/INDEX), so events of services
 * one release older still decode (fields added since take their defaults).
 */
public final class EventCodec {

    static final String HISTORY = "quantflow/schema-history";

    private static final Map<Class<?>, BinaryMessageDecoder<?>> DECODERS = new ConcurrentHashMap<>();
    private static volatile Map<String, List<Schema>> released;

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
    @SuppressWarnings("unchecked")
    public static <V extends SpecificRecord> V decode(byte[] bytes, Class<V> type) throws IOException {
        if (bytes == null) {
            throw new IOException("empty record value (expected " + type.getSimpleName() + ")");
        }
        BinaryMessageDecoder<V> decoder = (BinaryMessageDecoder<V>) DECODERS.computeIfAbsent(type, t -> {
            Schema current = SpecificData.get().getSchema(t);
            BinaryMessageDecoder<Object> d = new BinaryMessageDecoder<>(SpecificData.getForClass(t), current);
            long fingerprint = SchemaNormalization.parsingFingerprint64(current);
            for (Schema old : released().getOrDefault(current.getFullName(), List.of())) {
                if (SchemaNormalization.parsingFingerprint64(old) != fingerprint) {
                    d.addSchema(old);
                }
            }
            return d;
        });
        try {
            return decoder.decode(bytes);
        } catch (IOException | RuntimeException e) {
            throw new IOException("not a " + type.getSimpleName() + " event: " + e.getMessage(), e);
        }
    }

    /** Released schemas by full name: each version's files parsed in name order with one parser per version. */
    static Map<String, List<Schema>> released() {
        Map<String, List<Schema>> known = released;
        if (known != null) {
            return known;
        }
        Map<String, List<Schema>> byName = new LinkedHashMap<>();
        ClassLoader loader = EventCodec.class.getClassLoader();
        try (InputStream index = loader.getResourceAsStream(HISTORY + "/INDEX")) {
            if (index != null) {
                Map<String, Schema.Parser> parsers = new LinkedHashMap<>();
                List<String> files = new BufferedReader(new InputStreamReader(index, StandardCharsets.UTF_8)).lines()
                    .map(String::strip).filter(l -> !l.isEmpty()).sorted().toList();
                for (String file : files) {
                    String version = file.substring(0, file.indexOf('/'));
                    try (InputStream in = loader.getResourceAsStream(HISTORY + "/" + file)) {
                        if (in == null) {
                            continue; // listed but not packaged: that version is simply not known
                        }
                        Schema parsed = parsers.computeIfAbsent(version, v -> new Schema.Parser()).parse(in);
                        byName.computeIfAbsent(parsed.getFullName(), n -> new ArrayList<>()).add(parsed);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            byName.clear(); // an unreadable history leaves the current schemas only
        }
        released = byName;
        return byName;
    }
}
