package dev.quantflow.cli;

import java.io.IOException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;

import dev.quantflow.contracts.Baseline;
import dev.quantflow.contracts.IsaSummary;
import dev.quantflow.contracts.ModelMetrics;
import dev.quantflow.contracts.OutputSimilarity;
import dev.quantflow.contracts.Preparation;
import dev.quantflow.contracts.Report;
import dev.quantflow.contracts.Target;
import dev.quantflow.pipeline.QuantMethod;

/**
 * Renders the intake's JSON (report, job status, status events) as terminal text; the report is read through the
 * {@link Report} record of {@code libs/contracts}, job status and events as trees. The report table has the layout
 * of the product spec's performance comparison: Metric | FP32 | INT8 | Change. Absent values print as {@code n/a}.
 */
public final class ReportFormatter {

    static final String NA = "n/a";
    private static final ModelMetrics NO_MODEL = new ModelMetrics(null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null);
    private static final Target NO_TARGET = new Target(null, null, null, null, null, null, null, null);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private ReportFormatter() {
    }

    /** The report as a summary block plus the comparison table, attempts and artifacts. */
    public static String report(JsonNode report) {
        return report(read(report));
    }

    /** Intake's report.json as the contract record (keys this CLI does not know are ignored). */
    static Report read(JsonNode report) {
        try {
            return Json.MAPPER.treeToValue(report, Report.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new CliException("intake answered a report this CLI cannot read: " + e.getMessage());
        }
    }

    /** The report as a summary block plus the comparison table, attempts and artifacts. */
    public static String report(Report report) {
        StringBuilder out = new StringBuilder();
        String method = report.method();
        ModelMetrics fp32 = report.fp32() == null ? NO_MODEL : report.fp32();
        ModelMetrics quantized = report.quantized() == null ? NO_MODEL : report.quantized();
        List<Report.Attempt> attempts = report.attempts();
        Target target = report.target() == null ? NO_TARGET : report.target();
        Double maxDrop = target.maxRelativeDrop();

        List<String[]> summary = new ArrayList<>();
        summary.add(new String[] {"Job", orNa(report.jobId()) + (report.name() != null ? "  (" + report.name() + ")" : "")});
        summary.add(new String[] {"State", orNa(report.state())});
        summary.add(new String[] {"Method", orNa(method)});
        Preparation preparation = report.preparation();
        if (preparation != null) {
            summary.add(new String[] {"Prepared", preparation.summary() + (preparation.maxAbsDiff() == null ? ""
                : String.format(Locale.ROOT, "  (max |diff| %.3g on %s inputs)", preparation.maxAbsDiff(),
                    preparation.checkedInputs() == null ? NA : preparation.checkedInputs().toString()))});
        }
        summary.add(new String[] {"Attempts", attempts != null ? String.valueOf(attempts.size()) : NA});
        Boolean meets = report.meetsTarget();
        String targetMetric = target.metric();
        String targetText;
        if ("mean-cosine".equals(targetMetric) || "mse".equals(targetMetric)) {
            Double threshold = target.threshold();
            targetText = "  (" + ("mse".equals(targetMetric) ? "output MSE <= " : "mean cosine to FP32 >= ")
                + (threshold == null ? NA : threshold.toString()) + ")";
        } else if ("mean-iou".equals(targetMetric) || "position-agreement".equals(targetMetric)) {
            Double threshold = target.threshold();
            Double value = target.value();
            targetText = "  (" + ("mean-iou".equals(targetMetric) ? "mean IoU to FP32 " : "agreement per position ")
                + (value == null ? NA : String.format(java.util.Locale.ROOT, "%.4f", value)) + ", needs >= "
                + (threshold == null ? NA : String.format(java.util.Locale.ROOT, "%.4f", threshold)) + ")";
        } else {
            targetText = maxDrop != null ? "  (max relative accuracy drop " + percent(maxDrop, 1) + ")" : "";
        }
        summary.add(new String[] {"Meets target", (meets == null ? NA : meets ? "yes" : "no") + targetText});
        if (target.metricReason() != null && !target.metricReason().isEmpty()) {
            summary.add(new String[] {"Judged on", target.metricReason()});
        }
        appendAligned(out, summary);
        out.append('\n');

        Integer batchSize = fp32.latencyBatchN() != null && fp32.latencyBatchN().batchSize() != null
            ? fp32.latencyBatchN().batchSize()
            : quantized.latencyBatchN() != null ? quantized.latencyBatchN().batchSize() : null;
        String batchN = batchSize == null ? "N" : batchSize.toString();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"Metric", "FP32", report.precision() != null ? report.precision() : precisionLabel(method),
            "Change"});
        Double sizeA = mb(fp32.sizeBytes());
        Double sizeB = mb(quantized.sizeBytes());
        rows.add(new String[] {"Model size (MB)", fixed(sizeA, 2), fixed(sizeB, 2), ratioChange(sizeA, sizeB, "smaller")});
        Baseline baseline = report.baseline();
        if (report.isLlm()) {
            // causal LMs: perplexity (and the round-to-nearest baseline), decode speed
            Double pplA = fp32.perplexity();
            Double pplB = quantized.perplexity();
            rows.add(new String[] {"Perplexity (held-out)", fixed(pplA, 3), fixed(pplB, 3), percentChange(pplA, pplB)});
            Double rtn = baseline == null ? null : baseline.perplexity();
            if (rtn != null) {
                rows.add(new String[] {"  RTN, same bits", fixed(pplA, 3), fixed(rtn, 3), percentChange(pplA, rtn)});
            }
            Double tpsA = fp32.decodeTokensPerSecond();
            Double tpsB = quantized.decodeTokensPerSecond();
            rows.add(new String[] {"Decode batch-1 (tokens/s)", fixed(tpsA, 1), fixed(tpsB, 1), percentChange(tpsA, tpsB)});
        } else {
            Double lat1A = fp32.latencyBatch1P50Ms();
            Double lat1B = quantized.latencyBatch1P50Ms();
            rows.add(new String[] {"Latency batch-1 p50 (ms)", fixed(lat1A, 2), fixed(lat1B, 2), ratioChange(lat1A, lat1B, "faster")});
            Double latNA = fp32.latencyBatchN() == null ? null : fp32.latencyBatchN().p50Ms();
            Double latNB = quantized.latencyBatchN() == null ? null : quantized.latencyBatchN().p50Ms();
            rows.add(new String[] {"Latency batch-" + batchN + " p50 (ms)", fixed(latNA, 2), fixed(latNB, 2),
                ratioChange(latNA, latNB, "faster")});
            Double accA = fp32.accuracy();
            Double accB = quantized.accuracy();
            rows.add(new String[] {"Accuracy (top-1)", accuracy(accA), accuracy(accB), accuracyChange(accA, accB)});
            Double baseAcc = baseline == null ? null : baseline.accuracy();
            if (baseAcc != null) {
                // QAT: the same quantization without training (PTQ), to show what training recovered
                rows.add(new String[] {"  PTQ, no training", accuracy(accA), accuracy(baseAcc), accuracyChange(accA, baseAcc)});
            }
            Double ramA = fp32.peakRamMb();
            Double ramB = quantized.peakRamMb();
            rows.add(new String[] {"RAM (MB)", fixed(ramA, 1), fixed(ramB, 1), ratioChange(ramA, ramB, "less")});
        }
        appendTable(out, rows);

