package dev.quantflow.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

import dev.quantflow.events.EventHeader;

/**
 * Old producers' events at run time (issue 14, item 8): every event type of every released schema version, written
 * with that version's schema as an older service would write it, decodes into today's classes.
 */
class AvroCodecHistoryTest {

    private static final Path HISTORY_DIR = Path.of("../../schemas/history");

    @Test
    void everyEventOfEveryReleasedVersionDecodesIntoTheCurrentClasses() throws Exception {
        Map<String, List<Schema>> released = AvroCodec.releasedSchemas();
        List<String> checked = new ArrayList<>();
        for (Map.Entry<String, List<Schema>> e : released.entrySet()) {
            for (Schema old : e.getValue()) {
                if (old.getField("header") == null) {
                    continue; // a shared type, not an event
                }
                @SuppressWarnings("unchecked")
                Class<? extends SpecificRecord> current = (Class<? extends SpecificRecord>) Class.forName(e.getKey());
                GenericRecord datum = (GenericRecord) minimal(old, "job-" + checked.size());
                byte[] bytes = encode(old, datum);
                SpecificRecord decoded = AvroCodec.decode(bytes, current);
                EventHeader header = AvroCodec.header(decoded);
                assertThat(header.getJobId()).as(old.getFullName()).isEqualTo("job-" + checked.size());
                checked.add(old.getName());
            }
        }
        // v1 has 8 event types (10- to 17-*.avsc); later versions add more: each (type, version) pair checked once.
        assertThat(checked).hasSizeGreaterThanOrEqualTo(8 * released.get("dev.quantflow.events.EventHeader").size());
    }

    @Test
    void anOldRecipeWithoutTodaysFieldsTakesTheirDefaults() throws Exception {
        Schema v1 = released("dev.quantflow.events.QuantizeRequested").get(0);
        Schema v1Recipe = released("dev.quantflow.events.Recipe").get(0);
        assertThat(v1Recipe.getField("bits")).as("v1's Recipe predates the LLM fields").isNull();
        GenericRecord datum = (GenericRecord) minimal(v1, "job-old");
        byte[] bytes = encode(v1, datum);
        var decoded = AvroCodec.decode(bytes, dev.quantflow.events.QuantizeRequested.class);
        assertThat(decoded.getHeader().getJobId()).isEqualTo("job-old");
        var recipe = decoded.getContext().getPlan().getRecipe();
        assertThat(recipe.getBits()).as("added field, default").isEqualTo(8);
        assertThat(recipe.getBlockSize()).isEqualTo(128);
        assertThat(recipe.getHighPrecisionNodes()).isEmpty();
    }

    @Test
    void bytesOfAnUnknownSchemaAreStillRefused() {
        Schema alien = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"JobStatus\",\"namespace\":"
            + "\"dev.quantflow.events\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}");
        GenericRecord r = new GenericData.Record(alien);
        r.put("x", 1);
        assertThatThrownBy(() -> AvroCodec.decode(encode(alien, r), dev.quantflow.events.JobStatus.class))
            .isInstanceOf(UndecodableEventException.class);
    }

    @Test
    void theIndexListsExactlyTheFilesOfTheHistoryFolder() throws IOException {
        List<String> onDisk;
        try (Stream<Path> files = Files.walk(HISTORY_DIR)) {
            onDisk = files.filter(f -> f.toString().endsWith(".avsc"))
                .map(f -> HISTORY_DIR.relativize(f).toString().replace('\\', '/')).sorted().toList();
        }
        List<String> index = Files.readAllLines(HISTORY_DIR.resolve("INDEX")).stream().map(String::strip)
            .filter(l -> !l.isEmpty()).sorted().toList();
        assertThat(index).as("schemas/history/INDEX (regenerate: cd schemas/history && find . -name '*.avsc' | "
            + "sed 's|^./||' | sort > INDEX)").isEqualTo(onDisk);
    }

    private static List<Schema> released(String name) {
        return AvroCodec.releasedSchemas().get(name);
    }

    private static byte[] encode(Schema writer, GenericRecord datum) throws IOException {
        ByteBuffer buf = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), writer).encode(datum);
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    /** The smallest valid datum of {@code s}: defaults where the schema has them, else one value of each type. */
    private static Object minimal(Schema s, String jobId) {
        return switch (s.getType()) {
            case RECORD -> {
                GenericRecord r = new GenericData.Record(s);
                for (Schema.Field f : s.getFields()) {
                    Object v = f.name().equals("jobId") && f.schema().getType() == Schema.Type.STRING ? jobId
                        : f.hasDefaultValue() ? GenericData.get().getDefaultValue(f) : minimal(f.schema(), jobId);
                    r.put(f.name(), v);
                }
                yield r;
            }
            case UNION -> minimal(s.getTypes().get(0), jobId);
            case STRING -> "x";
            case INT -> 1;
            case LONG -> 1L;
            case FLOAT -> 1f;
            case DOUBLE -> 1d;
            case BOOLEAN -> true;
            case BYTES -> ByteBuffer.wrap(new byte[] {1});
            case NULL -> null;
            case ENUM -> new GenericData.EnumSymbol(s, s.getEnumSymbols().get(0));
            case ARRAY -> new GenericData.Array<>(0, s);
            case MAP -> Map.of();
            case FIXED -> new GenericData.Fixed(s, new byte[s.getFixedSize()]);
        };
    }
}
