package dev.quantflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine;

/** {@code --wait} views on a scripted event sequence: the bars' state and ETA, and the quiet output for scripts. */
class JobWatcherTest {

    private static final String READY_JOB = """
        {"jobId":"job-1","state":"READY","stage":"export","attempt":2,"history":[]}""";

    @TempDir
    Path tmp;

    private FakeIntake intake;

    @BeforeEach
    void start() throws IOException {
        intake = new FakeIntake();
    }

    @AfterEach
    void stop() {
        intake.close();
    }

    static String event(String at, String stage, String state, int attempt, Double progress, String message) {
        return "{\"at\":\"2026-11-27T10:" + at + "Z\",\"stage\":\"" + stage + "\",\"state\":\"" + state + "\",\"attempt\":"
            + attempt + ",\"progress\":" + progress + ",\"message\":\"" + message + "\"}";
    }

    @Test
    void barsShowOneBarPerStageRunIncludingTheLoopBackAndEndComplete() {
        intake.on("GET /api/jobs/job-1/events", FakeIntake.sse(
                event("00:00", "intake", "ACCEPTED", 1, 0.0, "accepted"),
                event("00:01", "calibration", "RUNNING", 1, 0.0, "batch 0/16"),
                event("00:11", "calibration", "RUNNING", 1, 0.25, "batch 4/16"),
                event("00:21", "calibration", "RUNNING", 1, 0.5, "batch 8/16"),
                event("00:30", "quantize", "STAGE_DONE", 1, 1.0, "quantized"),
                event("00:31", "validation", "RUNNING", 1, 0.4, "evaluating"),
                event("00:35", "calibration", "RUNNING", 2, 0.1, "percentile calibration"),
                event("00:50", "export", "READY", 2, 1.0, "model ready")))
            .json("GET /api/jobs/job-1", 200, READY_JOB);
        ByteArrayOutputStream drawn = new ByteArrayOutputStream();
        ProgressView.Bars bars = ProgressView.barsOn(new PrintWriter(new StringWriter()),
            new PrintStream(drawn, true, StandardCharsets.UTF_8));

        JsonNode job = new JobWatcher(new IntakeClient(intake.url()), bars, Duration.ofMinutes(1), Duration.ofMillis(20))
            .await("job-1");

        assertThat(job.path("state").asText()).isEqualTo("READY");
        var runs = bars.state().bars();
        assertThat(runs).extracting(StageProgress.Bar::label)
            .containsExactly("intake", "calibration", "quantize", "validation", "calibration #2", "export #2");
        // a stage the pipeline has left is complete, whatever its last event said
        assertThat(runs).allSatisfy(b -> {
            assertThat(b.done()).isTrue();
            assertThat(b.fraction).isEqualTo(1.0);
            assertThat(bars.drawnBar(b).getCurrent()).isEqualTo(ProgressView.Bars.STEPS);
        });
        assertThat(runs.get(5).outcome).isEqualTo("ready");
        String text = drawn.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("calibration #2").contains("export #2").contains("100%").contains("READY model ready");
        assertThat(ProgressView.Bars.shorten("x".repeat(50))).hasSize(ProgressView.Bars.MESSAGE_WIDTH).endsWith("…");
    }

    @Test
    void theEtaComesFromTheStagesOwnProgressRate() {
        StageProgress progress = new StageProgress();
        StageProgress.Bar bar = progress.apply(Json.parse(event("00:01", "calibration", "RUNNING", 1, 0.0, "batch 0/16")));
        assertThat(bar.eta()).isEmpty(); // one event: no rate yet

        progress.apply(Json.parse(event("00:11", "calibration", "RUNNING", 1, 0.25, "batch 4/16")));
        assertThat(bar.eta()).contains(Duration.ofSeconds(30)); // 25% in 10 s: 75% left takes 30 s

        progress.apply(Json.parse(event("00:21", "calibration", "RUNNING", 1, 0.4, "batch 6/16")));
        assertThat(bar.eta()).contains(Duration.ofSeconds(30)); // 40% in 20 s: 60% left takes 30 s
        assertThat(bar.message).isEqualTo("batch 6/16");

        StageProgress.Bar failed = progress.apply(Json.parse(event("00:25", "calibration", "FAILED", 1, 0.4, "boom")));
        assertThat(failed).isSameAs(bar);
        assertThat(bar.outcome).isEqualTo("failed");
        assertThat(bar.fraction).isEqualTo(0.4);
        assertThat(bar.eta()).isEmpty();
    }