        Double agreement = report.comparison() == null ? null : report.comparison().top1Agreement();
        OutputSimilarity outputs = report.outputs();
        if (outputs != null && outputs.meanCosine() != null) {
            out.append('\n').append("Cosine to FP32: mean ").append(String.format(Locale.ROOT, "%.5f", outputs.meanCosine()))
                .append(", min ").append(fixed(outputs.minCosine(), 5)).append('\n');
        } else if (agreement != null) {
            out.append('\n').append("Top-1 agreement with FP32: ").append(percent(agreement, 2)).append('\n');
        }

        IsaSummary isa = report.quantization() == null ? null : report.quantization().isa();
        if (isa != null && isa.headline() != null) {
            out.append('\n').append(isa.headline()).append('\n');
        }

        if (attempts != null && !attempts.isEmpty()) {
            out.append('\n');
            List<String[]> attemptRows = new ArrayList<>();
            attemptRows.add(new String[] {"Attempt", "Method", "Precision", "Passed", "Verdict"});
            for (Report.Attempt attempt : attempts) {
                attemptRows.add(new String[] {attempt.attempt() == null ? NA : attempt.attempt().toString(),
                    orNa(attempt.method()), orNa(attempt.precision()),
                    attempt.passed() == null ? NA : attempt.passed() ? "yes" : "no", orNa(attempt.verdict())});
            }
            appendTable(out, attemptRows);
        }

