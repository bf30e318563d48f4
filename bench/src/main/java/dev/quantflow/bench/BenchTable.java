package dev.quantflow.bench;

import java.util.List;
import java.util.Locale;

/**
 * The table {@code ./quantflow bench} prints and writes into docs/benchmarks.md, and the rewriting of a marked region
 * of that file: everything between {@code <!-- bench:ID -->} and {@code <!-- /bench:ID -->} is replaced, the rest of
 * the document is left byte for byte as it was.
 */
final class BenchTable {

    private BenchTable() {
    }

    /** Whether a row reached its target in this run. */
    enum Status {
        MET("met"), NOT_MET("**not met**"), PARTLY("partly met"), NOT_RUN("not run"), SKIPPED("skipped");

        final String label;

        Status(String label) {
            this.label = label;
        }

        /** {@link #MET} when every condition holds, {@link #NOT_MET} when none does, {@link #PARTLY} otherwise. */
        static Status of(boolean... conditions) {
            int met = 0;
            for (boolean c : conditions) {
                met += c ? 1 : 0;
            }
            return met == conditions.length ? MET : met == 0 ? NOT_MET : PARTLY;
        }
    }

    /**
     * One row of the outcome table.
     *
     * @param row          what is measured (model, batch, threads)
     * @param peer         what it is compared with
     * @param ours         our figure with its unit
     * @param theirs       the peer's figure, measured in the same run
     * @param ratio        ours against theirs, stated the way the target is
     * @param oursAccuracy our accuracy figure
     * @param peerAccuracy the peer's
     * @param target       the target
     * @param status       met or not; not run / skipped with the reason in {@code note}
     * @param note         how it was measured, or why it was not
     */
    record Row(String row, String peer, String ours, String theirs, String ratio, String oursAccuracy,
               String peerAccuracy, String target, Status status, String note) {

        static Row skipped(String row, String peer, String target, Status status, String why) {
            return new Row(row, peer, "—", "—", "—", "—", "—", target, status, why);
        }
    }

    /** The markdown table, one line per row, cells with '|' escaped. */
    static String render(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| row | peer | ours | peer's | ratio | accuracy (ours) | accuracy (peer) | target | met? | how / why not |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            b.append("| ").append(String.join(" | ", cell(r.row()), cell(r.peer()), cell(r.ours()), cell(r.theirs()),
                cell(r.ratio()), cell(r.oursAccuracy()), cell(r.peerAccuracy()), cell(r.target()), r.status().label,
                cell(r.note()))).append(" |\n");
        }
        return b.toString();
    }

    private static String cell(String s) {
        return s == null || s.isBlank() ? "—" : s.replace("\n", " ").replace("|", "\\|");
    }

    static String begin(String id) {
        return "<!-- bench:" + id + " -->";
    }

    static String end(String id) {
        return "<!-- /bench:" + id + " -->";
    }

    /**
     * {@code doc} with the text between the markers of {@code id} replaced by {@code body} (which gets a trailing
     * newline if it has none); the markers stay.
     *
     * @throws IllegalArgumentException when the markers are missing, doubled or in the wrong order
     */
    static String rewrite(String doc, String id, String body) {
        String b = begin(id);
        String e = end(id);
        int i = doc.indexOf(b);
        int j = doc.indexOf(e);
        if (i < 0 || j < 0) {
            throw new IllegalArgumentException("docs have no " + (i < 0 ? b : e) + " marker");
        }
        if (doc.indexOf(b, i + 1) >= 0 || doc.indexOf(e, j + 1) >= 0) {
            throw new IllegalArgumentException("the markers of '" + id + "' appear more than once");
        }
        if (j < i) {
            throw new IllegalArgumentException(e + " comes before " + b);
        }
        String content = body.endsWith("\n") ? body : body + "\n";
        return doc.substring(0, i + b.length()) + "\n" + content + doc.substring(j);
    }

    /** Whether {@code doc} has both markers of {@code id}. */
    static boolean hasMarkers(String doc, String id) {
        return doc.contains(begin(id)) && doc.contains(end(id));
    }

    static String ms(double v) {
        return String.format(Locale.ROOT, v >= 100 ? "%.1f ms" : v >= 1 ? "%.2f ms" : "%.3f ms", v);
    }

    static String x(double v) {
        return String.format(Locale.ROOT, "%.2f×", v);
    }

    static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f%%", v);
    }
}
