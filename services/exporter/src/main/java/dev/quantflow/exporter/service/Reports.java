package dev.quantflow.exporter.service;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import dev.quantflow.contracts.AttemptMetrics;
import dev.quantflow.contracts.AttemptRecipe;
import dev.quantflow.contracts.Baseline;
import dev.quantflow.contracts.Comparison;
import dev.quantflow.contracts.IsaSummary;
import dev.quantflow.contracts.LayerMetrics;
import dev.quantflow.contracts.ModelMetrics;
import dev.quantflow.contracts.NodeDecision;
import dev.quantflow.contracts.Preparation;
import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.contracts.Report;
import dev.quantflow.pipeline.kafka.StageRun;
import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.JobContext;
import dev.quantflow.pipeline.QuantMethod;

/** Builds the job report: JSON for machines, HTML (the spec's FP32-vs-quantized table) for people. */
final class Reports {

    /** Stand-ins for absent parts of a report, so that rendering reads every value the same way. */
    private static final AttemptRecipe NO_RECIPE = new AttemptRecipe(null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null);
    private static final ModelMetrics NO_MODEL = new ModelMetrics(null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null);
    private static final Report.Quantization NO_QUANTIZATION = new Report.Quantization(null, null, null, null, null);

    private Reports() {
    }

    /**
     * The report of a finished job from the chosen attempt's metrics, its quantizer summary (the metrics carry it; a
     * separate {@code summary.json} for metrics written before they did) and every attempt's metrics (one per
     * history entry; {@link AttemptMetrics#NONE} where an attempt has none).
     */
    static Report json(String jobId, JobContext job, String method, boolean meetsTarget, String bestEffortReason, AttemptMetrics metrics,
                       QuantizationSummary summary, List<AttemptRecord> history, List<AttemptMetrics> attemptMetrics,
                       String precisionLabel) {
        List<Report.Attempt> attempts = new ArrayList<>();
        for (int i = 0; i < history.size(); i++) {
            AttemptRecord a = history.get(i);
            AttemptMetrics m = attemptMetrics.get(i);
            ModelMetrics q = m.quantized();
            boolean llm = q != null && q.perplexity() != null;
            attempts.add(new Report.Attempt(a.getAttempt(), a.getPassed(), a.getVerdict(), m.recipe(),
                q == null ? null : q.accuracy(), m.comparison() == null ? null : m.comparison().top1Agreement(),
                q == null ? null : q.sizeBytes(), q == null ? null : q.latencyBatch1P50Ms(),
                llm ? q.perplexity() : null, llm && m.baseline() != null ? m.baseline().perplexity() : null,
                a.getMethod(), attemptPrecision(a), a.getDiagnosis(), a.getRoute(), null));
        }
        Report.Quantization quantization = new Report.Quantization(metrics.recipe(), summary.quantizedNodes(),
            summary.keptFloatNodes(), summary.smoothQuant(), summary.isa());
        return new Report(jobId, job.getInputs().getName(), meetsTarget ? "READY" : "FAILED", !meetsTarget,
            meetsTarget ? "" : bestEffortReason, method, job.getPlan().getMethodReason(), precisionLabel,
            meetsTarget, Instant.now().toString(), metrics.attempt(), markPareto(attempts), metrics.fp32(),
            metrics.quantized(), metrics.comparison(), metrics.target(), metrics.verdict(), quantization, metrics.layers(),
            metrics.outputs(), metrics.baseline(), metrics.isLlm(), summary.isTraining() ? Report.Training.of(summary) : null,
            null, null, null, null, null);
    }

