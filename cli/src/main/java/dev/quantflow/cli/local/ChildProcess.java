package dev.quantflow.cli.local;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A process LocalCluster started (or found in a state file): its pid, the instant it started and its log file.
 * The start instant guards against pid reuse: a recorded pid only counts as ours while the live process with
 * that pid started at the recorded instant.
 */
public record ChildProcess(String name, long pid, Instant startedAt, Path log) {

    private static final File DEV_NULL = new File(File.separatorChar == '\\' ? "NUL" : "/dev/null");

    /** Starts {@code command} in {@code workDir}, stdout and stderr appended to {@code log}, stdin empty. */
    static Process launch(String name, List<String> command, Path workDir, Path log) {
        try {
            Files.createDirectories(log.getParent());
            Process process = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(DEV_NULL))
                .start();
            return process;
        } catch (IOException e) {
            throw new LocalClusterException("cannot start " + name + " (" + command.getFirst() + "): " + e.getMessage(), e);
        }
    }

    static ChildProcess of(String name, Process process, Path log) {
        return new ChildProcess(name, process.pid(), process.toHandle().info().startInstant().orElse(null), log);
    }

    /** The live process this record names, if it is still running and is the same process. */
    public Optional<ProcessHandle> handle() {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(h -> {
            if (startedAt == null) {
                return true;
            }
            return h.info().startInstant()
                .map(actual -> Math.abs(Duration.between(actual, startedAt).toMillis()) < 2000)
                .orElse(true);
        });
    }

    public boolean alive() {
        return handle().isPresent();
    }

    /**
     * Asks the processes to stop (SIGTERM), waits up to {@code grace} for all of them together, then kills the
     * rest. Returns the names of the processes that had to be killed.
     */
    static List<String> terminate(List<ChildProcess> processes, Duration grace) {
        List<ProcessHandle> handles = new ArrayList<>();
        for (ChildProcess p : processes) {
            p.handle().ifPresent(h -> {
                h.destroy();
                handles.add(h);
            });
        }
        long deadline = System.nanoTime() + grace.toNanos();
        List<String> killed = new ArrayList<>();
        for (int i = 0; i < handles.size(); i++) {
            ProcessHandle h = handles.get(i);
            long left = Math.max(0, deadline - System.nanoTime());
            try {
                h.onExit().get(left, TimeUnit.NANOSECONDS);
            } catch (Exception timeoutOrInterrupt) {
                if (h.isAlive()) {
                    h.descendants().forEach(ProcessHandle::destroyForcibly);
                    h.destroyForcibly();
                    killed.add(processes.stream().filter(p -> p.pid() == h.pid()).findFirst().map(ChildProcess::name)
                        .orElse(String.valueOf(h.pid())));
                    try {
                        h.onExit().get(5, TimeUnit.SECONDS);
                    } catch (Exception ignored) {
                        // the kernel reaps it; nothing more a caller could do
                    }
                }
            }
        }
        return killed;
    }

    /** The last {@code lines} lines of the log, for error messages. */
    public String logTail(int lines) {
        return tail(log, lines);
    }

    static String tail(Path file, int lines) {
        if (file == null || !Files.isRegularFile(file)) {
            return "(no log at " + file + ")";
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            int window = (int) Math.min(length, 64 * 1024);
            byte[] bytes = new byte[window];
            raf.seek(length - window);
            raf.readFully(bytes);
            String[] all = new String(bytes, StandardCharsets.UTF_8).split("\r?\n");
            int from = Math.max(0, all.length - lines);
            return String.join(System.lineSeparator(), Arrays.asList(all).subList(from, all.length));
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }
}
