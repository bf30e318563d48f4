package dev.quantflow.pipeline.kafka;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Peak resident set size of this process ({@code VmHWM} in {@code /proc/self/status}; Linux only). */
final class PeakRss {

    private static final Path STATUS = Path.of("/proc/self/status");

    private PeakRss() {
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
