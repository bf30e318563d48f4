package dev.quantflow.profiler.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RAPL reading on a powercap tree laid out like sysfs in a temporary folder. */
class EnergyMeterTest {

    @TempDir
    Path powercap;

    private void zone(String name, long energy, long maxRange) throws IOException {
        Path z = Files.createDirectories(powercap.resolve(name));
        Files.writeString(z.resolve("energy_uj"), energy + "\n");
        Files.writeString(z.resolve("max_energy_range_uj"), maxRange + "\n");
    }

    private void set(String name, long energy) throws IOException {
        Files.writeString(powercap.resolve(name).resolve("energy_uj"), energy + "\n");
    }

    @Test
    void sumsPackageZonesAndIgnoresSubZones() throws IOException {
        zone("intel-rapl:0", 1_000_000, 262_143_328_850L);
        zone("intel-rapl:1", 5_000_000, 262_143_328_850L);
        zone("intel-rapl:0:0", 400_000, 262_143_328_850L);
        EnergyMeter meter = EnergyMeter.at(powercap);
        assertThat(meter.available()).isTrue();
        EnergyMeter.Reading start = meter.read();
        set("intel-rapl:0", 3_500_000);
        set("intel-rapl:1", 6_000_000);
        set("intel-rapl:0:0", 99_000_000);
        // (3.5 - 1.0) + (6.0 - 5.0) J; the core sub-zone is part of package 0.
        assertThat(meter.joulesBetween(start, meter.read())).isCloseTo(3.5, within(1e-9));
    }

    @Test
    void aCounterThatWrappedCountsUpToItsRange() throws IOException {
        zone("intel-rapl:0", 999_000, 1_000_000);
        EnergyMeter meter = EnergyMeter.at(powercap);
        EnergyMeter.Reading start = meter.read();
        set("intel-rapl:0", 500);
        // 1000 µJ to the wrap point, then 500 µJ after it.
        assertThat(meter.joulesBetween(start, meter.read())).isCloseTo(1500e-6, within(1e-12));
        assertThat(EnergyMeter.delta(10, 25, 100)).isEqualTo(15);
        assertThat(EnergyMeter.delta(90, 5, 100)).isEqualTo(15);
    }

    @Test
    void missingPowercapIsUnavailableWithAReason() {
        EnergyMeter meter = EnergyMeter.at(powercap.resolve("absent"));
        assertThat(meter.available()).isFalse();
        assertThat(meter.unavailableReason()).get().asString().contains("does not exist");
        assertThatThrownBy(meter::read).isInstanceOf(IllegalStateException.class).hasMessageContaining("unavailable");
    }

    @Test
    void folderWithoutPackageZonesIsUnavailable() throws IOException {
        Files.createDirectories(powercap.resolve("dtpm"));
        assertThat(EnergyMeter.at(powercap).unavailableReason()).get().asString().contains("no intel-rapl package zone");
    }

    @Test
    void unreadableCounterIsUnavailable() throws IOException {
        zone("intel-rapl:0", 1, 100);
        Path energy = powercap.resolve("intel-rapl:0").resolve("energy_uj");
        Files.writeString(energy, "not a number");
        assertThat(EnergyMeter.at(powercap).available()).isFalse();
    }
}
