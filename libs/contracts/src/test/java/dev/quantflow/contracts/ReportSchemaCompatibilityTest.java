package dev.quantflow.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The build's guard on {@code report.json}, the JSON twin of the Avro {@code SchemaCompatibilityTest}: the current
 * {@code schemas/json/report.schema.json} must accept every document each released version in
 * {@code schemas/json/history/} accepts. The other tests show that the check catches each kind of break.
 */
class ReportSchemaCompatibilityTest {

    static final Path SCHEMAS = Path.of("../../schemas/json");
    static final Path CURRENT = SCHEMAS.resolve("report.schema.json");

    @Test
    void theCurrentReportSchemaIsBackwardCompatibleWithEveryReleasedVersion() throws IOException {
        List<Path> history;
        try (Stream<Path> files = Files.list(SCHEMAS.resolve("history"))) {
            history = files.filter(f -> f.getFileName().toString().matches("report\\.v\\d+\\.schema\\.json")).sorted().toList();
        }
        assertThat(history).as("released report schemas in schemas/json/history").isNotEmpty();
        JsonNode current = read(CURRENT);
        for (Path released : history) {
            assertThat(JsonSchemaCompatibility.problems(read(released), current))
                .as("report.schema.json against %s", released.getFileName()).isEmpty();
        }
    }

    @Test
    void removingAPropertyBreaksCompatibility() throws IOException {
        ObjectNode changed = read(CURRENT).deepCopy();
        ((ObjectNode) changed.at("/$defs/modelMetrics/properties")).remove("perplexity");
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), changed))
            .containsExactly("#/fp32: property 'perplexity' was removed", "#/quantized: property 'perplexity' was removed");
    }

    @Test
    void changingATypeBreaksCompatibilityButWideningIntegerToNumberDoesNot() throws IOException {
        ObjectNode changed = read(CURRENT).deepCopy();
        ((ObjectNode) changed.at("/properties")).putObject("meetsTarget").put("type", "string");
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), changed))
            .containsExactly("#/meetsTarget: type [boolean] became [string]");

        ObjectNode widened = read(CURRENT).deepCopy();
        ((ObjectNode) widened.at("/properties")).putObject("chosenAttempt").put("type", "number");
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), widened)).isEmpty();
        assertThat(JsonSchemaCompatibility.problems(widened, read(CURRENT)))
            .containsExactly("#/chosenAttempt: type [number] became [integer]");
    }

    @Test
    void requiringAPropertyBreaksCompatibility() throws IOException {
        ObjectNode changed = read(CURRENT).deepCopy();
        ((ArrayNode) changed.get("required")).add("chosenAttempt");
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), changed))
            .containsExactly("#: property 'chosenAttempt' is newly required");
    }

    @Test
    void removingAnEnumValueBreaksCompatibilityAndAddingOneDoesNot() throws IOException {
        ObjectNode removed = read(CURRENT).deepCopy();
        ((ObjectNode) removed.at("/properties/state")).putArray("enum").add("READY");
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), removed))
            .containsExactly("#/state: enum value \"FAILED\" was removed");

        ObjectNode added = read(CURRENT).deepCopy();
        ((ArrayNode) added.at("/properties/state/enum")).add("CANCELLED");
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), added)).isEmpty();
    }

    @Test
    void closingAnObjectOrConstrainingAStringBreaksCompatibility() throws IOException {
        ObjectNode closed = read(CURRENT).deepCopy();
        ((ObjectNode) closed.at("/$defs/recipe/properties/exclusionReasons")).put("additionalProperties", false);
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), closed)).hasSize(2) // report.quantization.recipe, attempts[].recipe
            .allMatch(p -> p.endsWith("additional properties were allowed (as {\"type\":\"string\"}) and no longer are"));

        ObjectNode pattern = read(CURRENT).deepCopy();
        ((ObjectNode) pattern.at("/properties/jobId")).put("pattern", "^job-");
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), pattern))
            .containsExactly("#/jobId: pattern changed from null to \"^job-\"");
    }

    @Test
    void keywordsTheCheckDoesNotCompareAreRefusedRatherThanIgnored() throws IOException {
        ObjectNode changed = read(CURRENT).deepCopy();
        ((ObjectNode) changed.at("/properties/chosenAttempt")).put("minimum", 1);
        assertThat(JsonSchemaCompatibility.problems(read(CURRENT), changed))
            .containsExactly("#/chosenAttempt: keyword 'minimum' is not understood by this check; extend JsonSchemaCompatibility");
    }

    static JsonNode read(Path file) throws IOException {
        return StageJson.MAPPER.readTree(Files.readAllBytes(file));
    }
}