        List<Report.StageRun> stages = report.stages();
        if (stages != null && !stages.isEmpty()) {
            out.append('\n');
            List<String[]> stageRows = new ArrayList<>();
            stageRows.add(new String[] {"Stage", "Service", "Attempt", "Seconds", "Peak RSS (MB)", "Outcome"});
            for (Report.StageRun run : stages) {
                stageRows.add(new String[] {orNa(run.stage()), orNa(run.service()),
                    run.attempt() == null ? NA : run.attempt().toString(), fixed(run.seconds(), 1),
                    fixed(mb(run.peakRssBytes()), 0), orNa(run.outcome())});
            }
            appendTable(out, stageRows);
        }

        List<Report.ArtifactEntry> artifacts = report.artifacts();
        if (artifacts != null && !artifacts.isEmpty()) {
            out.append('\n');
            List<String[]> artifactRows = new ArrayList<>();
            artifactRows.add(new String[] {"Artifact", "Size (MB)", "sha256"});
            for (Report.ArtifactEntry artifact : artifacts) {
                String sha = artifact.sha256();
                artifactRows.add(new String[] {orNa(artifact.name()), fixed(mb(artifact.size()), 2),
                    sha == null ? NA : sha.length() > 16 ? sha.substring(0, 16) + "…" : sha});
            }
            appendTable(out, artifactRows);
        }
        return out.toString();
    }

    /** A job's status: a summary block and its history. */
    public static String job(JsonNode job) {
        StringBuilder out = new StringBuilder();
        List<String[]> summary = new ArrayList<>();
        summary.add(new String[] {"Job", orNa(Json.text(job, "jobId"))
            + (Json.text(job, "name") != null ? "  (" + Json.text(job, "name") + ")" : "")});
        summary.add(new String[] {"State", orNa(Json.text(job, "state"))});
        summary.add(new String[] {"Stage", orNa(Json.text(job, "stage"))});
        summary.add(new String[] {"Method", orNa(Json.text(job, "method"))});
        summary.add(new String[] {"Attempt", orNa(Json.text(job, "attempt"))});
        summary.add(new String[] {"Message", orNa(Json.text(job, "message"))});
        summary.add(new String[] {"Created", orNa(Json.text(job, "createdAt"))});
        summary.add(new String[] {"Updated", orNa(Json.text(job, "updatedAt"))});
        String trace = Json.text(job, "traceId");
        if (trace != null && !trace.isBlank()) { // look it up in Jaeger/Tempo when tracing is exported
            summary.add(new String[] {"Trace", trace});
        }
        appendAligned(out, summary);
        JsonNode history = job.path("history");
        if (history.isArray() && !history.isEmpty()) {
            out.append('\n');
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"Time", "Stage", "State", "Attempt", "Progress", "Message"});
            for (JsonNode entry : history) {
                rows.add(eventColumns(entry));
            }
            appendTable(out, rows);
        }
        return out.toString();
    }

    /** One line for a live status event: time, stage, state, attempt, progress, message. */
    public static String eventLine(JsonNode event) {
        String[] c = eventColumns(event);
        return String.format(Locale.ROOT, "%-8s  %-16s  %-8s  attempt %-3s %6s  %s", c[0], c[1], c[2], c[3],
            NA.equals(c[4]) ? "" : c[4], NA.equals(c[5]) ? "" : c[5]).stripTrailing();
    }

    private static String[] eventColumns(JsonNode e) {
        Double progress = Json.number(e, "progress");
        return new String[] {clock(Json.text(e, "at")), orNa(Json.text(e, "stage")), orNa(Json.text(e, "state")),
            orNa(Json.text(e, "attempt")), progress == null ? NA : progressText(progress), orNa(Json.text(e, "message"))};
    }

    /** Progress may come as a fraction (0..1) or a percentage (0..100). */
    private static String progressText(double progress) {
        double pct = progress <= 1.0 ? progress * 100 : progress;
        return String.format(Locale.ROOT, "%.0f%%", pct);
    }

    static String clock(String isoInstant) {
        if (isoInstant == null) {
            return LocalDateTime.now().format(CLOCK);
        }
        try {
            return Instant.parse(isoInstant).atZone(ZoneId.systemDefault()).format(CLOCK);
        } catch (DateTimeParseException notAnInstant) {
            try {
                return LocalDateTime.parse(isoInstant).format(CLOCK);
            } catch (DateTimeParseException notALocalTime) {
                return isoInstant;
            }
        }
    }

    /** Column header for the quantized model when the report has no precision: the method's at its default bits. */
    static String precisionLabel(String method) {
        return QuantMethod.of(method).map(m -> m.precisionLabel(m.defaultBits())).orElse("INT8");
    }

    private static String orNa(String s) {
        return s == null || s.isBlank() ? NA : s;
    }

    private static Double mb(Long bytes) {
        return bytes == null ? null : bytes / (1024.0 * 1024.0);
    }

    private static String fixed(Double value, int decimals) {
        return value == null ? NA : String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    /** Accuracy as a percentage; the API gives a fraction in [0, 1]. */
    private static String accuracy(Double value) {
        return value == null ? NA : percent(value, 2);
    }

    private static String percent(double fraction, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f%%", fraction * 100);
    }

    /** Relative change and how many times smaller/faster, e.g. {@code -74.8% (3.97x smaller)}. */
    private static String ratioChange(Double before, Double after, String better) {
        if (before == null || after == null || before == 0) {
            return NA;
        }
        double change = (after - before) / before * 100;
        String text = String.format(Locale.ROOT, "%+.1f%%", change);
        if (after > 0 && after < before) {
            text += String.format(Locale.ROOT, " (%.2fx %s)", before / after, better);
        }
        return text;
    }

    /** Absolute change in percentage points and relative change, e.g. {@code -0.40 pp (-0.44% rel.)}. */
    private static String percentChange(Double before, Double after) {
        if (before == null || after == null || before == 0) {
            return NA;
        }
        return String.format(java.util.Locale.ROOT, "%+.2f%%", (after - before) / before * 100);
    }

    private static String accuracyChange(Double before, Double after) {
        if (before == null || after == null) {
            return NA;
        }
        String text = String.format(Locale.ROOT, "%+.2f pp", (after - before) * 100);
        if (before != 0) {
            text += String.format(Locale.ROOT, " (%+.2f%% rel.)", (after - before) / before * 100);
        }
        return text;
    }

    private static void appendAligned(StringBuilder out, List<String[]> pairs) {
        int width = pairs.stream().mapToInt(p -> p[0].length()).max().orElse(0);
        for (String[] pair : pairs) {
            out.append(String.format(Locale.ROOT, "%-" + width + "s  %s%n", pair[0], pair[1]));
        }
    }

    /** A plain text table: first row is the header, numeric-looking columns after the first are right-aligned. */
    static void appendTable(StringBuilder out, List<String[]> rows) {
        int columns = rows.getFirst().length;
        int[] width = new int[columns];
        for (String[] row : rows) {
            for (int c = 0; c < columns; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        for (int r = 0; r < rows.size(); r++) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                String cell = rows.get(r)[c];
                boolean last = c == columns - 1;
                if (c > 0) {
                    line.append(" | ");
                }
                if (c > 0 && r > 0 && !last && looksNumeric(cell)) {
                    line.append(" ".repeat(width[c] - cell.length())).append(cell);
                } else {
                    line.append(cell).append(last ? "" : " ".repeat(width[c] - cell.length()));
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
            if (r == 0) {
                StringBuilder rule = new StringBuilder();
                for (int c = 0; c < columns; c++) {
                    if (c > 0) {
                        rule.append("-+-");
                    }
                    rule.append("-".repeat(width[c]));
                }
                out.append(rule).append('\n');
            }
        }
    }

    private static boolean looksNumeric(String cell) {
        return cell.equals(NA) || cell.matches("[-+]?[0-9.,]+%?");
    }
}