    /**
     * The job's stage runs (noted by each stage's worker in the store), oldest first, with this export's own run so
     * far last; a stored note of this same export event (an earlier delivery that died) is left out.
     */
    static List<Report.StageRun> stages(List<StageRun> stored, StageRun own) {
        List<StageRun> runs = new ArrayList<>();
        for (StageRun r : stored) {
            if (own == null || !(r.group().equals(own.group()) && r.eventId().equals(own.eventId()))) {
                runs.add(r);
            }
        }
        runs.sort(java.util.Comparator.comparing(StageRun::startedAt, java.util.Comparator.nullsFirst(String::compareTo)));
        if (own != null) {
            runs.add(own);
        }
        List<Report.StageRun> out = new ArrayList<>();
        for (StageRun r : runs) {
            out.add(new Report.StageRun(r.stage(), r.service(), r.attempt(), r.startedAt(),
                Math.round(r.seconds() * 1000) / 1000.0, r.peakRssBytes() < 0 ? null : r.peakRssBytes(), r.outcome()));
        }
        return out;
    }

    /** The attempt's method at its recipe's bits, as the registry labels it; null for a method this version lacks. */
    static String attemptPrecision(AttemptRecord a) {
        return QuantMethod.of(a.getMethod()).map(m -> m.precisionLabel(a.getRecipe() == null ? m.defaultBits()
            : a.getRecipe().getBits())).orElse(null);
    }

    /**
     * Marks the Pareto set of attempts over (quality ↑, size ↓, batch-1 latency ↓): an attempt is on it unless another
     * one is at least as good on all three and better on one. Attempts without a runnable model are never on it.
     */
    static List<Report.Attempt> markPareto(List<Report.Attempt> attempts) {
        List<Report.Attempt> marked = new ArrayList<>();
        for (Report.Attempt a : attempts) {
            boolean dominated = a.quantizedSizeBytes() == null;
            for (Report.Attempt b : attempts) {
                if (dominated) {
                    break;
                }
                if (a == b || b.quantizedSizeBytes() == null) {
                    continue;
                }
                double qa = quality(a);
                double qb = quality(b);
                double sa = a.quantizedSizeBytes();
                double sb = b.quantizedSizeBytes();
                double la = or(a.quantizedLatencyBatch1P50Ms(), Double.MAX_VALUE);
                double lb = or(b.quantizedLatencyBatch1P50Ms(), Double.MAX_VALUE);
                dominated = qb >= qa && sb <= sa && lb <= la && (qb > qa || sb < sa || lb < la);
            }
            marked.add(a.withPareto(!dominated));
        }
        return marked;
    }

    private static double quality(Report.Attempt attempt) {
        if (attempt.quantizedPerplexity() != null) {
            return -attempt.quantizedPerplexity();
        }
        return attempt.quantizedAccuracy() != null ? attempt.quantizedAccuracy()
            : or(attempt.top1Agreement(), Double.NEGATIVE_INFINITY);
    }

    private static double or(Double value, double otherwise) {
        return value == null ? otherwise : value;
    }

    static String html(Report r) {
        String label = r.precision() == null ? "INT8" : r.precision();
        boolean llm = r.isLlm();
        StringBuilder s = new StringBuilder();
        s.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>quantflow report ")
            .append(esc(text(r.jobId()))).append("</title>\n<style>")
            .append("body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}")
            .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}")
            .append("th:first-child,td:first-child{text-align:left}.ok{color:#2e7d32}.miss{color:#c62828}")
            .append("</style></head><body>\n");
        s.append("<h1>Quantization report</h1>\n<p>Job <code>").append(esc(text(r.jobId()))).append("</code>");
        if (!text(r.name()).isEmpty()) {
            s.append(" (").append(esc(r.name())).append(")");
        }
        s.append(" &middot; method <b>").append(esc(text(r.method()))).append("</b> &middot; ")
            .append(isTrue(r.meetsTarget()) ? "<b class=\"ok\">meets target</b>" : "<b class=\"miss\">does NOT meet target</b>")
            .append("</p>\n");
        if (!text(r.traceId()).isEmpty()) {
            s.append("<p>Trace <code>").append(esc(r.traceId())).append("</code></p>\n");
        }
        if (isTrue(r.bestEffort())) {
            s.append("<p class=\"miss\"><b>BEST EFFORT:</b> the budget ran out (").append(esc(text(r.bestEffortReason())))
                .append("). The model below is the best attempt found; it does not meet the target.</p>\n");
        }
        s.append("<p>").append(esc(text(r.verdict()))).append("</p>\n");
        if (r.target() != null && !text(r.target().metricReason()).isEmpty()) {
            s.append("<p>Judged on: ").append(esc(r.target().metricReason())).append("</p>\n");
        }
        isa(s, r.quantization() == null ? null : r.quantization().isa());

