package dev.quantflow.client.example;

import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import dev.quantflow.client.DownloadedArtifact;
import dev.quantflow.client.JobFailedException;
import dev.quantflow.client.QuantflowClient;
import dev.quantflow.client.QuantflowException;
import dev.quantflow.client.Submission;
import dev.quantflow.events.ModelReady;

/**
 * Submits the bundled Fashion-MNIST CNN to a running {@code ./quantflow up}, prints each status event and the
 * {@code ModelReady} event, then downloads the artifacts (sha256-checked) into {@code target/example-out}.
 *
 * <p>Arguments (all optional): intake URL (default {@code http://127.0.0.1:8080}), the directory with
 * {@code model.onnx}, {@code calib.npz}, {@code eval.npz} (default {@code fixtures/fashion-cnn}). The API token: env
 * {@code QUANTFLOW_TOKEN}, else the local cluster's {@code .quantflow/api-token}.
 */
public final class SubmitExample {

    private SubmitExample() {
    }

    public static void main(String[] args) throws InterruptedException {
        String intake = args.length > 0 ? args[0] : "http://127.0.0.1:8080";
        Path fixture = Path.of(args.length > 1 ? args[1] : "fixtures/fashion-cnn");

        String token = System.getenv("QUANTFLOW_TOKEN");
        Path localToken = Path.of(".quantflow/api-token");
        if ((token == null || token.isBlank()) && java.nio.file.Files.isReadable(localToken)) {
            try {
                token = java.nio.file.Files.readString(localToken).trim();
            } catch (java.io.IOException e) {
                System.err.println("cannot read " + localToken + ": " + e.getMessage());
            }
        }

        try (QuantflowClient quantflow = QuantflowClient.builder().intakeUrl(intake).token(token).build()) {
            String jobId = quantflow.submit(Submission.builder()
                .model(fixture.resolve("model.onnx"))
                .calibration(fixture.resolve("calib.npz"))
                .validation(fixture.resolve("eval.npz"))
                .name("fashion-cnn (java client)")
                .method("static")
                .maxRelativeDrop(0.02)
                .build());
            System.out.println("submitted " + jobId);

            ModelReady ready = quantflow.awaitModelReady(jobId,
                    e -> System.out.printf("  %-11s %-10s attempt %d  %3.0f%%  %s%n", e.stage(), e.state(), e.attempt(),
                        e.progress() * 100, e.message()))
                .get(30, TimeUnit.MINUTES);
            System.out.println("model ready: " + ready);

            for (DownloadedArtifact a : quantflow.fetchArtifacts(jobId, Path.of("target/example-out"))) {
                System.out.println("fetched " + a.file() + " (" + a.size() + " bytes, sha256 " + a.sha256() + ")");
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof JobFailedException failed) {
                System.err.println("job failed in " + failed.stage() + ": " + failed.code() + ": " + failed.reason());
            } else {
                System.err.println(e.getCause().getMessage());
            }
            System.exit(1);
        } catch (java.util.concurrent.TimeoutException e) {
            System.err.println("no outcome after 30 min; the job keeps running");
            System.exit(1);
        } catch (QuantflowException e) {
            System.err.println(e.code() + ": " + e.reason());
            System.exit(1);
        }
    }
}
