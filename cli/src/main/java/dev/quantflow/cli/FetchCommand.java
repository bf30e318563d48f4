package dev.quantflow.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "fetch", mixinStandardHelpOptions = true,
    description = "Download every artifact of a job into a directory and verify each sha256.")
final class FetchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    JobTarget target;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Directory to write into (created if needed).")
    Path directory;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        IntakeClient client = target.client();
        List<JsonNode> artifacts = client.artifacts(target.jobId);
        if (artifacts.isEmpty()) {
            throw new CliException("job " + target.jobId + " has no artifacts yet");
        }
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new CliException("cannot create " + directory + ": " + e.getMessage());
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"File", "Bytes", "sha256"});
        Set<String> used = new HashSet<>();
        for (JsonNode artifact : artifacts) {
            String fileName = fileName(artifact);
            if (!used.add(fileName)) {
                throw new CliException("two artifacts would both be written to " + fileName);
            }
            String url = Json.text(artifact, "url");
            if (url == null) {
                throw new CliException("artifact " + fileName + " has no download url");
            }
            Path target = directory.resolve(fileName);
            IntakeClient.Download download = client.download(url, target);
            String expected = Json.text(artifact, "sha256");
            if (expected != null && !expected.toLowerCase(Locale.ROOT).equals(download.sha256())) {
                deleteQuietly(target);
                throw new CliException("sha256 mismatch for " + fileName + ": expected " + expected + ", got "
                    + download.sha256() + " (file removed)");
            }
            Double size = Json.number(artifact, "size");
            if (size != null && size.longValue() != download.size()) {
                deleteQuietly(target);
                throw new CliException("size mismatch for " + fileName + ": expected " + size.longValue() + " bytes, got "
                    + download.size() + " (file removed)");
            }
            rows.add(new String[] {target.toString(), String.valueOf(download.size()),
                expected == null ? "not given by the server" : "ok " + download.sha256().substring(0, 16) + "…"});
        }
        StringBuilder text = new StringBuilder();
        ReportFormatter.appendTable(text, rows);
        out.print(text);
        out.println(artifacts.size() + " artifact(s) in " + directory);
        out.flush();
        return ExitCodes.OK;
    }

    /** The artifact's name, reduced to a plain file name so that no server value can write outside the directory. */
    static String fileName(JsonNode artifact) {
        String name = Json.text(artifact, "name");
        if (name == null || name.isBlank()) {
            name = Json.text(artifact, "key");
        }
        if (name == null || name.isBlank()) {
            throw new CliException("an artifact has neither name nor key");
        }
        String last = name.replace('\\', '/');
        last = last.substring(last.lastIndexOf('/') + 1);
        if (last.isBlank() || last.equals(".") || last.equals("..")) {
            throw new CliException("artifact name '" + name + "' is not a usable file name");
        }
        return last;
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // the error message already says the file is bad
        }
    }
}
