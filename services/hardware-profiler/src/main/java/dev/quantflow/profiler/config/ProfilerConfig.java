package dev.quantflow.profiler.config;

import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Configuration of the hardware profiler ({@code quantflow.profiler.*}). */
@ConfigMapping(prefix = "quantflow.profiler")
public interface ProfilerConfig {

    /**
     * The hardware class this pool serves; it consumes {@code quantflow.profile.requested.<class>}. Unset = derived
     * from this host's CPU features ({@code HardwareFeatures.hardwareClass()}, e.g. {@code x86-avx2}).
     */
    Optional<String> hardwareClass();

    /** Whether peak memory is measured in a child JVM for every profile (a few seconds each). */
    @WithDefault("true")
    boolean measureMemory();

    /** Upper bound on the timed runs a request may ask for, so one request cannot hold the pool for long. */
    @WithDefault("500")
    int maxMeasuredRuns();
}
