package dev.quantflow.quant.isa;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

class CpuFeaturesTest {

    static String sample(String name) {
        try (InputStream in = CpuFeaturesTest.class.getResourceAsStream("/cpuinfo/" + name)) {
            assertThat(in).as("test resource cpuinfo/%s", name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void anAvx2OnlyIntelHasNoVnniOrAvx512() {
        CpuFeatures cpu = CpuFeatures.parse(sample("intel-avx2.txt"), "amd64");
        assertThat(cpu.arch()).isEqualTo("x86_64");
        assertThat(cpu.model()).isEqualTo("Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz");
        assertThat(cpu.logicalCores()).isEqualTo(2);
        assertThat(cpu.flags()).containsExactlyInAnyOrder("avx2", "fma", "f16c");
        assertThat(IsaClass.of(cpu)).isEqualTo(IsaClass.X86_AVX2);
    }

    @Test
    void anEpycZen5HasAvx512VnniAndAvxVnni() {
        CpuFeatures cpu = CpuFeatures.parse(sample("epyc-zen5.txt"), "x86_64");
        assertThat(cpu.model()).isEqualTo("AMD EPYC 9B45");
        assertThat(cpu.flags()).contains("avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16")
            .doesNotContain("amx_int8", "sse2", "avx512_vp2intersect");
        assertThat(IsaClass.of(cpu)).as("AVX512-VNNI beats AVX-VNNI").isEqualTo(IsaClass.X86_AVX512_VNNI);
    }

    @Test
    void anArm64CoreListsItsFeaturesAndIsNamedFromItsPartNumber() {
        CpuFeatures v1 = CpuFeatures.parse(sample("neoverse-v1.txt"), "aarch64");
        assertThat(v1.model()).isEqualTo("Arm Neoverse V1");
        assertThat(v1.flags()).contains("asimd", "asimddp", "i8mm", "bf16", "sve", "svei8mm").doesNotContain("aes");
        assertThat(IsaClass.of(v1)).isEqualTo(IsaClass.ARM64_I8MM);

        CpuFeatures n1 = CpuFeatures.parse(sample("neoverse-n1.txt"), "arm64");
        assertThat(n1.arch()).isEqualTo("aarch64");
        assertThat(n1.model()).isEqualTo("Arm Neoverse N1");
        assertThat(n1.flags()).contains("asimddp").doesNotContain("i8mm");
        assertThat(IsaClass.of(n1)).isEqualTo(IsaClass.ARM64_DOTPROD);
    }

    @Test
    void flagsOfTheOtherArchitectureAreNotKept() {
        assertThat(CpuFeatures.parse(sample("neoverse-v1.txt"), "x86_64").flags()).isEmpty();
        assertThat(CpuFeatures.parse(sample("epyc-zen5.txt"), "riscv64").flags()).isEmpty();
    }

    @Test
    void anEmptyTextIsAnUnknownCpuWithoutFlags() {
        CpuFeatures cpu = CpuFeatures.parse("", "amd64");
        assertThat(cpu.model()).isEqualTo("unknown");
        assertThat(cpu.logicalCores()).isZero();
        assertThat(cpu.flags()).isEmpty();
        assertThat(IsaClass.of(cpu)).isEqualTo(IsaClass.X86_SSE);
        assertThat(CpuFeatures.parse("processor : 0\nFeatures : asimd\nCPU implementer : 0x51\nCPU part : 0x001\n",
            "aarch64").model()).isEqualTo("Arm implementer 0x51 part 0x001");
    }

    @Test
    void theHostIsReadFromProcCpuinfo() throws IOException {
        Path proc = Path.of("/proc/cpuinfo");
        CpuFeatures host = CpuFeatures.host();
        assertThat(host.logicalCores()).isPositive();
        if (Files.isReadable(proc)) {
            assertThat(host.flags()).isEqualTo(CpuFeatures.parse(Files.readString(proc), host.arch()).flags());
        }
    }
}