    @Test
    void progressGivenAsAPercentageOrMissingKeepsTheBarSane() {
        StageProgress progress = new StageProgress();
        StageProgress.Bar bar = progress.apply(Json.parse(event("00:01", "validation", "RUNNING", 1, 40.0, "x")));
        assertThat(bar.fraction).isEqualTo(0.4);
        progress.apply(Json.parse(event("00:02", "validation", "RUNNING", 1, null, "still evaluating")));
        assertThat(bar.fraction).isEqualTo(0.4);
        assertThat(bar.message).isEqualTo("still evaluating");
    }

    @Test
    void quietWaitPrintsOnlyTheFinalLine() throws IOException {
        intake.json("POST /api/jobs", 202, "{\"jobId\":\"job-1\",\"state\":\"ACCEPTED\"}")
            .on("GET /api/jobs/job-1/events", FakeIntake.sse(
                event("00:01", "calibration", "RUNNING", 1, 0.5, "batch 8/16"),
                event("00:09", "export", "READY", 1, 1.0, "model ready")))
            .json("GET /api/jobs/job-1", 200, READY_JOB);

        String[] result = run("--wait", "--quiet");

        assertThat(result[0]).isEqualTo("0");
        assertThat(result[1]).isEqualTo("job-1 READY" + System.lineSeparator());
        assertThat(result[2]).isEmpty();
    }

    @Test
    void quietWaitOnAFailedJobPrintsItsReasonCodeAndExitsOne() throws IOException {
        intake.json("POST /api/jobs", 202, "{\"jobId\":\"job-3\",\"state\":\"ACCEPTED\"}")
            .on("GET /api/jobs/job-3/events", FakeIntake.sse(
                event("00:01", "validation", "FAILED", 4, 1.0, "TARGET_MISSED: drop 4.1%")))
            .json("GET /api/jobs/job-3", 200, """
                {"jobId":"job-3","state":"FAILED","stage":"validation","message":"TARGET_MISSED: drop 4.1%","history":[],
                 "result":{"reasonCode":"TARGET_MISSED","reason":"drop 4.1% > 2% after 4 attempts"}}""");

        String[] result = run("--wait", "-q");

        assertThat(result[0]).isEqualTo(String.valueOf(ExitCodes.JOB_FAILED));
        assertThat(result[1].strip()).isEqualTo("job-3 FAILED TARGET_MISSED: drop 4.1% > 2% after 4 attempts");
        assertThat(result[2]).isEmpty();
    }

    @Test
    void quietSubmitWithoutWaitPrintsOnlyTheJobId() throws IOException {
        intake.json("POST /api/jobs", 202, "{\"jobId\":\"job-1\",\"state\":\"ACCEPTED\"}");

        String[] result = run("--quiet");

        assertThat(result[1].strip()).isEqualTo("job-1");
        assertThat(result[2]).isEmpty();
    }

    @Test
    void withoutATerminalTheViewIsOneLinePerEvent() {
        StringWriter out = new StringWriter();
        ProgressView view = ProgressView.choose(false, true, new PrintWriter(out));
        // surefire's stdout is a pipe, never a terminal
        assertThat(view).isInstanceOf(ProgressView.Lines.class);
        view.show(Json.parse(event("00:01", "calibration", "RUNNING", 1, 0.5, "batch 8/16")));
        assertThat(out.toString()).contains("calibration").contains("RUNNING").contains("50%").contains("batch 8/16");
        assertThat(ProgressView.choose(true, true, new PrintWriter(out))).isInstanceOf(ProgressView.Quiet.class);
    }

    private String[] run(String... extra) throws IOException {
        Path model = Files.writeString(tmp.resolve("model.onnx"), "onnx");
        Path eval = Files.writeString(tmp.resolve("eval.npz"), "eval");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = QuantflowCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        String[] base = {"submit", "--url", intake.url(), "--model", model.toString(), "--eval", eval.toString()};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        int code = cli.execute(args);
        return new String[] {String.valueOf(code), out.toString(), err.toString()};
    }
}
