package dev.quantflow.cli;

import java.nio.file.Path;

import dev.quantflow.cli.local.ClusterState;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Where the intake service is: {@code --url}, else env {@code QUANTFLOW_URL}, else the intake recorded in the local
 * cluster's state.json, else {@code http://127.0.0.1:8080}.
 */
final class IntakeOptions {

    static final String DEFAULT_URL = "http://127.0.0.1:8080";

    @Option(names = "--url", paramLabel = "URL", description = "Intake URL (default: $QUANTFLOW_URL, the local cluster's, or "
        + DEFAULT_URL + ").")
    String url;

    @Mixin
    RunDirOption runDir;

    String resolveUrl() {
        if (url != null && !url.isBlank()) {
            return url;
        }
        String env = System.getenv("QUANTFLOW_URL");
        if (env != null && !env.isBlank()) {
            return env;
        }
        Path dir = runDir.resolveOrNull();
        if (dir != null) {
            String recorded = ClusterState.read(dir).map(ClusterState::intakeUrl).orElse(null);
            if (recorded != null) {
                return recorded;
            }
        }
        return DEFAULT_URL;
    }

    IntakeClient client() {
        return new IntakeClient(resolveUrl());
    }
}
