package dev.quantflow.cli;

import java.nio.file.Path;

import dev.quantflow.cli.local.LocalCluster;
import picocli.CommandLine.Option;

/** {@code --run-dir}: where a local cluster keeps state.json, logs and data. */
final class RunDirOption {

    @Option(names = "--run-dir", paramLabel = "DIR",
        description = "Run directory of the local cluster (state.json, logs, data). Default: .quantflow/ at the repository root.")
    Path runDir;

    Path resolve() {
        if (runDir != null) {
            return runDir.toAbsolutePath().normalize();
        }
        String env = System.getenv("QUANTFLOW_RUN_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env).toAbsolutePath().normalize();
        }
        return LocalCluster.locateRepoRoot().resolve(".quantflow");
    }

    /** Like {@link #resolve()}, but null instead of an error when no repository is around (remote use). */
    Path resolveOrNull() {
        try {
            return resolve();
        } catch (RuntimeException noRepository) {
            return null;
        }
    }
}
