package dev.quantflow.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import dev.quantflow.cli.local.ClusterState;
import dev.quantflow.cli.local.LocalCluster;
import dev.quantflow.client.Submission;
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

    @Option(names = "--example", paramLabel = "NAME", defaultValue = "cnn",
        description = "cnn (static INT8, default), minilm (dynamic INT8 of a sentence encoder), gpt (4-bit GPTQ of the "
            + "tiny GPT fixture, perplexity-checked) or qat (W4A8 quantization-aware training of the CNN).")
    String example;

    @Mixin
    WaitOptions wait;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Path root = LocalCluster.locateRepoRoot();
        if (!List.of("cnn", "minilm", "gpt", "qat").contains(example)) {
            throw new CliException("--example is cnn, minilm, gpt or qat, not '" + example + "'", ExitCodes.USAGE);
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
        Submission submission = switch (example) {
            case "minilm" -> miniLm(root, intake.runDir.resolve());
            case "gpt" -> gpt(root);
            case "qat" -> qat(root, maxDrop);
            default -> fashionCnn(fixture)
                .name("fashion-cnn demo")
                .method("static")
                .maxRelativeDrop(maxDrop)
                .build();
        };
        return SubmitCommand.submitAndReport(spec, intake.client(), submission, wait);
    }

    /** The fashion-CNN fixture's model, calibration and eval sets ({@code dir} = its folder). */
    private static Submission.Builder fashionCnn(Path dir) {
        return Submission.builder()
            .model(dir.resolve("model.onnx"))
            .calibration(dir.resolve("calib.npz"))
            .validation(dir.resolve("eval.npz"));
    }

    /** The tiny GPT fixture to 4-bit with GPTQ (auto method), calibrated and validated on King James text. */
    static Submission gpt(Path root) {
        Path dir = root.resolve("fixtures/gpt");
        for (String file : new String[] {"model.onnx", "tokenizer.json", "calib.txt", "heldout.txt"}) {
            if (!Files.isRegularFile(dir.resolve(file))) {
                throw new CliException("the GPT example is missing " + dir.resolve(file));
            }
        }
        return Submission.builder()
            .model(dir.resolve("model.onnx"))
            .calibration(dir.resolve("calib.txt"))
            .validation(dir.resolve("heldout.txt"))
            .name("tiny-gpt demo")
            .method("auto")
            .tokenizer(dir.resolve("tokenizer.json"))
            .metric("perplexity")
            .metricThreshold(0.02)
            .bits(4)
            .blockSize(128)
            .build();
    }

    /** The CNN at W3A8 (per-tensor 3-bit weights: PTQ loses ~6.7 points) with QAT on a Fashion-MNIST training subset. */
    static Submission qat(Path root, double maxDrop) {
        Path dir = root.resolve(FIXTURE);
        if (!Files.isRegularFile(dir.resolve("train.npz"))) {
            throw new CliException("the QAT example is missing " + dir.resolve("train.npz"));
        }
        return fashionCnn(dir)
            .name("fashion-cnn qat demo")
            .method("qat")
            .maxRelativeDrop(maxDrop)
            .maxAttempts(3)
            .training(dir.resolve("train.npz"))
            .bits(3)
            .allowRetraining(true)
            .build();
    }

    /** MiniLM and its tokenizer come out of the langchain4j jar on the CLI's class path (no download). */
    static Submission miniLm(Path root, Path runDir) {
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
        // calibration text (the first 100 sentences): per-channel activation maxima for SmoothQuant before INT8
        Path calibration = root.resolve("fixtures/text/calibration.txt");
        return Submission.builder()
            .model(dir.resolve("all-minilm-l6-v2.onnx"))
            .calibration(Files.isRegularFile(calibration) ? calibration : null)
            .validation(sentences)
            .name("minilm demo")
            .method("dynamic")
            .tokenizer(dir.resolve("all-minilm-l6-v2-tokenizer.json"))
            .metric("cosine")
            .metricThreshold(0.99)
            .build();
    }
}
