package dev.quantflow.runtime.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Text datasets with all-MiniLM-L6-v2's tokenizer.json (from the langchain4j jar). Expected ids: BERT-uncased
 * vocabulary ids known by heart for "Hello, world!", and for the 400 fixture sentences the ids written by
 * {@code fixtures/text/wordpiece_reference.py}, an independent plain-Python WordPiece (no Python tokenizers library
 * is available here).
 */
class TextDatasetsTest {

    private static final Path TEXT_FIXTURES = Path.of("../../fixtures/text");

    @TempDir
    static Path dir;
    static Path minilmTokenizer;

    @BeforeAll
    static void extractTokenizer() throws IOException {
        minilmTokenizer = dir.resolve("tokenizer.json");
        try (InputStream in = TextDatasetsTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            Files.copy(in, minilmTokenizer);
        }
    }

    /** A model with the given int64 (or int32) token inputs of shape [N, seq]; seq null = symbolic. */
    static OnnxModel tokenModel(DataType type, Integer seq, String... inputs) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("tokens");
        for (String name : inputs) {
            g.addInput(TinyModels.valueInfo(name, type, "N", seq == null ? "seq" : seq));
        }
        g.addNode(TinyModels.node("Identity", List.of(inputs[0]), List.of("out")));
        g.addOutput(TinyModels.valueInfo("out", type, "N", seq == null ? "seq" : seq));
        return OnnxModel.parse(TinyModels.model(g.build()));
    }

    static OnnxModel bert() {
        return tokenModel(DataType.INT64, null, "input_ids", "attention_mask", "token_type_ids");
    }

    private static long[] row(NdArray a, int r) {
        int len = (int) a.shape()[1];
        return Arrays.copyOfRange(a.toLongs(), r * len, (r + 1) * len);
    }

    @Test
    void helloWorldGetsTheBertUncasedIds() {
        NpzArchive data = TextDatasets.tokenize(bert(), minilmTokenizer, List.of("Hello, world!"), TextOptions.defaults());
        assertThat(data.names()).containsExactly("input_ids", "attention_mask", "token_type_ids");
        assertThat(data.array("input_ids").dtype()).isEqualTo("<i8");
        assertThat(data.array("input_ids").shape()).containsExactly(1, 6);
        assertThat(data.array("input_ids").toLongs()).containsExactly(101, 7592, 1010, 2088, 999, 102);
        assertThat(data.array("attention_mask").toLongs()).containsExactly(1, 1, 1, 1, 1, 1);
        assertThat(data.array("token_type_ids").toLongs()).containsExactly(0, 0, 0, 0, 0, 0);
    }

    @Test
    void fixtureSentencesMatchTheIndependentPythonWordPiece() throws IOException {
        List<TextSample> samples = TextDatasets.readLines(TEXT_FIXTURES.resolve("sentences.txt"));
        List<String> reference = Files.readAllLines(TEXT_FIXTURES.resolve("minilm_token_ids.jsonl"));
        assertThat(samples).hasSize(400).hasSameSizeAs(reference);

        TokenizedText t = TextDatasets.encode(bert(), minilmTokenizer, samples, TextOptions.defaults());
        NdArray ids = t.archive().array("input_ids");
        NdArray mask = t.archive().array("attention_mask");
        int longest = 0;
        long tokens = 0;
        for (int i = 0; i < samples.size(); i++) {
            long[] expected = Arrays.stream(reference.get(i).replaceAll("[\\[\\]]", "").split(","))
                .mapToLong(Long::parseLong).toArray();
            long[] got = row(ids, i);
            long real = Arrays.stream(row(mask, i)).sum();
            assertThat(Arrays.copyOf(got, (int) real)).as("sentence %d: %s", i, samples.get(i).text()).containsExactly(expected);
            assertThat(Arrays.stream(got, (int) real, got.length).allMatch(v -> v == 0)).as("padding of sentence %d", i).isTrue();
            longest = Math.max(longest, expected.length);
            tokens += expected.length;
        }
        assertThat(t.sequenceLength()).isEqualTo(longest).isEqualTo(t.longestSample());
        assertThat(t.truncatedSamples()).isZero();
        assertThat(tokens / 400.0).as("mean tokens per sentence").isBetween(30.0, 40.0);
        assertThat(t.archive().contains("labels")).isFalse();
    }

    @Test
    void padsRightOrLeftWithTheTokenizersPadId() {
        List<String> texts = List.of("Hello, world!", "Hello");
        NpzArchive right = TextDatasets.tokenize(bert(), minilmTokenizer, texts, TextOptions.defaults());
        assertThat(right.array("input_ids").toLongs()).containsExactly(
            101, 7592, 1010, 2088, 999, 102,
            101, 7592, 102, 0, 0, 0);
        assertThat(right.array("attention_mask").toLongs()).containsExactly(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0);

        NpzArchive left = TextDatasets.tokenize(bert(), minilmTokenizer, texts,
            TextOptions.defaults().withPadSide(TextOptions.PadSide.LEFT).withMaxLength(8));
        assertThat(left.array("input_ids").toLongs()).containsExactly(
            0, 0, 101, 7592, 1010, 2088, 999, 102,
            0, 0, 0, 0, 0, 101, 7592, 102);
        assertThat(left.array("attention_mask").toLongs()).containsExactly(0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1);
    }

    @Test
    void truncationKeepsTheStartAndTheSpecialTokens() {
        TokenizedText t = TextDatasets.encode(bert(), minilmTokenizer,
            List.of(TextSample.of("Hello, world! Hello, world!"), TextSample.of("Hello")), TextOptions.defaults().withMaxLength(5));
        assertThat(t.sequenceLength()).isEqualTo(5);
        assertThat(t.truncatedSamples()).isEqualTo(1);
        assertThat(t.archive().array("input_ids").toLongs()).containsExactly(101, 7592, 1010, 2088, 102, 101, 7592, 102, 0, 0);
    }

    @Test
    void longTextsAreCappedAtTheTokenizersMaxLength() {
        String longText = String.join(" ", java.util.Collections.nCopies(300, "word"));
        TokenizedText t = TextDatasets.encode(bert(), minilmTokenizer, List.of(TextSample.of(longText)), TextOptions.defaults());
        assertThat(t.sequenceLength()).isEqualTo(128); // MiniLM's tokenizer.json: truncation.max_length 128
        assertThat(t.truncatedSamples()).isEqualTo(1);
        long[] ids = t.archive().array("input_ids").toLongs();
        assertThat(ids[0]).isEqualTo(101);
        assertThat(ids[127]).isEqualTo(102);
    }

    @Test
    void withoutSpecialTokens() {
        NpzArchive data = TextDatasets.tokenize(bert(), minilmTokenizer, List.of("Hello, world!"),
            TextOptions.defaults().withAddSpecialTokens(false));
        assertThat(data.array("input_ids").toLongs()).containsExactly(7592, 1010, 2088, 999);
    }

    @Test
    void aFixedSequenceDimensionDecidesTheLength() {
        OnnxModel fixed = tokenModel(DataType.INT32, 16, "input_ids");
        NpzArchive data = TextDatasets.tokenize(fixed, minilmTokenizer, List.of("Hello"), TextOptions.defaults());
        assertThat(data.names()).containsExactly("input_ids");
        assertThat(data.array("input_ids").dtype()).isEqualTo("<i4");
        assertThat(data.array("input_ids").shape()).containsExactly(1, 16);
        assertThat(data.array("input_ids").toLongs()).startsWith(101, 7592, 102, 0);

        assertThatThrownBy(() -> TextDatasets.tokenize(fixed, minilmTokenizer, List.of("Hello"),
            TextOptions.defaults().withMaxLength(10)))
            .isInstanceOf(DatasetException.class).hasMessageContaining("exactly 16 tokens");
    }

    @Test
    void inputsThatTextCannotFillAreRefused() {
        assertThatThrownBy(() -> TextDatasets.tokenize(tokenModel(DataType.INT64, null, "input_ids", "position_ids"),
            minilmTokenizer, List.of("Hello"), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("'position_ids' cannot be filled from text");
        assertThatThrownBy(() -> TextDatasets.tokenize(tokenModel(DataType.INT64, null, "tokens"),
            minilmTokenizer, List.of("Hello"), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("no input named 'input_ids'");
        assertThatThrownBy(() -> TextDatasets.tokenize(tokenModel(DataType.FLOAT, null, "input_ids"),
            minilmTokenizer, List.of("Hello"), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("must be int64 or int32");
        assertThatThrownBy(() -> TextDatasets.tokenize(bert(), minilmTokenizer, List.of(), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("no texts");
    }

    @Test
    void jsonlLabelsBecomeTheLabelsArray() {
        List<TextSample> samples = read("\uFEFF{\"text\": \"Hello, world!\", \"label\": 1}\r\n\r\n{\"text\":\"Hello\",\"label\":0,\"id\":7}\n",
            TextFormat.JSONL);
        assertThat(samples).containsExactly(new TextSample("Hello, world!", 1L), new TextSample("Hello", 0L));
        NpzArchive data = TextDatasets.encode(bert(), minilmTokenizer, samples, TextOptions.defaults()).archive();
        assertThat(data.array("labels").dtype()).isEqualTo("<i8");
        assertThat(data.array("labels").toLongs()).containsExactly(1, 0);

        assertThatThrownBy(() -> TextDatasets.encode(bert(), minilmTokenizer,
            List.of(TextSample.of("a"), new TextSample("b", 2L)), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("1 of 2 samples have a label");
    }

    @Test
    void plainTextSkipsBlankLines() {
        assertThat(read("first line\n\n  \nsecond line\r\n", TextFormat.PLAIN))
            .containsExactly(TextSample.of("first line"), TextSample.of("second line"));
    }

    @Test
    void badFilesSayWhatIsWrongAndWhere() {
        assertThatThrownBy(() -> read("", TextFormat.PLAIN))
            .isInstanceOf(DatasetException.class).hasMessageContaining("the text file is empty");
        assertThatThrownBy(() -> read("\n \n", TextFormat.JSONL))
            .isInstanceOf(DatasetException.class).hasMessageContaining("only blank lines");
        assertThatThrownBy(() -> read("{\"text\": \"a\"}\n{\"text\": \"b\"\n", TextFormat.JSONL))
            .isInstanceOf(DatasetException.class).hasMessageContaining("line 2 of the JSONL file is not valid JSON");
        assertThatThrownBy(() -> read("[1, 2]\n", TextFormat.JSONL))
            .isInstanceOf(DatasetException.class).hasMessageContaining("line 1 of the JSONL file is not a JSON object");
        assertThatThrownBy(() -> read("{\"text\": \"a\"}\n\n{\"txt\": \"b\"}\n", TextFormat.JSONL))
            .isInstanceOf(DatasetException.class).hasMessageContaining("line 3 of the JSONL file has no \"text\"");
        assertThatThrownBy(() -> read("{\"text\": 5}\n", TextFormat.JSONL))
            .isInstanceOf(DatasetException.class).hasMessageContaining("line 1").hasMessageContaining("not a string");
        assertThatThrownBy(() -> read("{\"text\": \"a\", \"label\": \"cat\"}\n", TextFormat.JSONL))
            .isInstanceOf(DatasetException.class).hasMessageContaining("line 1").hasMessageContaining("integers >= 0");
        assertThatThrownBy(() -> read("{\"text\": \"a\", \"label\": -1}\n", TextFormat.JSONL))
            .isInstanceOf(DatasetException.class).hasMessageContaining("integers >= 0");
        assertThatThrownBy(() -> read("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n", TextFormat.JSONL))
            .isInstanceOf(DatasetException.class).hasMessageContaining("line 2").hasMessageContaining("has no \"label\" but line 1 has one");
        assertThatThrownBy(() -> TextDatasets.readLines(new ByteArrayInputStream(new byte[] {'o', 'k', '\n', (byte) 0xC3, '(', '\n'}),
            TextFormat.PLAIN))
            .isInstanceOf(DatasetException.class).hasMessageContaining("not valid UTF-8");
        assertThatThrownBy(() -> TextDatasets.readLines(dir.resolve("missing.txt")))
            .isInstanceOf(DatasetException.class).hasMessageContaining("does not exist");
    }

    @Test
    void unreadableTokenizersAreDatasetErrors() throws IOException {
        Path notJson = Files.writeString(dir.resolve("not-json.json"), "this is not json");
        Path noModel = Files.writeString(dir.resolve("no-model.json"), "{\"version\": \"1.0\"}");
        Path badModel = Files.writeString(dir.resolve("bad-model.json"), "{\"version\": \"1.0\", \"model\": {\"type\": \"Nonsense\"}}");
        assertThatThrownBy(() -> TextDatasets.tokenize(bert(), notJson, List.of("a"), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> TextDatasets.tokenize(bert(), noModel, List.of("a"), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("no \"model\" object");
        assertThatThrownBy(() -> TextDatasets.tokenize(bert(), badModel, List.of("a"), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("cannot be loaded by the tokenizer library");
        assertThatThrownBy(() -> TextDatasets.tokenize(bert(), dir.resolve("absent.json"), List.of("a"), TextOptions.defaults()))
            .isInstanceOf(DatasetException.class).hasMessageContaining("does not exist");
    }

    @Test
    void formatFollowsTheFileName() {
        assertThat(TextFormat.fromFileName("calib.JSONL")).isEqualTo(TextFormat.JSONL);
        assertThat(TextFormat.fromFileName("x.ndjson")).isEqualTo(TextFormat.JSONL);
        assertThat(TextFormat.fromFileName("sentences.txt")).isEqualTo(TextFormat.PLAIN);
    }

    @Test
    void neverDownloadsTheNativeLibrary() {
        TextDatasets.tokenize(bert(), minilmTokenizer, List.of("a"), TextOptions.defaults());
        assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
    }

    private static List<TextSample> read(String content, TextFormat format) {
        return new ArrayList<>(TextDatasets.readLines(new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)), format));
    }
}
