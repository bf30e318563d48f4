package dev.quantflow.profiler.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * CPU package energy from Linux RAPL (the powercap {@code intel-rapl} zones, which AMD Zen kernels expose too).
 *
 * <p>Each top-level zone {@code intel-rapl:N} (one per CPU package) has a counter {@code energy_uj} in microjoules
 * that wraps to 0 after {@code max_energy_range_uj}. The energy of an interval over zones {@code z} is
 * <pre>
 *   E = 1e-6 · Σ_z Δ_z,   Δ_z = e1_z − e0_z            if e1_z ≥ e0_z
 *                         Δ_z = e1_z + (max_z − e0_z)  otherwise (one wrap)
 * </pre>
 * Sub-zones ({@code intel-rapl:N:M}: core, uncore, dram) are parts of their package and are not added again. An
 * interval longer than one wrap period (minutes at full load on large packages) cannot be told apart from a short
 * one; callers measure seconds. RAPL counts the whole package, so other load on the host is charged to the model:
 * the profiler runs one job at a time and reports the figure as package energy.
 *
 * <p>When the counters cannot be read (no powercap driver, as in most VMs; {@code energy_uj} readable by root only
 * since the PLATYPUS fix, CVE-2020-8694), the meter is unavailable and says why.
 */
public final class EnergyMeter {

    /** Where Linux exposes RAPL. */
    public static final Path SYSFS_POWERCAP = Path.of("/sys/class/powercap");

    private static final Pattern PACKAGE_ZONE = Pattern.compile("intel-rapl:\\d+");

    private final List<Zone> zones;
    private final String unavailableReason;

    private record Zone(Path energy, long maxRange) {
    }

    /** A counter snapshot, one value per zone in microjoules. */
    public record Reading(long[] microjoules) {
    }

    private EnergyMeter(List<Zone> zones, String unavailableReason) {
        this.zones = zones;
        this.unavailableReason = unavailableReason;
    }

    /** The meter of this host. */
    public static EnergyMeter system() {
        return at(SYSFS_POWERCAP);
    }

    /** The meter over a powercap folder (the real one, or a copy laid out the same way). */
    public static EnergyMeter at(Path powercap) {
        if (!Files.isDirectory(powercap)) {
            return new EnergyMeter(List.of(), powercap + " does not exist (no powercap/RAPL driver; usual in VMs and containers)");
        }
        List<Zone> zones = new ArrayList<>();
        try (Stream<Path> entries = Files.list(powercap)) {
            for (Path zone : entries.filter(p -> PACKAGE_ZONE.matcher(p.getFileName().toString()).matches()).sorted().toList()) {
                Path energy = zone.resolve("energy_uj");
                if (!Files.exists(energy)) {
                    continue;
                }
                if (!Files.isReadable(energy)) {
                    return new EnergyMeter(List.of(), energy + " is not readable (root only since CVE-2020-8694)");
                }
                long max = readLong(zone.resolve("max_energy_range_uj")).orElse(Long.MAX_VALUE);
                zones.add(new Zone(energy, max));
            }
        } catch (IOException e) {
            return new EnergyMeter(List.of(), "cannot list " + powercap + ": " + e.getMessage());
        }
        if (zones.isEmpty()) {
            return new EnergyMeter(List.of(), "no intel-rapl package zone with energy_uj under " + powercap);
        }
        EnergyMeter meter = new EnergyMeter(zones, null);
        try {
            meter.read();
        } catch (IllegalStateException e) {
            return new EnergyMeter(List.of(), e.getMessage());
        }
        return meter;
    }

    public boolean available() {
        return unavailableReason == null;
    }

    /** Why energy cannot be measured; empty when it can. */
    public Optional<String> unavailableReason() {
        return Optional.ofNullable(unavailableReason);
    }

    /**
     * @throws IllegalStateException when the meter is unavailable or a counter cannot be read
     */
    public Reading read() {
        if (!available()) {
            throw new IllegalStateException("energy unavailable: " + unavailableReason);
        }
        long[] v = new long[zones.size()];
        for (int i = 0; i < v.length; i++) {
            Path p = zones.get(i).energy();
            v[i] = readLong(p).orElseThrow(() -> new IllegalStateException("cannot read " + p));
        }
        return new Reading(v);
    }

    /** Joules between two readings of this meter, with at most one wrap per zone. */
    public double joulesBetween(Reading start, Reading end) {
        long total = 0;
        for (int i = 0; i < zones.size(); i++) {
            total += delta(start.microjoules()[i], end.microjoules()[i], zones.get(i).maxRange());
        }
        return total * 1e-6;
    }

    /** Microjoules counted from {@code e0} to {@code e1} on a counter that wraps after {@code maxRange}. */
    static long delta(long e0, long e1, long maxRange) {
        return e1 >= e0 ? e1 - e0 : e1 + (maxRange - e0);
    }

    private static Optional<Long> readLong(Path p) {
        try {
            return Optional.of(Long.parseLong(Files.readString(p).trim()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