        if (llm) {
            llmTables(s, r, label);
        } else {
            fp32Table(s, r, label);
        }

        s.append("<h2>Attempts</h2>\n<p>&#9733; = Pareto set (no other attempt is at least as ")
            .append(llm ? "good in perplexity" : "accurate").append(", as small and as fast).</p>\n")
            .append("<table><tr><th>Attempt</th><th>Method</th><th>Recipe</th><th>")
            .append(llm ? "Perplexity" : "Accuracy (%)").append("</th><th>Size (MB)</th>")
            .append("<th>Latency b1 p50 (ms)</th><th>Result</th><th>Pareto</th><th>Diagnosis &rarr; next step</th></tr>\n");
        for (Report.Attempt a : list(r.attempts())) {
            AttemptRecipe rec = a.recipe() == null ? NO_RECIPE : a.recipe();
            String recipe = llm
                ? count(rec.bits()) + "-bit, blocks of " + count(rec.blockSize())
                    + (list(rec.highPrecisionNodes()).isEmpty() ? "" : ", 8-bit: " + String.join(", ", rec.highPrecisionNodes()))
                : text(rec.calibrator()) + ", W " + text(rec.weightType()) + " / A "
                    + (text(rec.activationType()).isEmpty() ? "per ISA" : rec.activationType());
            recipe += list(rec.excludedNodes()).isEmpty() ? "" : ", fp32: " + String.join(", ", rec.excludedNodes());
            String quality = llm ? fmt(a.quantizedPerplexity(), 3) : fmt(pct(a.quantizedAccuracy()), 2);
            s.append("<tr><td>").append(count(a.attempt())).append("</td><td>").append(esc(text(a.method())))
                .append("</td><td>").append(esc(recipe))
                .append("</td><td>").append(quality)
                .append("</td><td>").append(fmt(mb(a.quantizedSizeBytes()), 3))
                .append("</td><td>").append(fmt(a.quantizedLatencyBatch1P50Ms(), 3))
                .append("</td><td>").append(isTrue(a.passed()) ? "<span class=\"ok\">pass</span>" : "<span class=\"miss\">miss</span>")
                .append("</td><td>").append(isTrue(a.pareto()) ? "&#9733;" : "")
                .append("</td><td style=\"text-align:left\">").append(esc(text(a.diagnosis())))
                .append(text(a.route()).isEmpty() ? "" : " &rarr; " + esc(a.route()))
                .append("</td></tr>\n");
        }
        s.append("</table>\n");

        preparation(s, r.preparation());
        stages(s, list(r.stages()));
        hardware(s, r.hardware());
        training(s, r.training());
        layers(s, list(r.layers()));
        llmNodes(s, r);

