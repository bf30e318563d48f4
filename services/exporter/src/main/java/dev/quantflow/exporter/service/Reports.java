package dev.quantflow.exporter.service;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.JobContext;

/** Builds the job report: JSON for machines, HTML (the spec's FP32-vs-quantized table) for people. */
final class Reports {

    private Reports() {
    }

    static ObjectNode json(String jobId, JobContext job, boolean meetsTarget, String bestEffortReason, JsonNode metrics,
                           JsonNode summary, List<AttemptRecord> history, List<JsonNode> attemptMetrics, String precisionLabel) {
        ObjectNode r = ExportStage.JSON.createObjectNode();
        r.put("jobId", jobId);
        r.put("name", job.getInputs().getName());
        r.put("state", meetsTarget ? "READY" : "FAILED");
        r.put("bestEffort", !meetsTarget);
        r.put("bestEffortReason", meetsTarget ? "" : bestEffortReason);
        r.put("method", job.getPlan().getMethod());
        r.put("methodReason", job.getPlan().getMethodReason());
        r.put("precision", precisionLabel);
        r.put("meetsTarget", meetsTarget);
        r.put("finishedAt", Instant.now().toString());
        r.put("chosenAttempt", metrics.path("attempt").asInt());
        ArrayNode attempts = r.putArray("attempts");
        for (int i = 0; i < history.size(); i++) {
            AttemptRecord a = history.get(i);
            JsonNode m = attemptMetrics.get(i);
            ObjectNode n = attempts.addObject();
            n.put("attempt", a.getAttempt());
            n.put("passed", a.getPassed());
            n.put("verdict", a.getVerdict());
            n.set("recipe", m.path("recipe"));
            n.set("quantizedAccuracy", m.path("quantized").path("accuracy"));
            n.set("top1Agreement", m.path("comparison").path("top1Agreement"));
            n.set("quantizedSizeBytes", m.path("quantized").path("sizeBytes"));
            n.set("quantizedLatencyBatch1P50Ms", m.path("quantized").path("latencyBatch1").path("p50Ms"));
            if (m.path("quantized").has("perplexity")) {
                n.set("quantizedPerplexity", m.path("quantized").path("perplexity"));
                n.set("baselinePerplexity", m.path("baseline").path("perplexity"));
            }
            n.put("method", a.getMethod());
            n.put("diagnosis", a.getDiagnosis());
            n.put("route", a.getRoute());
        }
        markPareto(attempts);
        r.set("fp32", metrics.path("fp32"));
        r.set("quantized", metrics.path("quantized"));
        r.set("comparison", metrics.path("comparison"));
        r.set("target", metrics.path("target"));
        r.put("verdict", metrics.path("verdict").asText());
        ObjectNode q = r.putObject("quantization");
        q.set("recipe", metrics.path("recipe"));
        q.set("quantizedNodes", summary.path("quantizedNodes"));
        q.set("keptFloatNodes", summary.path("keptFloatNodes"));
        if (summary.has("smoothQuant")) {
            q.set("smoothQuant", summary.path("smoothQuant"));
        }
        r.set("layers", metrics.path("layers"));
        if (metrics.has("outputs")) {
            r.set("outputs", metrics.path("outputs"));
        }
        if (metrics.has("baseline")) {
            r.set("baseline", metrics.path("baseline"));
        }
        r.put("llm", metrics.path("llm").asBoolean(false));
        if (summary.has("lossCurve")) {
            ObjectNode t = r.putObject("training");
            for (String k : List.of("weightBits", "perChannelWeights", "learnedScales", "steps", "batchSize", "learningRate",
                "trainingSamples", "labelsUsed", "seconds", "stepsPerSecond", "finalLoss", "lossCurve")) {
                t.set(k, summary.path(k));
            }
        }
        return r;
    }

    /**
     * Marks the Pareto set of attempts over (quality ↑, size ↓, batch-1 latency ↓): an attempt is on it unless another
     * one is at least as good on all three and better on one. Attempts without a runnable model are never on it.
     */
    static void markPareto(ArrayNode attempts) {
        for (JsonNode a : attempts) {
            boolean dominated = !a.path("quantizedSizeBytes").isNumber();
            for (JsonNode b : attempts) {
                if (dominated) {
                    break;
                }
                if (a == b || !b.path("quantizedSizeBytes").isNumber()) {
                    continue;
                }
                double qa = quality(a);
                double qb = quality(b);
                double sa = a.path("quantizedSizeBytes").asDouble();
                double sb = b.path("quantizedSizeBytes").asDouble();
                double la = a.path("quantizedLatencyBatch1P50Ms").asDouble(Double.MAX_VALUE);
                double lb = b.path("quantizedLatencyBatch1P50Ms").asDouble(Double.MAX_VALUE);
                dominated = qb >= qa && sb <= sa && lb <= la && (qb > qa || sb < sa || lb < la);
            }
            ((ObjectNode) a).put("pareto", !dominated);
        }
    }

