package dev.quantflow.cli.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * What {@code <rundir>/state.json} records about a local cluster: endpoints for clients, and every process with its
 * pid so that {@code quantflow down} (or a later {@code up}) can stop what an earlier run left behind.
 */
public record ClusterState(
    int version,
    String runDir,
    String repoRoot,
    String startedAt,
    String kafkaBootstrapServers,
    String s3Endpoint,
    String s3AccessKey,
    String s3Bucket,
    String intakeUrl,
    List<Entry> processes) {

    public static final String FILE_NAME = "state.json";
    static final int CURRENT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** One started process. {@code role} is {@code kafka}, {@code s3} or {@code service}. */
    public record Entry(String name, String role, long pid, String startedAt, Integer port, String url, String log) {

        /** True while the recorded pid is still the process that was started. */
        public boolean alive() {
            return process().alive();
        }

        ChildProcess process() {
            return new ChildProcess(name, pid, startedAt == null ? null : Instant.parse(startedAt),
                log == null ? null : Path.of(log));
        }
    }

    public List<Entry> services() {
        return processes.stream().filter(e -> "service".equals(e.role())).toList();
    }

    public Optional<Entry> process(String name) {
        return processes.stream().filter(e -> e.name().equals(name)).findFirst();
    }

    /** True while any recorded process is still the live process that was started. */
    public boolean anyAlive() {
        return processes.stream().anyMatch(e -> e.process().alive());
    }

    public static Path file(Path runDir) {
        return runDir.resolve(FILE_NAME);
    }

    /** The state recorded in {@code runDir}, if any; an unreadable file counts as none. */
    public static Optional<ClusterState> read(Path runDir) {
        Path file = file(runDir);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(file.toFile(), ClusterState.class));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Writes atomically (temp file + rename) so a reader never sees half a file. */
    void write(Path runDir) {
        try {
            Files.createDirectories(runDir);
            Path tmp = runDir.resolve(FILE_NAME + ".tmp");
            JSON.writeValue(tmp.toFile(), this);
            Files.move(tmp, file(runDir), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new LocalClusterException("cannot write " + file(runDir) + ": " + e.getMessage(), e);
        }
    }

    String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