        Report.Quantization quantization = r.quantization() == null ? NO_QUANTIZATION : r.quantization();
        List<NodeDecision> kept = list(quantization.keptFloatNodes());
        s.append("<h2>Nodes</h2>\n<p>").append(list(quantization.quantizedNodes()).size())
            .append(" nodes quantized, ").append(kept.size()).append(" kept in fp32.");
        QuantizationSummary.SmoothQuant smooth = quantization.smoothQuant();
        if (smooth != null && smooth.tensors() > 0) {
            s.append(" SmoothQuant (α = ").append(smooth.alpha()).append(") moved activation outliers of ")
                .append(smooth.tensors()).append(" MatMul inputs into the weights before quantizing.");
        } else if (smooth != null) {
            s.append(" SmoothQuant found no MatMul with a constant weight to smooth (Gemm heads are left as they are).");
        }
        s.append("</p>\n");
        if (!kept.isEmpty()) {
            s.append("<table><tr><th>Node kept fp32</th><th>Op</th><th>Why</th></tr>\n");
            for (NodeDecision k : kept) {
                s.append("<tr><td>").append(esc(text(k.node()))).append("</td><td>").append(esc(text(k.opType())))
                    .append("</td><td>").append(esc(text(k.reason()))).append("</td></tr>\n");
            }
            s.append("</table>\n");
        }
        s.append("<h2>Files</h2>\n<table><tr><th>File</th><th>Size (bytes)</th><th>sha256</th></tr>\n");
        for (Report.ArtifactEntry a : list(r.artifacts())) {
            s.append("<tr><td>").append(esc(text(a.name()))).append("</td><td>").append(a.size() == null ? 0 : a.size())
                .append("</td><td><code>").append(esc(text(a.sha256()))).append("</code></td></tr>\n");
        }
        s.append("</table>\n</body></html>\n");
        return s.toString();
    }

    /** The spec's FP32-vs-quantized table (vision, NLP encoders, QAT with its PTQ baseline). */
    private static void fp32Table(StringBuilder s, Report r, String label) {
        ModelMetrics f = r.fp32() == null ? NO_MODEL : r.fp32();
        ModelMetrics q = r.quantized() == null ? NO_MODEL : r.quantized();
        Baseline b = r.baseline();
        s.append("<h2>FP32 vs ").append(esc(label)).append("</h2>\n<table><tr><th>Metric</th><th>FP32</th><th>")
            .append(esc(label)).append("</th><th>Change</th></tr>\n");
        row(s, "Model size (MB)", mb(f.sizeBytes()), mb(q.sizeBytes()), 2);
        row(s, "Latency batch 1, p50 (ms)", p50(f.latencyBatch1()), p50(q.latencyBatch1()), 3);
        row(s, "Latency batch 1, p95 (ms)", p95(f.latencyBatch1()), p95(q.latencyBatch1()), 3);
        row(s, "Latency batch " + (f.latencyBatchN() == null ? 0 : count(f.latencyBatchN().batchSize())) + ", p50 (ms)",
            p50(f.latencyBatchN()), p50(q.latencyBatchN()), 3);
        row(s, "Accuracy (top-1, %)", pct(f.accuracy()), pct(q.accuracy()), 2);
        row(s, "RAM (MB, peak)", f.peakRamMb(), q.peakRamMb(), 1);
        s.append("</table>\n<p>");
        if (r.outputs() != null && r.outputs().meanIou() != null) {
            s.append("Mean IoU of the maps (binarized at &gt; ").append(fmt(r.outputs().mapThreshold(), 2))
                .append(") to FP32: ").append(fmt(r.outputs().meanIou(), 4)).append(", min ")
                .append(fmt(r.outputs().minIou(), 4)).append(". ");
        } else if (r.outputs() != null && r.outputs().positionAgreement() != null) {
            s.append("Argmax agreement with FP32 at every position: ")
                .append(fmt(pct(r.outputs().positionAgreement()), 2)).append("%. ");
        } else if (r.outputs() != null && r.outputs().meanCosine() != null) {
            s.append("Cosine of outputs to FP32: mean ").append(fmt(r.outputs().meanCosine(), 5))
                .append(", min ").append(fmt(r.outputs().minCosine(), 5)).append(". ");
        } else {
            s.append("Top-1 agreement with FP32: ")
                .append(fmt(pct(r.comparison() == null ? null : r.comparison().top1Agreement()), 2)).append("%. ");
        }
        s.append("Latency measured in ONNX Runtime (CPU), warm-up excluded.</p>\n");
        if (b != null && b.accuracy() != null) {
            s.append("<p>Baseline <b>").append(esc(text(b.method()))).append("</b>: top-1 ")
                .append(fmt(pct(b.accuracy()), 2)).append("% (drop ").append(fmt(pct(b.accuracyDrop()), 2))
                .append(" points from FP32); ").append(esc(label)).append(" recovers ")
                .append(b.recoveredFraction() != null ? fmt(pct(b.recoveredFraction()), 1) + "%" : "n/a")
                .append(" of that drop.</p>\n");
        }
    }

    /** The CPU class the INT8 recipe was made for: its one line, and each decision's reason. */
    private static void isa(StringBuilder s, IsaSummary isa) {
        if (isa == null || isa.headline() == null) {
            return;
        }
        s.append("<p>").append(esc(isa.headline()));
        if ("host".equals(isa.source()) && isa.cpuModel() != null) {
            s.append(" (the quantizer's CPU, ").append(esc(isa.cpuModel())).append(")");
        }
        s.append("</p>\n<ul>");
        for (String reason : list(isa.reasons())) {
            s.append("<li>").append(esc(reason)).append("</li>");
        }
        s.append("</ul>\n");
    }

    /** Causal LMs: perplexity (FP32, round-to-nearest baseline, the method), decode speed, size. */
    private static void llmTables(StringBuilder s, Report r, String label) {
        ModelMetrics f = r.fp32() == null ? NO_MODEL : r.fp32();
        ModelMetrics q = r.quantized() == null ? NO_MODEL : r.quantized();
        Baseline b = r.baseline();
        String method = text(r.method()).toUpperCase();
        boolean hasBaseline = b != null && b.perplexity() != null;
        s.append("<h2>FP32 vs ").append(esc(method)).append(" ").append(esc(label)).append("</h2>\n<table><tr><th>Metric</th><th>FP32</th>");
        if (hasBaseline) {
            s.append("<th>RTN (same bits)</th>");
        }
        s.append("<th>").append(esc(method)).append("</th><th>Change vs FP32</th></tr>\n");
        llmRow(s, "Perplexity (held-out)", f.perplexity(), hasBaseline ? b.perplexity() : null, q.perplexity(), 3, hasBaseline);
        llmRow(s, "Model size (MB)", mb(f.sizeBytes()), hasBaseline ? mb(b.sizeBytes()) : null, mb(q.sizeBytes()), 2,
            hasBaseline);
        llmRow(s, "Decode, batch 1 (tokens/s)", f.decodeTokensPerSecond(), null, q.decodeTokensPerSecond(), 1, hasBaseline);
        llmRow(s, "Decode per token p50 (ms)", f.decodeP50Ms(), null, q.decodeP50Ms(), 2, hasBaseline);
        llmRow(s, "Prefill (tokens/s)", f.prefillTokensPerSecond(), null, q.prefillTokensPerSecond(), 0, hasBaseline);
        s.append("</table>\n<p>Perplexity over ").append(q.heldOutTokens() == null ? 0 : q.heldOutTokens()).append(" held-out tokens in ")
            .append(count(q.windows())).append(" non-overlapping windows of ").append(count(q.context()))
            .append(" tokens. Decode: greedy, batch 1, ").append(count(q.intraOpThreads()))
            .append(" ONNX Runtime thread(s), warm-up excluded; the model has no KV cache, so each token re-runs the prefix.");
        Comparison c = r.comparison();
        if (c != null && c.increaseVsBaseline() != null) {
            s.append(" ").append(esc(method)).append("'s perplexity increase is ")
                .append(fmt(c.increaseVsBaseline(), 2)).append("&times; round-to-nearest's.");
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

    /** What intake's model preparation changed before the job ran, and how closely the result matched the upload. */
    private static void preparation(StringBuilder s, Preparation p) {
        if (p == null) {
            return;
        }
        s.append("<h2>Model preparation</h2>\n<p>");
        if (!isTrue(p.changed())) {
            s.append("The model was used as uploaded (opset ").append(p.opsetFrom()).append("): nothing to prepare.");
        } else {
            s.append(esc(p.summary())).append(".<br>Checked in ONNX Runtime against the upload on ")
                .append(count(p.checkedInputs())).append(" inputs (").append(count(p.checkedFromData()))
                .append(" from the data): max |diff| ").append(sci(p.maxAbsDiff())).append(", tolerance ")
                .append(sci(p.tolerance())).append("; ").append(fmt(p.seconds(), 1)).append(" s.");
        }
        for (String note : list(p.notes())) {
            s.append("<br>").append(esc(note));
        }
        s.append("</p>\n");
    }

    /** Each stage run: its service, wall time and the peak memory of its process during the run. */
    private static void stages(StringBuilder s, List<Report.StageRun> runs) {
        if (runs.isEmpty()) {
            return;
        }
        s.append("<h2>Stages</h2>\n<table><tr><th>Stage</th><th>Service</th><th>Attempt</th><th>Seconds</th>")
            .append("<th>Peak RSS (MB)</th><th>Outcome</th></tr>\n");
        for (Report.StageRun r : runs) {
            s.append("<tr><td>").append(esc(text(r.stage()))).append("</td><td>").append(esc(text(r.service())))
                .append("</td><td>").append(count(r.attempt())).append("</td><td>").append(fmt(r.seconds(), 1))
                .append("</td><td>").append(r.peakRssBytes() == null ? "n/a" : fmt(mb(r.peakRssBytes()), 0))
                .append("</td><td>").append(esc(text(r.outcome()))).append("</td></tr>\n");
        }
        s.append("</table>\n");
    }

    private static String sci(Double v) {
        return v == null ? "n/a" : String.format(Locale.ROOT, "%.3g", v);
    }

    /** Hardware profiles: one column per hardware class, each cell "quantized / fp32". */
    private static void hardware(StringBuilder s, Map<String, Map<String, Report.HardwareProfile>> hw) {
        if (hw == null || hw.isEmpty()) {
            return;
        }
        List<String> classes = new ArrayList<>(hw.keySet());
        s.append("<h2>Hardware</h2>\n<p>Measured by the hardware-profiler of each class (warm-up excluded; cells: quantized / fp32).</p>\n")
            .append("<table><tr><th>Metric</th>");
        classes.forEach(c -> s.append("<th>").append(esc(c)).append("</th>"));
        s.append("</tr>\n");
        hwRow(s, hw, classes, "CPU", p -> esc(text(p.cpuModel())) + " (" + count(p.logicalCores()) + " cores)", false);
        hwRow(s, hw, classes, "Features", p -> esc(String.join(" ", list(p.cpuFeatures()))), false);
        hwRow(s, hw, classes, "INT8", p -> level(p, "int8"), false);
        hwRow(s, hw, classes, "Threads", p -> String.valueOf(count(p.intraOpThreads())), false);
        hwRow(s, hw, classes, "Latency batch 1 p50 (ms)", p -> fmt(p.latencyP50Ms(), 3), true);
        hwRow(s, hw, classes, "Latency batch 1 p95 (ms)", p -> fmt(p.latencyP95Ms(), 3), true);
        hwRow(s, hw, classes, "Latency batch 1 p99 (ms)", p -> fmt(p.latencyP99Ms(), 3), true);
        hwRow(s, hw, classes, "Throughput (samples/s)", p -> fmt(p.throughputSamplesPerSecond(), 0), true);
        hwRow(s, hw, classes, "Peak memory (MB)", p -> fmt(p.peakMemoryMb(), 1), true);
        hwRow(s, hw, classes, "Energy per inference (J)", p -> p.energyJoulesPerInference() != null
            ? String.format(Locale.ROOT, "%.4g", p.energyJoulesPerInference()) : "unavailable", true);
        s.append("</table>\n");
    }

    private static String level(Report.HardwareProfile profile, String format) {
        for (Report.FormatLevel f : list(profile.formats())) {
            if (format.equals(f.format())) {
                return esc(text(f.level()));
            }
        }
        return "n/a";
    }

    private static void hwRow(StringBuilder s, Map<String, Map<String, Report.HardwareProfile>> hw, List<String> classes,
                              String metric, Function<Report.HardwareProfile, String> cell, boolean both) {
        s.append("<tr><td>").append(esc(metric)).append("</td>");
        for (String c : classes) {
            Map<String, Report.HardwareProfile> byLabel = hw.get(c) == null ? Map.of() : hw.get(c);
            Report.HardwareProfile q = byLabel.get("quantized");
            Report.HardwareProfile f = byLabel.get("fp32");
            Report.HardwareProfile any = q == null ? f : q;
            String text = both ? (q == null ? "n/a" : cell.apply(q)) + " / " + (f == null ? "n/a" : cell.apply(f))
                : any == null ? "n/a" : cell.apply(any);
            s.append("<td>").append(text).append("</td>");
        }
        s.append("</tr>\n");
    }

    /** QAT: what the fine-tuning did (steps, learning rate, the loss curve). */
    private static void training(StringBuilder s, Report.Training t) {
        if (t == null || t.steps() == null) {
            return;
        }
        s.append("<h2>Training</h2>\n<p>W").append(count(t.weightBits())).append("A8, ")
            .append(isTrue(t.perChannelWeights()) ? "per-channel" : "per-tensor").append(" weights, ")
            .append(isTrue(t.learnedScales()) ? "learned scales (LSQ)" : "fixed scales").append("; ")
            .append(t.steps()).append(" steps of batch ").append(count(t.batchSize()))
            .append(" on ").append(count(t.trainingSamples())).append(" samples, peak learning rate ")
            .append(fmt(t.learningRate(), 5)).append(", ").append(fmt(t.seconds(), 1)).append(" s (")
            .append(fmt(t.stepsPerSecond(), 2)).append(" steps/s); loss: distillation from FP32")
            .append(isTrue(t.labelsUsed()) ? " + cross-entropy on labels" : "").append(".</p>\n");
        s.append("<table><tr><th>Step</th><th>Loss</th><th>Learning rate</th></tr>\n");
        for (QuantizationSummary.LossPoint p : list(t.lossCurve())) {
            s.append("<tr><td>").append(p.step()).append("</td><td>").append(fmt(p.loss(), 4))
                .append("</td><td>").append(String.format(Locale.ROOT, "%.2g", p.learningRate())).append("</td></tr>\n");
        }
        s.append("</table>\n");
    }

    /** LLM weight-only: per-MatMul bits and relative reconstruction error. */
    private static void llmNodes(StringBuilder s, Report r) {
        if (!r.isLlm()) {
            return;
        }
        s.append("<h2>Weights</h2>\n<p>Relative reconstruction error <i>tr(&Delta;W&#7488; H &Delta;W) / tr(W&#7488; H W)</i> of each ")
            .append("quantized MatMul weight, H from the calibration activations.</p>\n")
            .append("<table><tr><th>MatMul</th><th>K &times; N</th><th>Bits</th><th>Relative error</th></tr>\n");
        for (NodeDecision n : list(r.quantization() == null ? null : r.quantization().quantizedNodes())) {
            s.append("<tr><td>").append(esc(text(n.node()))).append("</td><td>").append(count(n.k()))
                .append(" &times; ").append(count(n.n())).append("</td><td>").append(count(n.bits()))
                .append("</td><td>").append(n.relativeError() != null
                    ? String.format(Locale.ROOT, "%.3g", n.relativeError()) : "n/a").append("</td></tr>\n");
        }
        s.append("</table>\n");
    }

    /** Per-layer SQNR: a table and a horizontal bar chart (inline SVG, no scripts). */
    private static void layers(StringBuilder s, List<LayerMetrics> layers) {
        List<LayerMetrics> rows = layers.stream().filter(l -> l.sqnrDb() != null).toList();
        if (rows.isEmpty()) {
            return;
        }
        s.append("<h2>Per-layer SQNR</h2>\n<p>Signal-to-quantization-noise ratio of each layer's output against fp32 ")
            .append("(higher is better; ~6 dB per bit). <i>Layer SQNR</i> estimates the noise the layer adds itself.</p>\n");
        int width = 520;
        int barH = 16;
        double max = rows.stream().mapToDouble(l -> Math.min(l.sqnrDb(), 80)).max().orElse(1);
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width + 260).append("\" height=\"")
            .append(rows.size() * (barH + 4) + 4).append("\" role=\"img\" aria-label=\"per-layer SQNR\">\n");
        for (int i = 0; i < rows.size(); i++) {
            LayerMetrics l = rows.get(i);
            double v = Math.max(0, Math.min(l.sqnrDb(), 80));
            int y = i * (barH + 4) + 2;
            int w = (int) Math.round(v / max * width);
            String color = v < 20 ? "#c62828" : v < 30 ? "#f9a825" : "#2e7d32";
            s.append("<text x=\"0\" y=\"").append(y + 12).append("\" font-size=\"11\">").append(esc(text(l.node())))
                .append("</text><rect x=\"200\" y=\"").append(y).append("\" width=\"").append(w).append("\" height=\"")
                .append(barH).append("\" fill=\"").append(color).append("\"/><text x=\"").append(205 + w).append("\" y=\"")
                .append(y + 12).append("\" font-size=\"11\">").append(fmt(l.sqnrDb(), 1)).append(" dB</text>\n");
        }
        s.append("</svg>\n<table><tr><th>Node</th><th>Op</th><th>INT8</th><th>SQNR (dB)</th><th>Layer SQNR (dB)</th></tr>\n");
        for (LayerMetrics l : rows) {
            s.append("<tr><td>").append(esc(text(l.node()))).append("</td><td>").append(esc(text(l.opType())))
                .append("</td><td>").append(isTrue(l.quantized()) ? "yes" : "fp32").append("</td><td>")
                .append(fmt(l.sqnrDb(), 1)).append("</td><td>").append(fmt(l.layerSqnrDb(), 1))
                .append("</td></tr>\n");
        }
        s.append("</table>\n");
    }

    private static <T> List<T> list(List<T> values) {
        return values == null ? List.of() : values;
    }

    private static String text(String s) {
        return s == null ? "" : s;
    }

    private static int count(Integer n) {
        return n == null ? 0 : n;
    }

    private static boolean isTrue(Boolean b) {
        return Boolean.TRUE.equals(b);
    }

    private static Double p50(ModelMetrics.Latency l) {
        return l == null ? null : l.p50Ms();
    }

    private static Double p95(ModelMetrics.Latency l) {
        return l == null ? null : l.p95Ms();
    }

    private static void row(StringBuilder s, String metric, Double a, Double b, int digits) {
        String change = a == null || b == null || a == 0 ? "n/a" : String.format(Locale.ROOT, "%+.1f%%", (b - a) / a * 100);
        s.append("<tr><td>").append(esc(metric)).append("</td><td>").append(fmt(a, digits)).append("</td><td>")
            .append(fmt(b, digits)).append("</td><td>").append(change).append("</td></tr>\n");
    }

    private static Double mb(Long bytes) {
        return bytes == null ? null : bytes.doubleValue() / (1024 * 1024);
    }

    private static Double pct(Double fraction) {
        return fraction == null ? null : fraction * 100;
    }

    private static String fmt(Double v, int digits) {
        return v == null ? "n/a" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
