package dev.quantflow.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

/**
 * The build-time contract check: every schema in {@code avro/} must be able to read data written with every
 * earlier version kept in {@code history/<version>/} (backward compatibility), so a consumer upgraded first
 * still reads events from producers that are not upgraded yet.
 */
class SchemaCompatibilityTest {

    static final Path CURRENT = Path.of("avro");
    static final Path HISTORY = Path.of("history");

    @Test
    void everyCurrentSchemaReadsEveryPreviousVersion() throws IOException {
        Map<String, Schema> current = SchemaFiles.parseDirectory(CURRENT);
        List<String> problems = new ArrayList<>();
        try (Stream<Path> versions = Files.list(HISTORY)) {
            for (Path version : versions.filter(Files::isDirectory).sorted().toList()) {
                Map<String, Schema> previous = SchemaFiles.parseDirectory(version);
                for (var entry : previous.entrySet()) {
                    Schema reader = current.get(entry.getKey());
                    if (reader == null) {
                        problems.add(entry.getKey() + " was removed (present in " + version + ")");
                        continue;
                    }
                    var result = SchemaCompatibility.checkReaderWriterCompatibility(reader, entry.getValue());
                    if (result.getType() != SchemaCompatibilityType.COMPATIBLE) {
                        problems.add(entry.getKey() + " cannot read " + version + ": " + result.getResult().getIncompatibilities());
                    }
                }
            }
        }
        assertThat(problems).as("backward-incompatible schema changes").isEmpty();
    }

    @Test
    void checkerRejectsAnIncompatibleChange() {
        Schema old = new Schema.Parser().parse("""
            {"type":"record","name":"X","fields":[{"name":"a","type":"string"}]}""");
        Schema addedRequired = new Schema.Parser().parse("""
            {"type":"record","name":"X","fields":[{"name":"a","type":"string"},{"name":"b","type":"int"}]}""");
        Schema addedOptional = new Schema.Parser().parse("""
            {"type":"record","name":"X","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}""");
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(addedRequired, old).getType())
            .isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(addedOptional, old).getType())
            .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }

    @Test
    void generatedClassesMatchTheContractFiles() throws IOException {
        Map<String, Schema> current = SchemaFiles.parseDirectory(CURRENT);
        // Parsing Canonical Form ignores docs and the java-string property the code generator adds.
        assertThat(SchemaNormalization.parsingFingerprint64(current.get("dev.quantflow.events.ModelReady")))
            .isEqualTo(SchemaNormalization.parsingFingerprint64(ModelReady.getClassSchema()));
        assertThat(SchemaNormalization.parsingFingerprint64(current.get("dev.quantflow.events.JobStatus")))
            .isEqualTo(SchemaNormalization.parsingFingerprint64(JobStatus.getClassSchema()));
    }

    /** Parses a folder of .avsc files in name order, so shared types (00-…) are known before they are used. */
    static final class SchemaFiles {
        static Map<String, Schema> parseDirectory(Path dir) throws IOException {
            Schema.Parser parser = new Schema.Parser();
            Map<String, Schema> byName = new LinkedHashMap<>();
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".avsc")).sorted().toList()) {
                    Schema s = parser.parse(f.toFile());
                    byName.put(s.getFullName(), s);
                }
            }
            return byName;
        }
    }
}
