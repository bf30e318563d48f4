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
        r.set("layers", metrics.path("layers"));
        if (metrics.has("outputs")) {
            r.set("outputs", metrics.path("outputs"));
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
        return attempt.path("quantizedAccuracy").isNumber() ? attempt.path("quantizedAccuracy").asDouble()
            : attempt.path("top1Agreement").asDouble(Double.NEGATIVE_INFINITY);
    }

    static String html(JsonNode r) {
        String label = r.path("precision").asText("INT8");
        JsonNode f = r.path("fp32");
        JsonNode q = r.path("quantized");
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

        s.append("<h2>Attempts</h2>\n<p>&#9733; = Pareto set (no other attempt is at least as accurate, as small and as fast).</p>\n")
            .append("<table><tr><th>Attempt</th><th>Recipe</th><th>Accuracy (%)</th><th>Size (MB)</th>")
            .append("<th>Latency b1 p50 (ms)</th><th>Result</th><th>Pareto</th><th>Diagnosis &rarr; next step</th></tr>\n");
        for (JsonNode a : r.path("attempts")) {
            JsonNode rec = a.path("recipe");
            String recipe = rec.path("calibrator").asText() + ", W " + rec.path("weightType").asText() + " / A "
                + rec.path("activationType").asText() + (rec.path("excludedNodes").isEmpty() ? ""
                : ", fp32: " + String.join(", ", texts(rec.path("excludedNodes"))));
            s.append("<tr><td>").append(a.path("attempt").asInt()).append("</td><td>").append(esc(recipe))
                .append("</td><td>").append(fmt(pct(a.path("quantizedAccuracy")), 2))
                .append("</td><td>").append(fmt(mb(a.path("quantizedSizeBytes")), 3))
                .append("</td><td>").append(fmt(num(a.path("quantizedLatencyBatch1P50Ms")), 3))
                .append("</td><td>").append(a.path("passed").asBoolean() ? "<span class=\"ok\">pass</span>" : "<span class=\"miss\">miss</span>")
                .append("</td><td>").append(a.path("pareto").asBoolean() ? "&#9733;" : "")
                .append("</td><td style=\"text-align:left\">").append(esc(a.path("diagnosis").asText()))
                .append(a.path("route").asText().isEmpty() ? "" : " &rarr; " + esc(a.path("route").asText()))
                .append("</td></tr>\n");
        }
        s.append("</table>\n");

        layers(s, r.path("layers"));

        JsonNode kept = r.path("quantization").path("keptFloatNodes");
        s.append("<h2>Nodes</h2>\n<p>").append(r.path("quantization").path("quantizedNodes").size())
            .append(" nodes quantized, ").append(kept.size()).append(" kept in fp32.</p>\n");
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
