package dev.quantflow.runtime.llm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.llm.LayerInputStats;
import dev.quantflow.quant.llm.LlmQuantRecipe;
import dev.quantflow.quant.llm.LlmWeightQuantizer;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * RTN, GPTQ and AWQ side by side on one causal-LM fixture folder ({@code model.onnx}, {@code calib.npz},
 * {@code heldout.npz}, as the scripts under {@code fixtures/gpt*} write them): one calibration pass, then the
 * held-out perplexity of fp32 and of each method's model, and each method's perplexity increase over fp32 as a
 * multiple of RTN's. What {@code bench/run-llm-fixtures.sh} prints and what the per-fixture regression tests assert.
 */
public final class FourBitComparison {

    /** One method's outcome. {@code increaseOverRtn} is NaN for fp32 and RTN itself. */
    public record Row(String method, double perplexity, double increase, double increaseOverRtn, long sizeBytes,
                      double quantizeSeconds) {
    }

    /** All rows of one fixture, fp32 first, then RTN, then the methods in the order asked. */
    public record Result(String fixture, int heldoutTokens, double calibrationSeconds, List<Row> rows) {

        public Row row(String method) {
            return rows.stream().filter(r -> r.method().equals(method)).findFirst().orElseThrow();
        }
    }

    private FourBitComparison() {
    }

    /**
     * @param dir          fixture folder
     * @param recipes      method label → recipe (RTN is added first when absent); 4-bit, block 128 for the targets
     * @param heldoutLimit use at most this many held-out tokens (0: all of {@code heldout.npz})
     */
    public static Result run(Path dir, Map<String, LlmQuantRecipe> recipes, int heldoutLimit) throws IOException {
        byte[] fp32 = Files.readAllBytes(dir.resolve("model.onnx"));
        OnnxModel model = OnnxModel.parse(fp32);
        int context = ModelInspector.languageModelShape(model).contextLength();
        NpzArchive calib = NpzArchive.read(dir.resolve("calib.npz"));
        long[] heldout = NpzArchive.read(dir.resolve("heldout.npz")).array(Perplexity.TOKENS).toLongs();
        if (heldoutLimit > 0 && heldoutLimit < heldout.length) {
            heldout = java.util.Arrays.copyOf(heldout, heldoutLimit);
        }
        long t0 = System.nanoTime();
        LlmCalibrationResult calibration = LlmCalibration.run(fp32, calib, LlmCalibrationOptions.defaults(), (d, t) -> { });
        double calibSeconds = (System.nanoTime() - t0) / 1e9;
        Map<String, LayerInputStats> stats = calibration.stats();
        PerplexityOptions ppl = PerplexityOptions.defaults().withContext(context);
        double ppl32 = Perplexity.evaluate(fp32, heldout, ppl).perplexity();

        Map<String, LlmQuantRecipe> all = new LinkedHashMap<>();
        LlmQuantRecipe rtn = recipes.getOrDefault("rtn", recipes.values().iterator().next().withMethod(LlmQuantRecipe.Method.RTN));
        all.put("rtn", rtn);
        recipes.forEach((k, v) -> {
            if (!k.equals("rtn")) {
                all.put(k, v);
            }
        });
        List<Row> rows = new ArrayList<>();
        rows.add(new Row("fp32", ppl32, 0, Double.NaN, fp32.length, 0));
        LlmWeightQuantizer quantizer = new LlmWeightQuantizer();
        double rtnIncrease = Double.NaN;
        for (Map.Entry<String, LlmQuantRecipe> e : all.entrySet()) {
            LlmQuantRecipe recipe = e.getValue();
            long q0 = System.nanoTime();
            byte[] q = quantizer.quantize(OnnxModel.parse(fp32),
                recipe.method() == LlmQuantRecipe.Method.RTN ? Map.of() : stats, recipe).model().toByteArray();
            double qs = (System.nanoTime() - q0) / 1e9;
            double p = Perplexity.evaluate(q, heldout, ppl).perplexity();
            double inc = p - ppl32;
            if (e.getKey().equals("rtn")) {
                rtnIncrease = inc;
            }
            double ratio = e.getKey().equals("rtn") || !(rtnIncrease > 0) ? Double.NaN : inc / rtnIncrease;
            rows.add(new Row(e.getKey(), p, inc, ratio, q.length, qs));
        }
        return new Result(dir.getFileName().toString(), heldout.length, calibSeconds, rows);
    }

    /** The rows as Markdown table lines (no header). */
    public static List<String> markdown(Result r) {
        List<String> lines = new ArrayList<>();
        for (Row row : r.rows()) {
            lines.add(String.format(Locale.ROOT, "| %s | %s | %.3f | %s | %s | %.2f | %.1f |", r.fixture(), row.method(),
                row.perplexity(), row.method().equals("fp32") ? "" : String.format(Locale.ROOT, "%+.3f", row.increase()),
                Double.isNaN(row.increaseOverRtn()) ? (row.method().equals("rtn") ? "1.00" : "")
                    : String.format(Locale.ROOT, "**%.2f**", row.increaseOverRtn()),
                row.sizeBytes() / 1048576.0, row.quantizeSeconds()));
        }
        return lines;
    }
}
