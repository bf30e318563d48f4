package dev.quantflow.pipeline.kafka;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak resident set size of this process ({@code VmHWM} in {@code /proc/self/status}; Linux only). The peak is reset
 * ({@code 5} written to {@code /proc/self/clear_refs}) when a stage run starts while no other run of the process is
 * under way, so the figure at its end is the peak during that run (or, when runs of several workers of one process
 * overlap, since the earliest of them started: never less than the run's own peak).
 */
final class PeakRss {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");
    private static final java.util.concurrent.atomic.AtomicInteger RUNS = new java.util.concurrent.atomic.AtomicInteger();

    private PeakRss() {
    }

    /** A stage run starts: resets the peak when it is the only run of the process. */
    static void runStarted() {
        if (RUNS.getAndIncrement() == 0) {
            try {
                Files.writeString(CLEAR_REFS, "5");
            } catch (IOException | RuntimeException e) {
                // not Linux, or not allowed: the peak stays the process's since it started
            }
        }
    }

    static void runEnded() {
        RUNS.updateAndGet(n -> Math.max(0, n - 1));
    }

    /** Bytes, or -1 where the kernel does not report it. */
    static long bytes() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or a restricted /proc: unknown
        }
        return -1;
    }

    /** "11.3 GB", "512 MB", or "unknown". */
    static String describe(long bytes) {
        if (bytes < 0) {
            return "unknown";
        }
        double gb = bytes / 1e9;
        return gb >= 1 ? String.format(java.util.Locale.ROOT, "%.1f GB", gb)
            : String.format(java.util.Locale.ROOT, "%d MB", Math.round(bytes / 1e6));
    }
}
