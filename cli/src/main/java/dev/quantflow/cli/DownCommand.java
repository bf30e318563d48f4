package dev.quantflow.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import dev.quantflow.cli.local.ClusterState;
import dev.quantflow.cli.local.LocalCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "down", mixinStandardHelpOptions = true,
    description = "Stop the local cluster that 'quantflow up' started (SIGTERM, then kill after a grace period). Data stays.")
final class DownCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    RunDirOption runDir;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path dir = runDir.resolve();
        if (ClusterState.read(dir).isEmpty()) {
            out.println("nothing to stop (no " + ClusterState.file(dir) + ")");
            return ExitCodes.OK;
        }
        List<String> stopped = LocalCluster.stopRecorded(dir, err::println);
        out.println(stopped.isEmpty() ? "nothing was running; removed the stale " + ClusterState.file(dir)
            : "stopped " + String.join(", ", stopped));
        return ExitCodes.OK;
    }
}
