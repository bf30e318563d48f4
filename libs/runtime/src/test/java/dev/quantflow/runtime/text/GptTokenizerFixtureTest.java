package dev.quantflow.runtime.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The byte-level BPE tokenizer of the gpt fixture ({@code fixtures/gpt}, made by its train.py) read by DJL's
 * Hugging Face tokenizers: it must give exactly the ids of the fixture's own Python encoder, which wrote
 * {@code tokenizer_check.jsonl} (the first 200 held-out verses with their ids) and the held-out token stream of
 * {@code heldout.npz} (held-out verses joined with "\n").
 */
class GptTokenizerFixtureTest {

    private static final Path DIR = Path.of("../../fixtures/gpt");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** 256 byte symbols + 768 merges + {@code <|endoftext|>}. */
    private static final int VOCAB = 1025;

    private static HuggingFaceTokenizer tokenizer;
    private static final List<String> texts = new ArrayList<>();
    private static final List<long[]> pythonIds = new ArrayList<>();

    @BeforeAll
    static void load() throws IOException {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        tokenizer = HuggingFaceTokenizer.newInstance(DIR.resolve("tokenizer.json"),
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        for (String line : Files.readAllLines(DIR.resolve("tokenizer_check.jsonl"), StandardCharsets.UTF_8)) {
            JsonNode node = JSON.readTree(line);
            texts.add(node.get("text").asText());
            List<Long> ids = new ArrayList<>();
            node.get("ids").forEach(id -> ids.add(id.asLong()));
            pythonIds.add(ids.stream().mapToLong(Long::longValue).toArray());
        }
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void everyCheckVerseGetsThePythonIds() {
        assertThat(texts).hasSize(200);
        for (int i = 0; i < texts.size(); i++) {
            long[] ids = tokenizer.encode(texts.get(i), false, false).getIds();
            assertThat(ids).as("ids of check line %d: %s", i + 1, texts.get(i)).containsExactly(pythonIds.get(i));
        }
        long tokens = pythonIds.stream().mapToLong(ids -> ids.length).sum();
        long chars = texts.stream().mapToLong(String::length).sum();
        assertThat((double) chars / tokens).as("characters per token: merges are in use").isGreaterThan(2.5);
    }

    @Test
    void byteLevelDecodingGivesTheVerseBack() {
        for (int i = 0; i < texts.size(); i++) {
            assertThat(tokenizer.decode(pythonIds.get(i))).as("check line %d", i + 1).isEqualTo(texts.get(i));
        }
    }

    @Test
    void heldoutTextStartsTheHeldoutTokenStream() throws IOException {
        List<String> lines = Files.readAllLines(DIR.resolve("heldout.txt"), StandardCharsets.UTF_8);
        assertThat(lines).hasSizeGreaterThanOrEqualTo(200);
        long[] stream = tokenizer.encode(String.join("\n", lines), false, false).getIds();
        NdArray tokens = NpzArchive.read(DIR.resolve("heldout.npz")).array("tokens");
        assertThat(tokens.dtype()).isEqualTo("<i8");
        assertThat(tokens.shape()).hasSize(1);
        long[] all = tokens.toLongs();
        assertThat(all.length).isGreaterThanOrEqualTo(16384).isGreaterThan(stream.length);
        assertThat(Arrays.copyOf(all, stream.length)).containsExactly(stream);
        assertThat(Arrays.stream(all).filter(id -> id < 0 || id >= VOCAB).count()).as("ids outside the vocabulary")
            .isZero();
    }

    @Test
    void textDatasetsTokenizesTheVersesTheSameWay() {
        List<String> some = texts.subList(0, 16);
        NdArray ids = TextDatasets.tokenize(TextDatasetsTest.tokenModel(DataType.INT64, null, "input_ids"),
            DIR.resolve("tokenizer.json"), some, TextOptions.defaults()).array("input_ids");
        int width = (int) ids.shape()[1];
        assertThat(width).isEqualTo(pythonIds.subList(0, 16).stream().mapToInt(r -> r.length).max().orElseThrow());
        long[] flat = ids.toLongs();
        for (int i = 0; i < some.size(); i++) {
            long[] expected = pythonIds.get(i);
            assertThat(Arrays.copyOfRange(flat, i * width, i * width + expected.length)).as("row %d", i)
                .containsExactly(expected);
        }
    }
}
