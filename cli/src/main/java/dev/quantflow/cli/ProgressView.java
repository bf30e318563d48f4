package dev.quantflow.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

/** How {@code --wait} shows a job's status events: progress bars, one line per event, or nothing. */
interface ProgressView extends AutoCloseable {

    /** Called once per new status event, in order. */
    void show(JsonNode event);

    /** A line that is not an event (e.g. "job … submitted"); shown by the line and bar views, dropped when quiet. */
    void note(String line);

    @Override
    void close();

    /**
     * Bars when the progress goes to stdout and stdout is a terminal (and TERM is not dumb); one line per event
     * otherwise, so logs and pipes get plain text; nothing with {@code --quiet}.
     */
    static ProgressView choose(boolean quiet, boolean progressOnStdout, PrintWriter progress) {
        if (quiet) {
            return new Quiet();
        }
        if (progressOnStdout && stdoutIsTerminal()) {
            return new Bars(progress, new ConsoleProgressBarConsumer(System.out));
        }
        return new Lines(progress);
    }

    /**
     * {@code Console.isTerminal()} (JDK 22+, where {@code System.console()} is non-null even when redirected), else
     * {@code System.console() != null} (JDK 21, where it is null unless stdin and stdout are a terminal).
     */
    static boolean stdoutIsTerminal() {
        if ("dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        java.io.Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            Method isTerminal = java.io.Console.class.getMethod("isTerminal");
            return (Boolean) isTerminal.invoke(console);
        } catch (ReflectiveOperationException jdk21) {
            return true;
        }
    }

    /** The plain output: one line per status event. */
    final class Lines implements ProgressView {
        private final PrintWriter out;

        Lines(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void show(JsonNode event) {
            out.println(ReportFormatter.eventLine(event));
            out.flush();
        }

        @Override
        public void note(String line) {
            out.println(line);
            out.flush();
        }

        @Override
        public void close() {
            out.flush();
        }
    }

    /** {@code --quiet}: no progress at all. */
    final class Quiet implements ProgressView {
        @Override
        public void show(JsonNode event) {
        }

        @Override
        public void note(String line) {
        }

        @Override
        public void close() {
        }
    }

    /**
     * One progress bar per stage run ({@link StageProgress}), drawn by the progressbar library (JLine for the terminal
     * width): percent of the stage, elapsed time, the ETA from the stage's own progress events, and its last message.
     * A finished stage's bar stays on its line; the next stage starts a new one below it.
     */
    final class Bars implements ProgressView {
        static final int STEPS = 1000;
        static final int MESSAGE_WIDTH = 32;

        private final PrintWriter before;
        private final ProgressBarConsumer consumer;
        private final StageProgress progress = new StageProgress();
        private final Map<StageProgress.Bar, ProgressBar> drawn = new HashMap<>();
        private StageProgress.Bar open;

        /** {@code before}: the writer whose pending text must be flushed before a bar draws on the same terminal. */
        Bars(PrintWriter before, ProgressBarConsumer consumer) {
            this.before = before;
            this.consumer = consumer;
        }

        StageProgress state() {
            return progress;
        }

        @Override
        public void show(JsonNode event) {
            StageProgress.Bar bar = progress.apply(event);
            if (open != null && open != bar) {
                finish(open);
            }
            ProgressBar pb = drawn.computeIfAbsent(bar, this::start);
            open = bar;
            pb.stepTo(Math.round(bar.fraction * STEPS));
            pb.setExtraMessage(shorten(bar.done() && !"done".equals(bar.outcome) ? bar.outcome.toUpperCase() + " "
                + bar.message : bar.message));
            if (bar.done()) {
                finish(bar);
                open = null;
            }
        }

        /** The bar shrinks to make room for its message: a long message is cut so an 80-column terminal keeps a bar. */
        static String shorten(String message) {
            return message.length() <= MESSAGE_WIDTH ? message : message.substring(0, MESSAGE_WIDTH - 1) + "…";
        }

        private ProgressBar start(StageProgress.Bar bar) {
            before.flush();
            return new ProgressBarBuilder()
                .setTaskName(String.format("%-14s", bar.label()))
                .setInitialMax(STEPS)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit("%", STEPS / 100)
                .setUpdateIntervalMillis(200)
                .setMaxRenderedLength(120)
                .setConsumer(consumer)
                .setEtaFunction(state -> bar.eta())
                .build();
        }

        private void finish(StageProgress.Bar bar) {
            ProgressBar pb = drawn.get(bar);
            if (pb != null) {
                pb.stepTo(Math.round(bar.fraction * STEPS));
                pb.close(); // draws the final state and leaves it on its line
            }
        }

        @Override
        public void note(String line) {
            if (open == null) {
                before.println(line);
                before.flush();
            }
        }

        @Override
        public void close() {
            if (open != null) {
                finish(open);
                open = null;
            }
            before.flush();
        }

        /** For tests: the bar library's view of a stage run. */
        ProgressBar drawnBar(StageProgress.Bar bar) {
            return drawn.get(bar);
        }
    }

    /** For tests and non-console sinks: bars rendered into a PrintStream (no terminal width needed). */
    static Bars barsOn(PrintWriter before, PrintStream sink) {
        return new Bars(before, new ConsoleProgressBarConsumer(sink, 120));
    }
}
