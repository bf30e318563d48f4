package dev.quantflow.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.quantflow.cli.local.ClusterState;
import dev.quantflow.cli.local.LocalCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Quantize the bundled example end to end and print the report.",
        "Starts quantflow if it is not running, submits the Fashion-MNIST CNN in fixtures/fashion-cnn (static INT8),",
        "follows the job live and prints the FP32 vs INT8 table."})
final class DemoCommand implements Callable<Integer> {

    static final String FIXTURE = "fixtures/fashion-cnn";

    @Spec
    CommandSpec spec;

    @Mixin
    IntakeOptions intake;

    @Option(names = "--free-ports", description = "When starting: use another free port where a default one is taken.")
    boolean freePorts;

    @Option(names = "--max-drop", paramLabel = "FRACTION", defaultValue = "0.02",
        description = "Largest relative accuracy drop accepted (default ${DEFAULT-VALUE}).")
    double maxDrop;

    @Mixin
    WaitOptions wait;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Path root = LocalCluster.locateRepoRoot();
        Path fixture = root.resolve(FIXTURE);
        for (String file : new String[] {"model.onnx", "calib.npz", "eval.npz"}) {
            if (!Files.isRegularFile(fixture.resolve(file))) {
                throw new CliException("the demo model is missing: " + fixture.resolve(file)
                    + " (the fixtures/fashion-cnn example is not in this checkout)");
            }
        }
        if (intake.url == null && System.getenv("QUANTFLOW_URL") == null) {
            Path dir = intake.runDir.resolve();
            boolean running = ClusterState.read(dir).map(s -> !s.processes().isEmpty()
                && s.processes().stream().allMatch(ClusterState.Entry::alive) && s.intakeUrl() != null).orElse(false);
            if (!running) {
                ClusterState state = UpCommand.start(dir, false, freePorts, false, 0, 0, 180, err);
                UpCommand.printEndpoints(err, state, dir);
                err.println();
            }
        }
        wait.wait = true;
        IntakeClient.Submission submission = new IntakeClient.Submission(fixture.resolve("model.onnx"),
            fixture.resolve("calib.npz"), fixture.resolve("eval.npz"), "fashion-cnn demo", "static", maxDrop, null, null);
        return SubmitCommand.submitAndReport(spec, intake.client(), submission, wait);
    }
}
