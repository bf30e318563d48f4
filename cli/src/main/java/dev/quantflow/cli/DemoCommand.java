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
    description = {"Quantize a bundled example end to end and print the report.",
        "Starts quantflow if it is not running, submits the example, follows the job live and prints the table.",
        "  --example cnn     (default) the Fashion-MNIST CNN in fixtures/fashion-cnn, static INT8",
        "  --example minilm  all-MiniLM-L6-v2 (shipped in a Maven jar), dynamic INT8, validated on the 400",
        "                    sentences of fixtures/text/sentences.txt by mean cosine to fp32 (>= 0.99)"})
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

    @Option(names = "--example", paramLabel = "NAME", defaultValue = "cnn", description = "cnn (default) or minilm.")
    String example;

    @Mixin
    WaitOptions wait;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Path root = LocalCluster.locateRepoRoot();
        if (!example.equals("cnn") && !example.equals("minilm")) {
            throw new CliException("--example is cnn or minilm, not '" + example + "'", ExitCodes.USAGE);
        }
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
        IntakeClient.Submission submission = example.equals("minilm") ? miniLm(root, intake.runDir.resolve())
            : new IntakeClient.Submission(fixture.resolve("model.onnx"),
                fixture.resolve("calib.npz"), fixture.resolve("eval.npz"), "fashion-cnn demo", "static", maxDrop, null, null);
        return SubmitCommand.submitAndReport(spec, intake.client(), submission, wait);
    }

    /** MiniLM and its tokenizer come out of the langchain4j jar on the CLI's class path (no download). */
    static IntakeClient.Submission miniLm(Path root, Path runDir) {
        Path sentences = root.resolve("fixtures/text/sentences.txt");
        if (!Files.isRegularFile(sentences)) {
            throw new CliException("the demo sentences are missing: " + sentences);
        }
        Path dir = runDir.resolve("examples/minilm");
        try {
            Files.createDirectories(dir);
            for (String resource : new String[] {"all-minilm-l6-v2.onnx", "all-minilm-l6-v2-tokenizer.json"}) {
                Path target = dir.resolve(resource);
                if (!Files.isRegularFile(target)) {
                    try (var in = DemoCommand.class.getClassLoader().getResourceAsStream(resource)) {
                        if (in == null) {
                            throw new CliException("all-MiniLM-L6-v2 is not on the CLI's class path (" + resource + ")");
                        }
                        Files.copy(in, target);
                    }
                }
            }
        } catch (java.io.IOException e) {
            throw new CliException("cannot unpack the MiniLM example into " + dir + ": " + e.getMessage());
        }
        return new IntakeClient.Submission(dir.resolve("all-minilm-l6-v2.onnx"), null, sentences, "minilm demo", "dynamic",
            null, null, null, null, null, dir.resolve("all-minilm-l6-v2-tokenizer.json"), "cosine", 0.99);
    }
}
