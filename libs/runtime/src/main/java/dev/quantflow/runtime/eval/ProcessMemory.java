package dev.quantflow.runtime.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Resident memory of this process from Linux {@code /proc/self/status}: {@code VmRSS} (now) and {@code VmHWM}
 * (peak since start or since the last reset). Writing {@code 5} to {@code /proc/self/clear_refs} resets the peak to
 * the current RSS (Linux 4.0+).
 */
final class ProcessMemory {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private ProcessMemory() {
    }

    static OptionalLong rssKb() {
        return field("VmRSS:");
    }

    static OptionalLong peakKb() {
        return field("VmHWM:");
    }

    /** Resets VmHWM to the current RSS; false if the platform does not allow it. */
    static boolean resetPeak() {
        try {
            Files.writeString(CLEAR_REFS, "5", StandardCharsets.US_ASCII);
            return true;
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static OptionalLong field(String key) {
        try {
            for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
                if (line.startsWith(key)) {
                    String[] parts = line.substring(key.length()).trim().split("\\s+");
                    return OptionalLong.of(Long.parseLong(parts[0]));
                }
            }
            return OptionalLong.empty();
        } catch (IOException | SecurityException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
