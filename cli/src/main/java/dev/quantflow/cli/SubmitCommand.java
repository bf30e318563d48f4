package dev.quantflow.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

import dev.quantflow.client.Submission;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "submit", mixinStandardHelpOptions = true,
    description = {"Submit a model for quantization.",
        "Prints the job id; with --wait follows the job live and prints the report (exit 1 if the job FAILED)."})
final class SubmitCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    IntakeOptions intake;

    @Option(names = "--model", required = true, paramLabel = "MODEL.onnx", description = "The fp32 ONNX model.")
    Path model;

    @Option(names = "--calib", paramLabel = "CALIB", description = "Calibration data: .npz, or text (.txt lines / .jsonl) with --tokenizer. Needed by static.")
    Path calibration;

    @Option(names = "--eval", required = true, paramLabel = "EVAL", description = "Validation data: .npz (inputs and optional labels), or text with --tokenizer.")
    Path validation;

    @Option(names = "--tokenizer", paramLabel = "tokenizer.json", description = "The model's HF tokenizer.json, for text data.")
    Path tokenizer;

    @Option(names = "--metric", paramLabel = "METRIC", description = "auto (default: chosen from the labels and the output's shape, the reason in the report), top1, agreement (per position for [N,T,C] and [N,C,H,W] outputs), cosine, mse, iou (probability maps binarized at 0.3, mean IoU to fp32) or perplexity (causal LMs).")
    String metric;

    @Option(names = "--metric-threshold", paramLabel = "VALUE", description = "For cosine: minimum mean cosine to fp32 (default 0.99); for mse: maximum MSE; for iou: minimum mean IoU, for agreement: minimum share (default: 1 - --max-drop); for perplexity: maximum relative increase (default: --max-drop).")
    Double metricThreshold;

    @Option(names = "--method", paramLabel = "METHOD", description = "static, dynamic, fp16, bf16, gptq, awq, rtn, qat or auto (default: static; qat with --allow-retraining and --training).")
    String method;

    @Option(names = "--max-drop", paramLabel = "FRACTION",
        description = "Largest relative accuracy drop accepted, e.g. 0.02 for 2% (default: the server's).")
    Double maxDrop;

    @Option(names = "--max-attempts", paramLabel = "N",
        description = "Attempt budget of the debug loop (default: the server's, 4); when it is spent the best attempt is exported as best effort.")
    Integer maxAttempts;

    @Option(names = "--time-budget", paramLabel = "SECONDS", description = "Deadline: no new attempt starts after this long, and a job still running then fails with DEADLINE_EXCEEDED (default: the server's, 1 h).")
    Integer timeBudgetSeconds;

    @Option(names = "--max-size-ratio", paramLabel = "FRACTION",
        description = "Optional size target: quantized bytes / fp32 bytes, e.g. 0.3.")
    Double maxSizeRatio;

    @Option(names = "--exclude-nodes", split = ",", paramLabel = "NODE", description = "Nodes to keep in fp32 (comma-separated).")
    List<String> excludeNodes;

    @Option(names = "--name", paramLabel = "NAME", description = "A name for the job (default: the model file's).")
    String name;

    @Option(names = "--training", paramLabel = "TRAIN.npz",
        description = "Training data for QAT (.npz like --eval; 'labels' optional). Needs --allow-retraining.")
    Path training;

    @Option(names = "--allow-retraining", description = "Allow quantization-aware training (QAT) on --training data.")
    boolean allowRetraining;

    @Option(names = "--bits", paramLabel = "N", description = "Weight bits: gptq/awq/rtn 4 (default), 8 or 2; qat 8 (default) down to 2.")
    Integer bits;

    @Option(names = "--block-size", paramLabel = "N", description = "gptq/awq/rtn: rows per quantization block (default 128).")
    Integer blockSize;

    @Option(names = "--max-latency-ms", paramLabel = "MS", description = "Batch-1 p50 latency target of the quantized model.")
    Double maxLatencyMs;

    @Option(names = "--training-steps", paramLabel = "N", description = "QAT: optimizer steps of the first attempt (default 300).")
    Integer trainingSteps;

    @Option(names = "--learning-rate", paramLabel = "LR", description = "QAT: peak learning rate of the first attempt.")
    Double learningRate;

    @Option(names = "--profile-on", split = ",", paramLabel = "CLASS",
        description = "Hardware classes to profile the result on after export (a hardware-profiler per class must run), e.g. x86-avx2.")
    List<String> profileOn;

    @Option(names = "--target-hardware", paramLabel = "CLASS",
        description = "Make the INT8 recipe for this hardware class instead of the quantizer's CPU: x86-avx2 (7-bit weights), x86-avx512-vnni, x86-avx-vnni, x86-amx, arm64-dotprod, arm64-i8mm, …")
    String targetHardware;

    @Mixin
    WaitOptions wait;

    @Override
    public Integer call() {
        IntakeClient client = intake.client();
        Submission submission = Submission.builder()
            .model(existing(model, "--model"))
            .calibration(calibration == null ? null : existing(calibration, "--calib"))
            .validation(existing(validation, "--eval"))
            .name(name != null ? name : stripExtension(model.getFileName().toString()))
            .method(method)
            .maxRelativeDrop(maxDrop)
            .maxAttempts(maxAttempts)
            .excludedNodes(excludeNodes)
            .timeBudgetSeconds(timeBudgetSeconds)
            .maxSizeRatio(maxSizeRatio)
            .tokenizer(tokenizer == null ? null : existing(tokenizer, "--tokenizer"))
            .metric(metric)
            .metricThreshold(metricThreshold)
            .training(training == null ? null : existing(training, "--training"))
            .bits(bits)
            .blockSize(blockSize)
            .allowRetraining(allowRetraining)
            .maxLatencyMs(maxLatencyMs)
            .trainingSteps(trainingSteps)
            .learningRate(learningRate)
            .profileOn(profileOn)
            .targetHardwareClass(targetHardware)
            .build();
        if (maxDrop != null && (maxDrop < 0 || maxDrop >= 1)) {
            throw new CliException("--max-drop is a fraction between 0 and 1 (e.g. 0.02 for 2%), not " + maxDrop,
                ExitCodes.USAGE);
        }
        return submitAndReport(spec, client, submission, wait);
    }

    /** Shared by submit and demo. */
    static int submitAndReport(CommandSpec spec, IntakeClient client, Submission submission, WaitOptions wait) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        JsonNode accepted = client.submit(submission);
        String jobId = Json.text(accepted, "jobId");
        if (jobId == null) {
            throw new CliException("intake accepted the job but sent no jobId: " + Json.abbreviate(accepted.toString()));
        }
        if (!wait.wait) {
            if (wait.json) {
                out.println(Json.pretty(accepted));
            } else {
                out.println(jobId);
                if (!wait.quiet) {
                    err.println("submitted job " + jobId + " (" + Json.text(accepted, "state") + "); follow it with: "
                        + "quantflow status " + jobId);
                }
            }
            return ExitCodes.OK;
        }
        PrintWriter progressOut = wait.json ? err : out;
        ProgressView view = ProgressView.choose(wait.quiet, !wait.json, progressOut);
        view.note("job " + jobId + " submitted to " + client.baseUrl());
        JsonNode job = new JobWatcher(client, view, Duration.ofMinutes(wait.timeoutMinutes), Duration.ofSeconds(1))
            .await(jobId);
        if (wait.quiet && !wait.json) {
            return printQuietFinal(out, job);
        }
        return ReportCommand.printFinal(out, err, client, job, wait.json);
    }

    /** {@code --wait --quiet}: one line, {@code JOB_ID READY} or {@code JOB_ID FAILED CODE: reason}. */
    static int printQuietFinal(PrintWriter out, JsonNode job) {
        String jobId = Json.text(job, "jobId");
        String state = Json.text(job, "state");
        if (!"FAILED".equals(state)) {
            out.println(jobId + " " + state);
            out.flush();
            return ExitCodes.OK;
        }
        JsonNode result = job.path("result");
        String code = Json.text(result, "reasonCode");
        String reason = Json.text(result, "reason") != null ? Json.text(result, "reason") : Json.text(job, "message");
        out.println(jobId + " FAILED" + (code != null ? " " + code + ":" : "") + (reason != null ? " " + reason : ""));
        out.flush();
        return ExitCodes.JOB_FAILED;
    }

    private static Path existing(Path file, String option) {
        if (!Files.isRegularFile(file)) {
            throw new CliException(option + ": no such file: " + file, ExitCodes.USAGE);
        }
        return file;
    }

    private static String stripExtension(String fileName) {
        int dot = fileName.lastIndexOf('.');
        return dot > 0 ? fileName.substring(0, dot) : fileName;
    }
}
