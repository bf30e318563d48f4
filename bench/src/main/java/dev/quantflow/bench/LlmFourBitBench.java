package dev.quantflow.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.llm.LayerInputStats;
import dev.quantflow.quant.llm.LlmQuantRecipe;
import dev.quantflow.quant.llm.LlmWeightQuantizer;
import dev.quantflow.runtime.llm.DecodeSpeed;
import dev.quantflow.runtime.llm.DecodeSpeedOptions;
import dev.quantflow.runtime.llm.DecodeSpeedResult;
import dev.quantflow.runtime.llm.LlmCalibration;
import dev.quantflow.runtime.llm.LlmCalibrationOptions;
import dev.quantflow.runtime.llm.LlmCalibrationResult;
import dev.quantflow.runtime.llm.Perplexity;
import dev.quantflow.runtime.llm.PerplexityOptions;
import dev.quantflow.runtime.llm.PerplexityResult;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * 4-bit weight-only quantization of the tiny GPT fixture ({@code fixtures/gpt}) by RTN, GPTQ and AWQ side by side in
 * one process: held-out perplexity (non-overlapping windows of the context), the perplexity increase of GPTQ and AWQ
 * relative to RTN's, file size, and greedy batch-1 decode tokens/s against fp32 (one ONNX Runtime thread, warm-up
 * excluded). The same library code the quantizer pools run ({@link LlmWeightQuantizer}, {@link LlmCalibration}).
 *
 * <p>Usage: {@code LlmFourBitBench [--block N] [--bits N] [--symmetric] [--act-order] [--sample-rows N]
 * [--methods rtn,gptq,awq,…] [--no-decode] [--out DIR] [--json FILE]}; {@code --methods} takes variants as in
 * {@link #recipe} and must start with {@code rtn}; {@code --no-decode} skips the decode-speed measurement.
 */
public final class LlmFourBitBench {

    /** The {@code --json} file: the run's settings and one row per variant (fp32 first). */
    record Summary(int bits, int blockSize, boolean symmetric, boolean actOrder, int sampleRows, double calibrationSeconds,
                   List<Map<String, Object>> rows) {
    }

    public static void main(String[] args) throws Exception {
        int block = 128;
        int bits = 4;
        boolean symmetric = false;
        boolean actOrder = false;
        boolean decode = true;
        int sampleRows = LlmCalibrationOptions.DEFAULT_MAX_SAMPLE_ROWS;
        List<String> methods = List.of("rtn", "gptq", "awq");
        Path out = null;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--block" -> block = Integer.parseInt(args[++i]);
                case "--bits" -> bits = Integer.parseInt(args[++i]);
                case "--symmetric" -> symmetric = true;
                case "--act-order" -> actOrder = true;
                case "--sample-rows" -> sampleRows = Integer.parseInt(args[++i]);
                case "--methods" -> methods = List.of(args[++i].split(","));
                case "--no-decode" -> decode = false;
                case "--out" -> out = Path.of(args[++i]);
                case "--json" -> json = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (!methods.get(0).equals("rtn")) {
            throw new IllegalArgumentException("--methods must start with rtn (the reference of the ratios)");
        }
        Path dir = Path.of("fixtures/gpt");
        byte[] fp32 = Files.readAllBytes(dir.resolve("model.onnx"));
        OnnxModel model = OnnxModel.parse(fp32);
        int context = ModelInspector.languageModelShape(model).contextLength();
        NpzArchive calib = NpzArchive.read(dir.resolve("calib.npz"));
        long[] heldout = NpzArchive.read(dir.resolve("heldout.npz")).array(Perplexity.TOKENS).toLongs();
        System.out.printf(Locale.ROOT, "tiny GPT: %d bytes, context %d, %d held-out tokens; %d-bit, blocks of %d%n",
            fp32.length, context, heldout.length, bits, block);

        long t0 = System.nanoTime();
        LlmCalibrationResult calibration = LlmCalibration.run(fp32, calib,
            LlmCalibrationOptions.defaults().withMaxSampleRows(sampleRows), (d, t) -> { });
        double calibSeconds = (System.nanoTime() - t0) / 1e9;
        Map<String, LayerInputStats> stats = calibration.stats();
        System.out.printf(Locale.ROOT, "calibration: %d tensors over %d tokens in %.1f s%n", stats.size(),
            calibration.tokens(), calibSeconds);

        PerplexityOptions pplOptions = PerplexityOptions.defaults().withContext(context).withIntraOpThreads(1);
        DecodeSpeedOptions decodeOptions = DecodeSpeedOptions.defaults().withGeneratedTokens(64).withContext(context)
            .withIntraOpThreads(1);
        long[] prompt = Arrays.copyOf(heldout, 16);

        List<Map<String, Object>> rows = new ArrayList<>();
        rows.add(measure("fp32", fp32, 0, heldout, prompt, pplOptions, decode ? decodeOptions : null));
        LlmWeightQuantizer quantizer = new LlmWeightQuantizer();
        for (String variant : methods) {
            LlmQuantRecipe recipe = recipe(variant, bits, block, symmetric, actOrder);
            long q0 = System.nanoTime();
            byte[] q = quantizer.quantize(OnnxModel.parse(fp32),
                recipe.method() == LlmQuantRecipe.Method.RTN ? Map.of() : stats, recipe).model().toByteArray();
            double qs = (System.nanoTime() - q0) / 1e9;
            if (out != null) {
                Files.createDirectories(out);
                Files.write(out.resolve("gpt." + variant.replace('+', '_') + ".int" + bits + ".onnx"), q);
            }
            rows.add(measure(variant, q, qs, heldout, prompt, pplOptions, decode ? decodeOptions : null));
        }
        double ppl32 = (double) rows.get(0).get("perplexity");
        double rtnIncrease = (double) rows.get(1).get("perplexity") - ppl32;
        double tps32 = (double) rows.get(0).get("decodeTokensPerSecond");
        System.out.println();
        System.out.println("| model | perplexity | increase | increase / RTN's | size (MB) | quantize (s) | decode tok/s | vs fp32 |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (Map<String, Object> r : rows) {
            double ppl = (double) r.get("perplexity");
            double inc = ppl - ppl32;
            r.put("increase", inc);
            r.put("increaseOverRtn", r.get("name").equals("fp32") || rtnIncrease <= 0 ? null : inc / rtnIncrease);
            r.put("decodeSpeedup", (double) r.get("decodeTokensPerSecond") / tps32);
            System.out.printf(Locale.ROOT, "| %s | %.3f | %+.3f (%+.2f%%) | %s | %.2f | %.1f | %.1f | %.2f× |%n", r.get("name"), ppl, inc,
                100 * inc / ppl32, r.get("increaseOverRtn") == null ? "—" : String.format(Locale.ROOT, "%.2f", (double) r.get("increaseOverRtn")),
                ((long) r.get("sizeBytes")) / 1048576.0, (double) r.get("quantizeSeconds"), (double) r.get("decodeTokensPerSecond"),
                (double) r.get("decodeSpeedup"));
        }
        if (json != null) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(),
                new Summary(bits, block, symmetric, actOrder, sampleRows, calibSeconds, rows));
        }
    }

    /**
     * A method with optional modifiers joined by '+': {@code rtn}, {@code gptq}, {@code awq}, then {@code act} /
     * {@code noact} (GPTQ act-order), {@code sym} / {@code asym}, {@code noclip} (AWQ without clipping); e.g.
     * {@code gptq+act}, {@code awq+noclip+sym}. Modifiers override the command-line defaults.
     */
    static LlmQuantRecipe recipe(String variant, int bits, int block, boolean symmetric, boolean actOrder) {
        String[] parts = variant.split("\\+");
        LlmQuantRecipe r = LlmQuantRecipe.of(LlmQuantRecipe.Method.valueOf(parts[0].toUpperCase(Locale.ROOT)))
            .withBits(bits).withBlockSize(block).withSymmetric(symmetric).withActOrder(actOrder);
        for (int i = 1; i < parts.length; i++) {
            r = switch (parts[i]) {
                case "act" -> r.withActOrder(true);
                case "noact" -> r.withActOrder(false);
                case "sym" -> r.withSymmetric(true);
                case "asym" -> r.withSymmetric(false);
                case "noclip" -> r.withAwqClip(false);
                default -> throw new IllegalArgumentException("unknown modifier '" + parts[i] + "' in " + variant);
            };
        }
        return r;
    }

    private static Map<String, Object> measure(String name, byte[] model, double quantizeSeconds, long[] heldout, long[] prompt,
                                               PerplexityOptions pplOptions, DecodeSpeedOptions decodeOptions) {
        PerplexityResult ppl = Perplexity.evaluate(model, heldout, pplOptions);
        DecodeSpeedResult speed = decodeOptions == null ? null : DecodeSpeed.measure(model, prompt, decodeOptions);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("name", name);
        r.put("perplexity", ppl.perplexity());
        r.put("tokens", ppl.tokens());
        r.put("sizeBytes", (long) model.length);
        r.put("quantizeSeconds", quantizeSeconds);
        r.put("decodeTokensPerSecond", speed == null ? Double.NaN : speed.tokensPerSecond());
        r.put("decodeP50Ms", speed == null ? Double.NaN : speed.p50Ms());
        r.put("prefillTokensPerSecond", speed == null ? Double.NaN : speed.prefillTokensPerSecond());
        System.out.printf(Locale.ROOT, "  %-5s ppl %.3f, %d bytes, decode %.1f tok/s%n", name, ppl.perplexity(), model.length,
            (double) r.get("decodeTokensPerSecond"));
        return r;
    }
}