    private static double quality(JsonNode attempt) {
        if (attempt.path("quantizedPerplexity").isNumber()) {
            return -attempt.path("quantizedPerplexity").asDouble();
        }
        return attempt.path("quantizedAccuracy").isNumber() ? attempt.path("quantizedAccuracy").asDouble()
            : attempt.path("top1Agreement").asDouble(Double.NEGATIVE_INFINITY);
    }

    static String html(JsonNode r) {
        String label = r.path("precision").asText("INT8");
        StringBuilder s = new StringBuilder();
        s.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>quantflow report ")
            .append(esc(r.path("jobId").asText())).append("</title>\n<style>")
            .append("body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}")
            .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}")
            .append("th:first-child,td:first-child{text-align:left}.ok{color:#2e7d32}.miss{color:#c62828}")
            .append("</style></head><body>\n");
        s.append("<h1>Quantization report</h1>\n<p>Job <code>").append(esc(r.path("jobId").asText())).append("</code>");
        if (!r.path("name").asText().isEmpty()) {
            s.append(" (").append(esc(r.path("name").asText())).append(")");
        }
        s.append(" &middot; method <b>").append(esc(r.path("method").asText())).append("</b> &middot; ")
            .append(r.path("meetsTarget").asBoolean() ? "<b class=\"ok\">meets target</b>" : "<b class=\"miss\">does NOT meet target</b>")
            .append("</p>\n");
        if (r.path("bestEffort").asBoolean()) {
            s.append("<p class=\"miss\"><b>BEST EFFORT:</b> the budget ran out (").append(esc(r.path("bestEffortReason").asText()))
                .append("). The model below is the best attempt found; it does not meet the target.</p>\n");
        }
        s.append("<p>").append(esc(r.path("verdict").asText())).append("</p>\n");

        if (r.path("llm").asBoolean()) {
            llmTables(s, r, label);
        } else {
            fp32Table(s, r, label);
        }

        s.append("<h2>Attempts</h2>\n<p>&#9733; = Pareto set (no other attempt is at least as ")
            .append(r.path("llm").asBoolean() ? "good in perplexity" : "accurate").append(", as small and as fast).</p>\n")
            .append("<table><tr><th>Attempt</th><th>Method</th><th>Recipe</th><th>")
            .append(r.path("llm").asBoolean() ? "Perplexity" : "Accuracy (%)").append("</th><th>Size (MB)</th>")
            .append("<th>Latency b1 p50 (ms)</th><th>Result</th><th>Pareto</th><th>Diagnosis &rarr; next step</th></tr>\n");
        for (JsonNode a : r.path("attempts")) {
            JsonNode rec = a.path("recipe");
            String recipe = r.path("llm").asBoolean()
                ? rec.path("bits").asInt() + "-bit, blocks of " + rec.path("blockSize").asInt()
                    + (rec.path("highPrecisionNodes").isEmpty() ? "" : ", 8-bit: " + String.join(", ", texts(rec.path("highPrecisionNodes"))))
                : rec.path("calibrator").asText() + ", W " + rec.path("weightType").asText() + " / A "
                    + rec.path("activationType").asText();
            recipe += rec.path("excludedNodes").isEmpty() ? "" : ", fp32: " + String.join(", ", texts(rec.path("excludedNodes")));
            String quality = r.path("llm").asBoolean() ? fmt(num(a.path("quantizedPerplexity")), 3)
                : fmt(pct(a.path("quantizedAccuracy")), 2);
            s.append("<tr><td>").append(a.path("attempt").asInt()).append("</td><td>").append(esc(a.path("method").asText()))
                .append("</td><td>").append(esc(recipe))
                .append("</td><td>").append(quality)
                .append("</td><td>").append(fmt(mb(a.path("quantizedSizeBytes")), 3))
                .append("</td><td>").append(fmt(num(a.path("quantizedLatencyBatch1P50Ms")), 3))
                .append("</td><td>").append(a.path("passed").asBoolean() ? "<span class=\"ok\">pass</span>" : "<span class=\"miss\">miss</span>")
                .append("</td><td>").append(a.path("pareto").asBoolean() ? "&#9733;" : "")
                .append("</td><td style=\"text-align:left\">").append(esc(a.path("diagnosis").asText()))
                .append(a.path("route").asText().isEmpty() ? "" : " &rarr; " + esc(a.path("route").asText()))
                .append("</td></tr>\n");
        }
        s.append("</table>\n");

