package dev.quantflow.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CancellationException;

import org.junit.jupiter.api.Test;

class FailuresTest {

    private static void assertNoClassNames(String reason) {
        assertThat(reason).doesNotContain("java.").doesNotContain("dev.quantflow.").doesNotContain("Exception")
            .doesNotContain("\tat ").isNotBlank();
    }

    @Test
    void aPermanentExceptionKeepsItsCodeAndIsNotRetriedEvenWhenWrapped() {
        var p = new PermanentStageException(ReasonCodes.INVALID_MODEL, "opset 9: re-export with opset 11 or newer");
        for (Throwable t : List.of(p, new RuntimeException(p), new UncheckedIOException(new IOException(p)))) {
            Failures.Classified c = Failures.classify(t);
            assertThat(c.permanent()).as("%s", t).isTrue();
            assertThat(c.reasonCode()).isEqualTo(ReasonCodes.INVALID_MODEL);
            assertThat(c.reason()).contains("opset 9");
            assertNoClassNames(c.reason());
        }
    }

    @Test
    void deterministicErrorsArePermanentAndTransientOnesAreRetried() {
        assertThat(Failures.classify(new IllegalArgumentException("Conv weights are not a float initializer")).permanent())
            .isTrue();
        assertThat(Failures.classify(new RuntimeException(new IllegalStateException("bad shape"))).permanent()).isTrue();
        assertThat(Failures.classify(new NullPointerException()).permanent()).isTrue();
        assertThat(Failures.classify(new UncheckedIOException(new IOException("connection reset"))).permanent()).isFalse();
        assertThat(Failures.classify(new RuntimeException("S3 503 slow down")).permanent()).isFalse();
        assertThat(Failures.classify(new CancellationException()).permanent()).as("shutdown hands the job back").isFalse();
        assertThat(Failures.classify(new IllegalArgumentException("x")).reasonCode()).isEqualTo(ReasonCodes.STAGE_ERROR);
    }

    @Test
    void reasonsHaveNoClassNamesOrFrames() {
        var wrapped = new RuntimeException(new IllegalStateException(
            "dev.quantflow.onnx.OnnxException: node 'conv1' (Conv): weights are not a float initializer"));
        String r = Failures.classify(wrapped).reason();
        assertNoClassNames(r);
        assertThat(r).isEqualTo("node 'conv1' (Conv): weights are not a float initializer");

        String withFrames = "java.lang.ArithmeticException: / by zero\n\tat dev.quantflow.x.Y.f(Y.java:3)\n\tat z.W.g(W.java:9)";
        assertThat(Failures.clean(withFrames)).isEqualTo("/ by zero");

        String npe = Failures.classify(new NullPointerException()).reason();
        assertNoClassNames(npe);

        String io = Failures.reasonOf(new UncheckedIOException(new IOException("disk full")));
        assertThat(io).isEqualTo("disk full");
        // plain prose and reason codes are left alone
        assertThat(Failures.clean("STAGE_ERROR: max abs difference 3.2e-3 > 1e-4 on input x.1"))
            .isEqualTo("STAGE_ERROR: max abs difference 3.2e-3 > 1e-4 on input x.1");
    }
}
