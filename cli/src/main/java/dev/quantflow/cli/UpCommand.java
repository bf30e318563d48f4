package dev.quantflow.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

import dev.quantflow.cli.local.ApiToken;
import dev.quantflow.cli.local.ClusterState;
import dev.quantflow.cli.local.LocalCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "up", mixinStandardHelpOptions = true,
    description = {"Start Kafka, S3 (S3Proxy), topics, bucket and every service as local processes; print the endpoints.",
        "The processes keep running after the command returns; stop them with 'quantflow down'."})
final class UpCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    RunDirOption runDir;

    @Option(names = "--infra-only", description = "Start Kafka, S3, topics and bucket only, no service.")
    boolean infraOnly;

    @Option(names = "--free-ports", description = "Use another free port where a default one is taken.")
    boolean freePorts;

    @Option(names = "--clean", description = "Delete Kafka and S3 data of earlier runs first.")
    boolean clean;

    @Option(names = "--kafka-port", paramLabel = "PORT", description = "Kafka port (default 9092; controller 9093).")
    int kafkaPort;

    @Option(names = "--s3-port", paramLabel = "PORT", description = "S3 port (default 9000).")
    int s3Port;

    @Option(names = "--startup-timeout", paramLabel = "SECONDS", defaultValue = "180",
        description = "How long the services may take to report ready (default ${DEFAULT-VALUE}).")
    int startupTimeout;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path dir = runDir.resolve();
        ClusterState state = start(dir, infraOnly, freePorts, clean, kafkaPort, s3Port, startupTimeout, err);
        printEndpoints(out, state, dir);
        return ExitCodes.OK;
    }

    /** Starts a cluster unless one is fully running from {@code dir}; returns its state either way. */
    static ClusterState start(Path dir, boolean infraOnly, boolean freePorts, boolean clean, int kafkaPort, int s3Port,
                              int startupTimeoutSeconds, PrintWriter err) {
        var previous = ClusterState.read(dir);
        if (previous.isPresent()) {
            List<ClusterState.Entry> processes = previous.get().processes();
            List<String> dead = processes.stream().filter(e -> !e.alive()).map(ClusterState.Entry::name).toList();
            if (dead.isEmpty() && !processes.isEmpty()) {
                err.println("quantflow is already running (" + ClusterState.file(dir) + ")");
                err.flush();
                return previous.get();
            }
            if (dead.size() < processes.size()) {
                err.println("a previous run is partly down (" + String.join(", ", dead) + " not running); restarting it");
            }
            LocalCluster.stopRecorded(dir, err::println);
        }
        LocalCluster.Builder builder = LocalCluster.builder()
            .runDir(dir)
            .portPolicy(freePorts ? LocalCluster.PortPolicy.PREFER_DEFAULT : LocalCluster.PortPolicy.FIXED)
            .kafkaPort(kafkaPort)
            .s3Port(s3Port)
            .cleanData(clean)
            .startupTimeout(Duration.ofSeconds(startupTimeoutSeconds))
            .progress(line -> {
                err.println("  " + line);
                err.flush();
            });
        if (infraOnly) {
            builder.infraOnly();
        }
        LocalCluster cluster = builder.build();
        err.println("starting quantflow in " + dir + (infraOnly ? " (infrastructure only)" : "") + " …");
        err.flush();
        return cluster.start();
    }

    static void printEndpoints(PrintWriter out, ClusterState state, Path dir) {
        StringBuilder text = new StringBuilder();
        text.append("quantflow is up (run dir ").append(dir).append(")\n\n");
        List<String[]> rows = new java.util.ArrayList<>();
        rows.add(new String[] {"Component", "Endpoint", "PID", "Log"});
        for (ClusterState.Entry e : state.processes()) {
            rows.add(new String[] {e.name(), e.url() == null ? "" : e.url(), String.valueOf(e.pid()),
                e.log() == null ? "" : relativize(dir, e.log())});
        }
        ReportFormatter.appendTable(text, rows);
        text.append('\n')
            .append("Kafka bootstrap  ").append(state.kafkaBootstrapServers()).append('\n')
            .append("S3 store         ").append(state.s3Endpoint()).append("  bucket ").append(state.s3Bucket())
            .append("  access key ").append(state.s3AccessKey()).append(" / secret ").append(LocalCluster.SECRET_KEY).append('\n');
        if (state.intakeUrl() != null) {
            text.append("Intake API       ").append(state.intakeUrl()).append("/api/jobs").append('\n');
            text.append("API token        ").append(relativize(dir, ApiToken.file(dir).toString()))
                .append("  (tenant ").append(ApiToken.TENANT).append("; the CLI reads it; for curl: -H \"Authorization: Bearer $(cat ")
                .append(ApiToken.file(dir)).append(")\")").append('\n');
        }
        text.append("Stop with        quantflow down").append('\n');
        out.print(text);
        out.flush();
    }

    private static String relativize(Path dir, String log) {
        Path path = Path.of(log);
        return path.startsWith(dir) ? dir.getFileName() + "/" + dir.relativize(path) : log;
    }
}