        hardware(s, r.path("hardware"));
        training(s, r.path("training"));
        layers(s, r.path("layers"));
        llmNodes(s, r);

        JsonNode kept = r.path("quantization").path("keptFloatNodes");
        s.append("<h2>Nodes</h2>\n<p>").append(r.path("quantization").path("quantizedNodes").size())
            .append(" nodes quantized, ").append(kept.size()).append(" kept in fp32.");
        JsonNode smooth = r.path("quantization").path("smoothQuant");
        if (smooth.has("alpha") && smooth.path("tensors").asInt() > 0) {
            s.append(" SmoothQuant (α = ").append(smooth.path("alpha").asDouble()).append(") moved activation outliers of ")
                .append(smooth.path("tensors").asInt()).append(" MatMul inputs into the weights before quantizing.");
        } else if (smooth.has("alpha")) {
            s.append(" SmoothQuant found no MatMul with a constant weight to smooth (Gemm heads are left as they are).");
        }
        s.append("</p>\n");
        if (!kept.isEmpty()) {
            s.append("<table><tr><th>Node kept fp32</th><th>Op</th><th>Why</th></tr>\n");
            for (JsonNode k : kept) {
                s.append("<tr><td>").append(esc(k.path("node").asText())).append("</td><td>").append(esc(k.path("opType").asText()))
                    .append("</td><td>").append(esc(k.path("reason").asText())).append("</td></tr>\n");
            }
            s.append("</table>\n");
        }
        s.append("<h2>Files</h2>\n<table><tr><th>File</th><th>Size (bytes)</th><th>sha256</th></tr>\n");
        for (JsonNode a : r.path("artifacts")) {
            s.append("<tr><td>").append(esc(a.path("name").asText())).append("</td><td>").append(a.path("size").asLong())
                .append("</td><td><code>").append(esc(a.path("sha256").asText())).append("</code></td></tr>\n");
        }
        s.append("</table>\n</body></html>\n");
        return s.toString();
    }

    /** The spec's FP32-vs-quantized table (vision, NLP encoders, QAT with its PTQ baseline). */
    private static void fp32Table(StringBuilder s, JsonNode r, String label) {
        JsonNode f = r.path("fp32");
        JsonNode q = r.path("quantized");
        JsonNode b = r.path("baseline");
        s.append("<h2>FP32 vs ").append(esc(label)).append("</h2>\n<table><tr><th>Metric</th><th>FP32</th><th>")
            .append(esc(label)).append("</th><th>Change</th></tr>\n");
        row(s, "Model size (MB)", mb(f.path("sizeBytes")), mb(q.path("sizeBytes")), 2);
        row(s, "Latency batch 1, p50 (ms)", num(f.path("latencyBatch1").path("p50Ms")), num(q.path("latencyBatch1").path("p50Ms")), 3);
        row(s, "Latency batch 1, p95 (ms)", num(f.path("latencyBatch1").path("p95Ms")), num(q.path("latencyBatch1").path("p95Ms")), 3);
        row(s, "Latency batch " + f.path("latencyBatchN").path("batchSize").asInt() + ", p50 (ms)",
            num(f.path("latencyBatchN").path("p50Ms")), num(q.path("latencyBatchN").path("p50Ms")), 3);
        row(s, "Accuracy (top-1, %)", pct(f.path("accuracy")), pct(q.path("accuracy")), 2);
        row(s, "RAM (MB, peak)", num(f.path("peakRamMb")), num(q.path("peakRamMb")), 1);
        s.append("</table>\n<p>");
        if (r.path("outputs").path("meanCosine").isNumber()) {
            s.append("Cosine of outputs to FP32: mean ").append(fmt(r.path("outputs").path("meanCosine").asDouble(), 5))
                .append(", min ").append(fmt(r.path("outputs").path("minCosine").asDouble(), 5)).append(". ");
        } else {
            s.append("Top-1 agreement with FP32: ").append(fmt(pct(r.path("comparison").path("top1Agreement")), 2)).append("%. ");
        }
        s.append("Latency measured in ONNX Runtime (CPU), warm-up excluded.</p>\n");
        if (b.path("accuracy").isNumber()) {
            s.append("<p>Baseline <b>").append(esc(b.path("method").asText())).append("</b>: top-1 ")
                .append(fmt(pct(b.path("accuracy")), 2)).append("% (drop ").append(fmt(pct(b.path("accuracyDrop")), 2))
                .append(" points from FP32); ").append(esc(label)).append(" recovers ")
                .append(b.path("recoveredFraction").isNumber() ? fmt(pct(b.path("recoveredFraction")), 1) + "%" : "n/a")
                .append(" of that drop.</p>\n");
        }
    }

    /** Causal LMs: perplexity (FP32, round-to-nearest baseline, the method), decode speed, size. */
    private static void llmTables(StringBuilder s, JsonNode r, String label) {
        JsonNode f = r.path("fp32");
        JsonNode q = r.path("quantized");
        JsonNode b = r.path("baseline");
        String method = r.path("method").asText().toUpperCase();
        boolean hasBaseline = b.path("perplexity").isNumber();
        s.append("<h2>FP32 vs ").append(esc(method)).append(" ").append(esc(label)).append("</h2>\n<table><tr><th>Metric</th><th>FP32</th>");
        if (hasBaseline) {
            s.append("<th>RTN (same bits)</th>");
        }
        s.append("<th>").append(esc(method)).append("</th><th>Change vs FP32</th></tr>\n");
        llmRow(s, "Perplexity (held-out)", num(f.path("perplexity")), hasBaseline ? num(b.path("perplexity")) : null,
            num(q.path("perplexity")), 3, hasBaseline);
        llmRow(s, "Model size (MB)", mb(f.path("sizeBytes")), hasBaseline ? mb(b.path("sizeBytes")) : null,
            mb(q.path("sizeBytes")), 2, hasBaseline);
        llmRow(s, "Decode, batch 1 (tokens/s)", num(f.path("decodeTokensPerSecond")), null,
            num(q.path("decodeTokensPerSecond")), 1, hasBaseline);
        llmRow(s, "Decode per token p50 (ms)", num(f.path("decodeP50Ms")), null, num(q.path("decodeP50Ms")), 2, hasBaseline);
        llmRow(s, "Prefill (tokens/s)", num(f.path("prefillTokensPerSecond")), null, num(q.path("prefillTokensPerSecond")), 0,
            hasBaseline);
        s.append("</table>\n<p>Perplexity over ").append(q.path("heldOutTokens").asLong()).append(" held-out tokens in ")
            .append(q.path("windows").asInt()).append(" non-overlapping windows of ").append(q.path("context").asInt())
            .append(" tokens. Decode: greedy, batch 1, ").append(q.path("intraOpThreads").asInt())
            .append(" ONNX Runtime thread(s), warm-up excluded; the model has no KV cache, so each token re-runs the prefix.");
        JsonNode c = r.path("comparison");
        if (c.path("increaseVsBaseline").isNumber()) {
            s.append(" ").append(esc(method)).append("'s perplexity increase is ")
                .append(fmt(c.path("increaseVsBaseline").asDouble(), 2)).append("&times; round-to-nearest's.");
        }
        s.append("</p>\n");
    }

    private static void llmRow(StringBuilder s, String metric, Double fp32, Double baseline, Double q, int digits,
                               boolean baselineColumn) {
        String change = fp32 == null || q == null || fp32 == 0 ? "n/a" : String.format(Locale.ROOT, "%+.1f%%", (q - fp32) / fp32 * 100);
        s.append("<tr><td>").append(esc(metric)).append("</td><td>").append(fmt(fp32, digits)).append("</td>");
        if (baselineColumn) {
            s.append("<td>").append(fmt(baseline, digits)).append("</td>");
        }
        s.append("<td>").append(fmt(q, digits)).append("</td><td>").append(change).append("</td></tr>\n");
    }

    /** Hardware profiles: one column per hardware class, each cell "quantized / fp32". */
    private static void hardware(StringBuilder s, JsonNode hw) {
        if (hw.isMissingNode() || hw.isEmpty()) {
            return;
        }
        List<String> classes = new java.util.ArrayList<>();
        hw.fieldNames().forEachRemaining(classes::add);
        s.append("<h2>Hardware</h2>\n<p>Measured by the hardware-profiler of each class (warm-up excluded; cells: quantized / fp32).</p>\n")
            .append("<table><tr><th>Metric</th>");
        classes.forEach(c -> s.append("<th>").append(esc(c)).append("</th>"));
        s.append("</tr>\n");
        hwRow(s, hw, classes, "CPU", p -> esc(p.path("cpuModel").asText()) + " (" + p.path("logicalCores").asInt() + " cores)", false);
        hwRow(s, hw, classes, "Features", p -> esc(String.join(" ", texts(p.path("cpuFeatures")))), false);
        hwRow(s, hw, classes, "INT8", p -> level(p, "int8"), false);
        hwRow(s, hw, classes, "Threads", p -> String.valueOf(p.path("intraOpThreads").asInt()), false);
        hwRow(s, hw, classes, "Latency batch 1 p50 (ms)", p -> fmt(num(p.path("latencyP50Ms")), 3), true);
        hwRow(s, hw, classes, "Latency batch 1 p95 (ms)", p -> fmt(num(p.path("latencyP95Ms")), 3), true);
        hwRow(s, hw, classes, "Latency batch 1 p99 (ms)", p -> fmt(num(p.path("latencyP99Ms")), 3), true);
        hwRow(s, hw, classes, "Throughput (samples/s)", p -> fmt(num(p.path("throughputSamplesPerSecond")), 0), true);
        hwRow(s, hw, classes, "Peak memory (MB)", p -> fmt(num(p.path("peakMemoryMb")), 1), true);
        hwRow(s, hw, classes, "Energy per inference (J)", p -> p.has("energyJoulesPerInference")
            ? String.format(Locale.ROOT, "%.4g", p.path("energyJoulesPerInference").asDouble()) : "unavailable", true);
        s.append("</table>\n");
    }

    private static String level(JsonNode profile, String format) {
        for (JsonNode f : profile.path("formats")) {
            if (f.path("format").asText().equals(format)) {
                return esc(f.path("level").asText());
            }
        }
        return "n/a";
    }

    private static void hwRow(StringBuilder s, JsonNode hw, List<String> classes, String metric,
                              java.util.function.Function<JsonNode, String> cell, boolean both) {
        s.append("<tr><td>").append(esc(metric)).append("</td>");
        for (String c : classes) {
            JsonNode q = hw.path(c).path("quantized");
            JsonNode f = hw.path(c).path("fp32");
            JsonNode any = q.isMissingNode() ? f : q;
            String text = both ? (q.isMissingNode() ? "n/a" : cell.apply(q)) + " / " + (f.isMissingNode() ? "n/a" : cell.apply(f))
                : any.isMissingNode() ? "n/a" : cell.apply(any);
            s.append("<td>").append(text).append("</td>");
        }
        s.append("</tr>\n");
    }

    /** QAT: what the fine-tuning did (steps, learning rate, the loss curve). */
    private static void training(StringBuilder s, JsonNode t) {
        if (t.isMissingNode() || !t.path("steps").isNumber()) {
            return;
        }
        s.append("<h2>Training</h2>\n<p>W").append(t.path("weightBits").asInt()).append("A8, ")
            .append(t.path("perChannelWeights").asBoolean() ? "per-channel" : "per-tensor").append(" weights, ")
            .append(t.path("learnedScales").asBoolean() ? "learned scales (LSQ)" : "fixed scales").append("; ")
            .append(t.path("steps").asInt()).append(" steps of batch ").append(t.path("batchSize").asInt())
            .append(" on ").append(t.path("trainingSamples").asInt()).append(" samples, peak learning rate ")
            .append(fmt(num(t.path("learningRate")), 5)).append(", ").append(fmt(num(t.path("seconds")), 1)).append(" s (")
            .append(fmt(num(t.path("stepsPerSecond")), 2)).append(" steps/s); loss: distillation from FP32")
            .append(t.path("labelsUsed").asBoolean() ? " + cross-entropy on labels" : "").append(".</p>\n");
        s.append("<table><tr><th>Step</th><th>Loss</th><th>Learning rate</th></tr>\n");
        for (JsonNode p : t.path("lossCurve")) {
            s.append("<tr><td>").append(p.path("step").asInt()).append("</td><td>").append(fmt(num(p.path("loss")), 4))
                .append("</td><td>").append(String.format(Locale.ROOT, "%.2g", p.path("learningRate").asDouble())).append("</td></tr>\n");
        }
        s.append("</table>\n");
    }

    /** LLM weight-only: per-MatMul bits and relative reconstruction error. */
    private static void llmNodes(StringBuilder s, JsonNode r) {
        if (!r.path("llm").asBoolean()) {
            return;
        }
        s.append("<h2>Weights</h2>\n<p>Relative reconstruction error <i>tr(&Delta;W&#7488; H &Delta;W) / tr(W&#7488; H W)</i> of each ")
            .append("quantized MatMul weight, H from the calibration activations.</p>\n")
            .append("<table><tr><th>MatMul</th><th>K &times; N</th><th>Bits</th><th>Relative error</th></tr>\n");
        for (JsonNode n : r.path("quantization").path("quantizedNodes")) {
            s.append("<tr><td>").append(esc(n.path("node").asText())).append("</td><td>").append(n.path("k").asInt())
                .append(" &times; ").append(n.path("n").asInt()).append("</td><td>").append(n.path("bits").asInt())
                .append("</td><td>").append(n.path("relativeError").isNumber()
                    ? String.format(Locale.ROOT, "%.3g", n.path("relativeError").asDouble()) : "n/a").append("</td></tr>\n");
        }
        s.append("</table>\n");
    }

    /** Per-layer SQNR: a table and a horizontal bar chart (inline SVG, no scripts). */
    private static void layers(StringBuilder s, JsonNode layers) {
        List<JsonNode> rows = new java.util.ArrayList<>();
        layers.forEach(l -> {
            if (l.path("sqnrDb").isNumber()) {
                rows.add(l);
            }
        });
        if (rows.isEmpty()) {
            return;
        }
        s.append("<h2>Per-layer SQNR</h2>\n<p>Signal-to-quantization-noise ratio of each layer's output against fp32 ")
            .append("(higher is better; ~6 dB per bit). <i>Layer SQNR</i> estimates the noise the layer adds itself.</p>\n");
        int width = 520;
        int barH = 16;
        double max = rows.stream().mapToDouble(l -> Math.min(l.path("sqnrDb").asDouble(), 80)).max().orElse(1);
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width + 260).append("\" height=\"")
            .append(rows.size() * (barH + 4) + 4).append("\" role=\"img\" aria-label=\"per-layer SQNR\">\n");
        for (int i = 0; i < rows.size(); i++) {
            JsonNode l = rows.get(i);
            double v = Math.max(0, Math.min(l.path("sqnrDb").asDouble(), 80));
            int y = i * (barH + 4) + 2;
            int w = (int) Math.round(v / max * width);
            String color = v < 20 ? "#c62828" : v < 30 ? "#f9a825" : "#2e7d32";
            s.append("<text x=\"0\" y=\"").append(y + 12).append("\" font-size=\"11\">").append(esc(l.path("node").asText()))
                .append("</text><rect x=\"200\" y=\"").append(y).append("\" width=\"").append(w).append("\" height=\"")
                .append(barH).append("\" fill=\"").append(color).append("\"/><text x=\"").append(205 + w).append("\" y=\"")
                .append(y + 12).append("\" font-size=\"11\">").append(fmt(l.path("sqnrDb").asDouble(), 1)).append(" dB</text>\n");
        }
        s.append("</svg>\n<table><tr><th>Node</th><th>Op</th><th>INT8</th><th>SQNR (dB)</th><th>Layer SQNR (dB)</th></tr>\n");
        for (JsonNode l : rows) {
            s.append("<tr><td>").append(esc(l.path("node").asText())).append("</td><td>").append(esc(l.path("opType").asText()))
                .append("</td><td>").append(l.path("quantized").asBoolean() ? "yes" : "fp32").append("</td><td>")
                .append(fmt(num(l.path("sqnrDb")), 1)).append("</td><td>").append(fmt(num(l.path("layerSqnrDb")), 1))
                .append("</td></tr>\n");
        }
        s.append("</table>\n");
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static void row(StringBuilder s, String metric, Double a, Double b, int digits) {
        String change = a == null || b == null || a == 0 ? "n/a" : String.format(Locale.ROOT, "%+.1f%%", (b - a) / a * 100);
        s.append("<tr><td>").append(esc(metric)).append("</td><td>").append(fmt(a, digits)).append("</td><td>")
            .append(fmt(b, digits)).append("</td><td>").append(change).append("</td></tr>\n");
    }

    private static Double num(JsonNode n) {
        return n.isNumber() ? n.asDouble() : null;
    }

    private static Double mb(JsonNode bytes) {
        return bytes.isNumber() ? bytes.asDouble() / (1024 * 1024) : null;
    }

    private static Double pct(JsonNode fraction) {
        return fraction.isNumber() ? fraction.asDouble() * 100 : null;
    }

    private static String fmt(Double v, int digits) {
        return v == null ? "n/a" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
