package dev.quantflow.testsupport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The metric names that {@code deploy/grafana/quantflow-dashboard.json} queries, and those a Prometheus scrape
 * ({@code /q/metrics}) exposes, so a test can check that every panel has data to show.
 */
public final class GrafanaDashboard {

    public static final String FILE = "deploy/grafana/quantflow-dashboard.json";

    private static final Pattern QUOTED = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
    private static final Pattern RANGES = Pattern.compile("\\[[^]]*]");
    private static final Pattern GROUPINGS = Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
        "bool", "and", "or", "unless", "offset", "inf", "nan");
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]");

    private GrafanaDashboard() {
    }

    /** The dashboard file, found from the working directory (a module folder) upwards. */
    public static Path locate() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path f = dir.resolve(FILE);
            if (Files.isRegularFile(f)) {
                return f;
            }
        }
        throw new IllegalStateException(FILE + " not found above " + Path.of("").toAbsolutePath());
    }

    /** Every PromQL expression of every panel target. */
    public static Set<String> expressions(Path dashboard) throws IOException {
        JsonNode root = new ObjectMapper().readTree(dashboard.toFile());
        Set<String> out = new TreeSet<>();
        for (JsonNode panel : root.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText("");
                if (!expr.isBlank()) {
                    out.add(expr);
                }
            }
        }
        return out;
    }

    /**
     * The metric names a PromQL expression reads: label values, matchers, ranges and groupings removed, then every
     * identifier that is not a function call, a keyword or a Grafana variable.
     */
    public static Set<String> metricNames(String expr) {
        String s = QUOTED.matcher(expr).replaceAll("\"\"");
        s = MATCHERS.matcher(s).replaceAll(" ");
        s = RANGES.matcher(s).replaceAll(" ");
        s = GROUPINGS.matcher(s).replaceAll(" ");
        Set<String> names = new TreeSet<>();
        Matcher m = IDENTIFIER.matcher(s);
        while (m.find()) {
            String id = m.group();
            boolean variable = m.start() > 0 && s.charAt(m.start() - 1) == '$';
            boolean call = s.substring(m.end()).stripLeading().startsWith("(");
            if (!variable && !call && !KEYWORDS.contains(id.toLowerCase(java.util.Locale.ROOT))) {
                names.add(id);
            }
        }
        return names;
    }

    public static Set<String> metricNames(Path dashboard) throws IOException {
        Set<String> out = new TreeSet<>();
        for (String e : expressions(dashboard)) {
            out.addAll(metricNames(e));
        }
        return out;
    }

    /** The names of the samples in a Prometheus text exposition ({@code _total}, {@code _bucket}, … as written). */
    public static Set<String> scrapedNames(String exposition) {
        Set<String> out = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!line.startsWith("#") && m.find()) {
                out.add(m.group(1));
            }
        }
        return out;
    }
}
