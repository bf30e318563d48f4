package dev.quantflow.runtime.text;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Calibration and validation data for text models: plain text (one sample per line) or JSONL
 * ({@code {"text": …, "label": …}} per line), tokenized with the model's Hugging Face {@code tokenizer.json} into
 * the same {@link NpzArchive} form as an {@code .npz} of token ids, so every later stage sees one data contract.
 *
 * <p><b>Inputs filled.</b> Every model input must be one of {@code input_ids} (token ids), {@code attention_mask}
 * (1 for a real token, 0 for padding) and {@code token_type_ids} (segment ids from the tokenizer; 0 for a single
 * sentence), int64 or int32 as the model declares, shape [N, L]. {@code input_ids} is required. With labels on
 * every JSONL line the archive also holds {@code labels} int64 [N].
 *
 * <p><b>Length L.</b> A model input with a fixed second dimension decides L. Otherwise
 * {@link TextOptions#maxLength()} when set, else the longest tokenized sample of the set, capped at the model's
 * limit: the {@code truncation.max_length} of tokenizer.json when it has one (all-MiniLM-L6-v2: 128), else
 * {@value #DEFAULT_MAX_LENGTH} (BERT's position table).
 *
 * <p><b>Truncation.</b> A sample longer than L keeps its first tokens: the tokenizer truncates the text's tokens
 * (strategy longest-first, which for a single sentence is "cut the end") <em>before</em> it adds special tokens,
 * so {@code [CLS] … [SEP]} stay intact; {@link TokenizedText#truncatedSamples()} counts such samples. The
 * tokenizer.json's own padding and truncation settings are replaced by these rules.
 *
 * <p><b>Padding.</b> With the pad id of tokenizer.json ({@code padding.pad_id}, else the id of an added token named
 * {@code [PAD]}, {@code <pad>} or {@code <|pad|>}, else 0) and its {@code pad_type_id} (else 0) on the side given by
 * {@link TextOptions#padSide()}; the attention mask is 0 there.
 *
 * <p><b>Tokenizer.</b> DJL's binding of the Rust {@code tokenizers} library ({@code ai.djl.huggingface:tokenizers}),
 * which reads tokenizer.json offline. Its native library ships inside the jar and is extracted on first use to
 * {@code $DJL_CACHE_DIR/tokenizers} (default {@code ~/.djl.ai/tokenizers}); {@code RUST_LIBRARY_PATH} points it at
 * a library elsewhere. This class sets {@code ai.djl.offline=true} (unless set) so DJL never tries to download one.
 */
public final class TextDatasets {

    /** Tokens per sample when neither the model nor tokenizer.json gives a limit. */
    public static final int DEFAULT_MAX_LENGTH = 512;

    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String TOKEN_TYPE_IDS = "token_type_ids";

    private static final List<String> TEXT_INPUTS = List.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS);
    private static final List<String> PAD_TOKENS = List.of("[PAD]", "<pad>", "<|pad|>");
    private static final int ENCODE_CHUNK = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    private TextDatasets() {
    }

    /**
     * Reads the samples of a text data file (UTF-8, a leading byte-order mark ignored, LF or CRLF line ends).
     * The stream is read to its end, not closed.
     *
     * @throws DatasetException for a file without samples, invalid UTF-8, or a JSONL line that is not an object with
     *                          a string {@code text} and, if present, an integer {@code label} ≥ 0 (the message gives
     *                          the line number); labels on some lines but not on others are an error too
     */
    public static List<TextSample> readLines(InputStream in, TextFormat format) {
        var decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        List<TextSample> samples = new ArrayList<>();
        int firstLabelled = 0;
        int firstUnlabelled = 0;
        int lineNumber = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(nonClosing(in), decoder))) {
            String line;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if (lineNumber == 1 && line.startsWith("\uFEFF")) {
                    line = line.substring(1);
                }
                if (line.isBlank()) {
                    continue;
                }
                TextSample sample = format == TextFormat.JSONL ? parseJsonLine(line, lineNumber) : TextSample.of(line);
                if (sample.label() != null && firstLabelled == 0) {
                    firstLabelled = lineNumber;
                }
                if (sample.label() == null && firstUnlabelled == 0) {
                    firstUnlabelled = lineNumber;
                }
                if (firstLabelled > 0 && firstUnlabelled > 0) {
                    throw new DatasetException("line " + Math.max(firstLabelled, firstUnlabelled) + " of the JSONL file "
                        + (firstLabelled > firstUnlabelled ? "has a \"label\" but line " + firstUnlabelled + " has none"
                            : "has no \"label\" but line " + firstLabelled + " has one")
                        + "; give every line a label or none");
                }
                samples.add(sample);
            }
        } catch (CharacterCodingException e) {
            throw new DatasetException("the text file is not valid UTF-8 (after line " + lineNumber + "); save it as "
                + "UTF-8", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (samples.isEmpty()) {
            throw new DatasetException(lineNumber == 0 ? "the text file is empty; it needs one sample per line"
                : "the text file has only blank lines; it needs one sample per line");
        }
        return samples;
    }

    /** Reads a text data file; the format follows the file name ({@link TextFormat#fromFileName}). */
    public static List<TextSample> readLines(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return readLines(in, TextFormat.fromFileName(file.getFileName().toString()));
        } catch (NoSuchFileException e) {
            throw new DatasetException("the text file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * Tokenizes texts into the model's text inputs; see the class comment for the rules.
     *
     * @throws DatasetException for an unreadable tokenizer.json, an empty list, or a model input that text cannot
     *                          fill
     */
    public static NpzArchive tokenize(OnnxModel model, Path tokenizerJson, List<String> texts, TextOptions options) {
        return encode(model, readTokenizer(tokenizerJson), texts.stream().map(TextSample::of).toList(), options).archive();
    }

    /** Like {@link #tokenize(OnnxModel, Path, List, TextOptions)} for samples read by {@link #readLines}: keeps labels. */
    public static TokenizedText encode(OnnxModel model, Path tokenizerJson, List<TextSample> samples, TextOptions options) {
        return encode(model, readTokenizer(tokenizerJson), samples, options);
    }

    /**
     * The core: samples and tokenizer.json bytes (as supplied with a request) to model inputs.
     *
     * @throws DatasetException for an unreadable tokenizer.json, no samples, or a model input that text cannot fill
     */
    public static TokenizedText encode(OnnxModel model, byte[] tokenizerJson, List<TextSample> samples, TextOptions options) {
        if (samples.isEmpty()) {
            throw new DatasetException("there are no texts to tokenize; the data needs at least one sample");
        }
        List<OnnxModel.ValueInfo> inputs = textInputs(model);
        JsonNode config = parseTokenizerJson(tokenizerJson);
        int fixed = fixedLength(inputs);
        if (fixed > 0 && options.maxLength() != null && options.maxLength() != fixed) {
            throw new DatasetException("the model takes exactly " + fixed + " tokens per sample but a maximum length of "
                + options.maxLength() + " was asked for; leave the length unset or use " + fixed);
        }
        int cap = fixed > 0 ? fixed : options.maxLength() != null ? options.maxLength() : tokenizerLimit(config);
        int padId = padId(config);
        int padTypeId = config.path("padding").path("pad_type_id").asInt(0);

        long[][] ids = new long[samples.size()][];
        long[][] types = new long[samples.size()][];
        int truncated = 0;
        int longest = 0;
        try (HuggingFaceTokenizer tokenizer = openTokenizer(tokenizerJson, cap, options.addSpecialTokens())) {
            for (int from = 0; from < samples.size(); from += ENCODE_CHUNK) {
                int to = Math.min(samples.size(), from + ENCODE_CHUNK);
                List<String> chunk = samples.subList(from, to).stream().map(TextSample::text).toList();
                Encoding[] encodings = tokenizer.batchEncode(chunk, options.addSpecialTokens(), false);
                for (int i = 0; i < encodings.length; i++) {
                    ids[from + i] = encodings[i].getIds();
                    types[from + i] = encodings[i].getTypeIds();
                    if (encodings[i].exceedMaxLength()) {
                        truncated++;
                    }
                    longest = Math.max(longest, ids[from + i].length);
                }
            }
        } catch (RuntimeException e) {
            throw new DatasetException("the tokenizer failed on the texts: " + e.getMessage(), e);
        }
        int length = fixed > 0 || options.maxLength() != null ? cap : Math.max(1, longest);

        Map<String, NdArray> arrays = new LinkedHashMap<>();
        for (OnnxModel.ValueInfo input : inputs) {
            long[] values = new long[Math.multiplyExact(samples.size(), length)];
            for (int s = 0; s < samples.size(); s++) {
                long[] row = switch (input.name()) {
                    case INPUT_IDS -> ids[s];
                    case TOKEN_TYPE_IDS -> types[s];
                    default -> ones(ids[s].length);
                };
                long pad = switch (input.name()) {
                    case INPUT_IDS -> padId;
                    case TOKEN_TYPE_IDS -> padTypeId;
                    default -> 0;
                };
                int n = Math.min(row.length, length);
                int offset = s * length;
                Arrays.fill(values, offset, offset + length, pad);
                int start = options.padSide() == TextOptions.PadSide.LEFT ? offset + length - n : offset;
                System.arraycopy(row, 0, values, start, n);
            }
            arrays.put(input.name(), input.elemType() == DataType.INT32_VALUE
                ? NdArray.ofInts(input.name(), toInts(values), samples.size(), length)
                : NdArray.ofLongs(input.name(), values, samples.size(), length));
        }
        long labelled = samples.stream().filter(s -> s.label() != null).count();
        if (labelled > 0 && labelled < samples.size()) {
            throw new DatasetException(labelled + " of " + samples.size() + " samples have a label; give every sample a "
                + "label or none");
        }
        if (labelled > 0) {
            long[] labels = samples.stream().mapToLong(TextSample::label).toArray();
            arrays.put(DatasetCheck.LABELS, NdArray.ofLongs(DatasetCheck.LABELS, labels, labels.length));
        }
        return new TokenizedText(NpzArchive.of(arrays.values()), length, truncated, longest);
    }

    /** The model's inputs, each checked to be one that text can fill. */
    /**
     * Causal-LM data: the samples joined by {@code separator} into one running text and tokenized as a single token
     * stream (no special tokens, no truncation), which perplexity windows and calibration windows are then cut from.
     *
     * @throws DatasetException for an unreadable tokenizer.json or no samples
     */
    public static long[] encodeStream(byte[] tokenizerJson, List<TextSample> samples, String separator) {
        if (samples.isEmpty()) {
            throw new DatasetException("there are no texts to tokenize; the data needs at least one sample");
        }
        parseTokenizerJson(tokenizerJson);
        String text = String.join(separator, samples.stream().map(TextSample::text).toList());
        Map<String, String> settings = Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson), settings)) {
            return tokenizer.encode(text, false, false).getIds();
        } catch (IOException e) {
            throw new DatasetException("the tokenizer.json cannot be loaded by the tokenizer library: " + firstLine(e)
                + "; supply the tokenizer.json saved with the model", e);
        } catch (RuntimeException e) {
            throw new DatasetException("the tokenizer failed on the texts: " + e.getMessage(), e);
        }
    }

    private static List<OnnxModel.ValueInfo> textInputs(OnnxModel model) {
        List<OnnxModel.ValueInfo> inputs = model.inputs();
        List<String> names = inputs.stream().map(OnnxModel.ValueInfo::name).toList();
        if (!names.contains(INPUT_IDS)) {
            throw new DatasetException("the model has no input named '" + INPUT_IDS + "' (its inputs are " + names
                + "), so text cannot be fed to it; supply an .npz file with one array per model input instead");
        }
        for (OnnxModel.ValueInfo input : inputs) {
            if (!TEXT_INPUTS.contains(input.name())) {
                throw new DatasetException("the model input '" + input.name() + "' cannot be filled from text (only "
                    + TEXT_INPUTS + " can); supply an .npz file with one array per model input instead");
            }
            if (input.elemType() != DataType.INT64_VALUE && input.elemType() != DataType.INT32_VALUE) {
                throw new DatasetException("the model input '" + input.name() + "' is " + input.elemTypeName()
                    + "; token inputs must be int64 or int32");
            }
            if (input.shape().length != 0 && input.shape().length != 2) {
                throw new DatasetException("the model input '" + input.name() + "' has rank " + input.shape().length
                    + "; token inputs must be [batch, sequence]");
            }
        }
        return inputs;
    }

    /** The fixed sequence dimension shared by the inputs, or -1 when it is free. */
    private static int fixedLength(List<OnnxModel.ValueInfo> inputs) {
        int fixed = -1;
        for (OnnxModel.ValueInfo input : inputs) {
            long[] shape = input.shape();
            if (shape.length == 2 && shape[1] > 0) {
                if (fixed > 0 && fixed != shape[1]) {
                    throw new DatasetException("the model's token inputs disagree on the sequence length (" + fixed
                        + " and " + shape[1] + ")");
                }
                fixed = Math.toIntExact(shape[1]);
            }
        }
        return fixed;
    }

    private static int tokenizerLimit(JsonNode config) {
        JsonNode max = config.path("truncation").path("max_length");
        return max.canConvertToInt() && max.asInt() > 0 ? max.asInt() : DEFAULT_MAX_LENGTH;
    }

    private static int padId(JsonNode config) {
        JsonNode padding = config.path("padding");
        if (padding.path("pad_id").canConvertToInt()) {
            return padding.path("pad_id").asInt();
        }
        for (JsonNode token : config.path("added_tokens")) {
            if (PAD_TOKENS.contains(token.path("content").asText()) && token.path("id").canConvertToInt()) {
                return token.path("id").asInt();
            }
        }
        return 0;
    }

    private static byte[] readTokenizer(Path tokenizerJson) {
        try {
            return Files.readAllBytes(tokenizerJson);
        } catch (NoSuchFileException e) {
            throw new DatasetException("the tokenizer file " + tokenizerJson + " does not exist", e);
        } catch (IOException e) {
            throw new DatasetException("the tokenizer file " + tokenizerJson + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static JsonNode parseTokenizerJson(byte[] bytes) {
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new DatasetException("the tokenizer.json is not valid JSON (" + firstLine(e) + "); supply the model's "
                + "Hugging Face tokenizer.json", e);
        }
        if (node == null || !node.isObject() || !node.path("model").isObject()) {
            throw new DatasetException("the tokenizer.json is not a Hugging Face tokenizer (it has no \"model\" object); "
                + "supply the tokenizer.json saved with the model (tokenizer.save_pretrained writes it)");
        }
        return node;
    }

    private static HuggingFaceTokenizer openTokenizer(byte[] json, int maxLength, boolean addSpecialTokens) {
        Map<String, String> settings = Map.of(
            "addSpecialTokens", String.valueOf(addSpecialTokens),
            "truncation", "true",
            "padding", "false",
            "maxLength", String.valueOf(maxLength),
            "modelMaxLength", String.valueOf(maxLength));
        try {
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), settings);
        } catch (IOException | RuntimeException e) {
            throw new DatasetException("the tokenizer.json cannot be loaded by the tokenizer library: " + firstLine(e)
                + "; supply the tokenizer.json saved with the model", e);
        }
    }

    private static TextSample parseJsonLine(String line, int lineNumber) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new DatasetException("line " + lineNumber + " of the JSONL file is not valid JSON ("
                + e.getOriginalMessage() + "); each line must be an object like {\"text\": \"...\", \"label\": 0}", e);
        }
        if (node == null || !node.isObject()) {
            throw new DatasetException("line " + lineNumber + " of the JSONL file is not a JSON object; each line must be "
                + "an object like {\"text\": \"...\", \"label\": 0}");
        }
        JsonNode text = node.get("text");
        if (text == null || !text.isTextual()) {
            throw new DatasetException("line " + lineNumber + " of the JSONL file has " + (text == null ? "no \"text\""
                : "a \"text\" that is not a string") + "; each line must be an object like {\"text\": \"...\"}");
        }
        if (text.asText().isBlank()) {
            throw new DatasetException("line " + lineNumber + " of the JSONL file has an empty \"text\"");
        }
        JsonNode label = node.get("label");
        if (label == null || label.isNull()) {
            return TextSample.of(text.asText());
        }
        if (!label.isIntegralNumber() || !label.canConvertToLong() || label.asLong() < 0) {
            throw new DatasetException("line " + lineNumber + " of the JSONL file has \"label\": " + label
                + "; labels must be class indices, integers >= 0");
        }
        return new TextSample(text.asText(), label.asLong());
    }

    private static long[] ones(int n) {
        long[] v = new long[n];
        Arrays.fill(v, 1);
        return v;
    }

    private static int[] toInts(long[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Math.toIntExact(values[i]);
        }
        return out;
    }

    private static String firstLine(Exception e) {
        String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        if (m == null) {
            return e.getClass().getSimpleName();
        }
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private static InputStream nonClosing(InputStream in) {
        return new java.io.FilterInputStream(in) {
            @Override
            public void close() {
                // the caller owns the stream
            }
        };
    }
}
