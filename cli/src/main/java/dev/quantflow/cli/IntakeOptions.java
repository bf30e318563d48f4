package dev.quantflow.cli;

import java.nio.file.Path;

import dev.quantflow.cli.local.ApiToken;
import dev.quantflow.cli.local.ClusterState;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Where the intake service is: {@code --url}, else env {@code QUANTFLOW_URL}, else the intake recorded in the local
 * cluster's state.json, else {@code http://127.0.0.1:8080}. The API token: {@code --token}, else env
 * {@code QUANTFLOW_TOKEN}, else the local cluster's {@code <run dir>/api-token} (written by {@code quantflow up}).
 */
final class IntakeOptions {

    static final String DEFAULT_URL = "http://127.0.0.1:8080";

    @Option(names = "--url", paramLabel = "URL", description = "Intake URL (default: $QUANTFLOW_URL, the local cluster's, or "
        + DEFAULT_URL + ").")
    String url;

    @Option(names = "--token", paramLabel = "TOKEN", description = "API token (default: $QUANTFLOW_TOKEN, or the local "
        + "cluster's <run dir>/api-token written by 'quantflow up').")
    String token;

    @Mixin
    RunDirOption runDir;

    String resolveToken() {
        if (token != null && !token.isBlank()) {
            return token;
        }
        String env = System.getenv("QUANTFLOW_TOKEN");
        if (env != null && !env.isBlank()) {
            return env;
        }
        Path dir = runDir.resolveOrNull();
        return dir == null ? null : ApiToken.read(dir).orElse(null);
    }

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
        return new IntakeClient(resolveUrl(), resolveToken());
    }
}
