package dev.quantflow.events;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
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
 * The wire format of every quantflow event, in one place for the services' worker kit and the Java client: Avro
 * single-object encoding (2-byte marker, 8-byte schema fingerprint, binary body). No schema registry is needed: the
 * fingerprint tells a reader which writer schema produced the bytes. Every decoder knows the current schema and every
 * released one ({@code history/v<N>/}, packaged in this jar under {@value #HISTORY} with an {@code INDEX}), so an event
 * written by a producer of an older release resolves to the current classes (fields added since take their defaults).
 */
public final class EventEncoding {

    /** Classpath folder of the released schema versions; its {@code INDEX} lists {@code v<N>/<file>.avsc}. */
    public static final String HISTORY = "quantflow/schema-history";

    private static final Map<Class<?>, BinaryMessageDecoder<?>> DECODERS = new ConcurrentHashMap<>();
    private static volatile Map<String, List<Schema>> history;

    private EventEncoding() {
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

    /**
     * Decodes bytes written for {@code type} with its current or any released schema.
     *
     * @throws IOException for empty bytes, another type's or an unknown schema, or a corrupt body
     */
    @SuppressWarnings("unchecked")
    public static <V extends SpecificRecord> V decode(byte[] bytes, Class<V> type) throws IOException {
        if (bytes == null) {
            throw new IOException("empty record value (expected " + type.getSimpleName() + ")");
        }
        BinaryMessageDecoder<V> decoder = (BinaryMessageDecoder<V>) DECODERS.computeIfAbsent(type, t -> {
            Schema current = SpecificData.get().getSchema(t);
            BinaryMessageDecoder<Object> d = new BinaryMessageDecoder<>(SpecificData.getForClass(t), current);
            long fingerprint = SchemaNormalization.parsingFingerprint64(current);
            for (Schema old : releasedSchemas().getOrDefault(current.getFullName(), List.of())) {
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

    /**
     * The released writer schemas by full name, read once from {@value #HISTORY}: each version's files are parsed in
     * name order with one parser (shared types come first, as in the build). No history on the classpath means none
     * is known (only the current schemas decode).
     *
     * @throws IllegalStateException when the index names a file that is not packaged
     */
    public static Map<String, List<Schema>> releasedSchemas() {
        Map<String, List<Schema>> known = history;
        if (known != null) {
            return known;
        }
        Map<String, List<Schema>> byName = new LinkedHashMap<>();
        ClassLoader loader = EventEncoding.class.getClassLoader();
        try (InputStream index = loader.getResourceAsStream(HISTORY + "/INDEX")) {
            if (index != null) {
                Map<String, Schema.Parser> parsers = new LinkedHashMap<>();
                List<String> files = new BufferedReader(new InputStreamReader(index, StandardCharsets.UTF_8)).lines()
                    .map(String::strip).filter(l -> !l.isEmpty()).sorted().toList();
                for (String file : files) {
                    String version = file.substring(0, file.indexOf('/'));
                    try (InputStream in = loader.getResourceAsStream(HISTORY + "/" + file)) {
                        if (in == null) {
                            throw new IllegalStateException("schema history lists " + file + " but it is not packaged");
                        }
                        Schema parsed = parsers.computeIfAbsent(version, v -> new Schema.Parser()).parse(in);
                        byName.computeIfAbsent(parsed.getFullName(), n -> new ArrayList<>()).add(parsed);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the schema history", e);
        }
        history = byName;
        return byName;
    }
}
