package dev.quantflow.contracts;

import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The one JSON mapper of the stage artifacts ({@code summary.json}, {@code metrics.json}, {@code report.json}).
 * Writing and reading go through the records of this package, so a key is named once, in a record component, for
 * every writer and reader. Readers ignore unknown keys (an older reader meets a newer writer); absent keys read as
 * null. Doubles that are not finite (a diverged training loss) are written as the strings {@code "NaN"},
 * {@code "Infinity"}, {@code "-Infinity"} (Jackson's default) and read back as doubles.
 */
public final class StageJson {

    /** Indented, like every artifact written before the records existed. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private StageJson() {
    }

    public static byte[] write(Object artifact) {
        try {
            return MAPPER.writeValueAsBytes(artifact);
        } catch (IOException e) {
            throw new IllegalStateException("not serializable as JSON: " + artifact.getClass().getName(), e);
        }
    }

    /** @throws UncheckedIOException when the bytes are not JSON of that shape */
    public static <T> T read(byte[] json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException e) {
            throw new UncheckedIOException("not a readable " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }
}
