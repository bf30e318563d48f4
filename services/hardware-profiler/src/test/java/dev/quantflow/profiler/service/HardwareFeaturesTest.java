package dev.quantflow.profiler.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import dev.quantflow.profiler.service.NativeFormats.Level;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.profiler.service.NativeFormats.Verdict;

class HardwareFeaturesTest {

    private static HardwareFeatures host(String cpuinfo, String arch, Optional<HardwareFeatures.Gpu> gpu, List<String> providers) {
        CpuFeatures cpu = CpuFeatures.parse(cpuinfo, arch);
        return new HardwareFeatures(cpu.model(), cpu.logicalCores(), "Linux", cpu.arch(), cpu.flags(), providers, gpu);
    }

    private static HardwareFeatures cpuOnly(String cpuinfo, String arch) {
        return host(cpuinfo, arch, Optional.empty(), List.of("CPU"));
    }

    private static Map<String, Verdict> byFormat(HardwareFeatures hw) {
        return hw.nativeFormats().stream().collect(Collectors.toMap(Verdict::format, Function.identity()));
    }

    @Test
    void zen3HasAvx2ButNoVnniSoInt8IsLimited() {
        HardwareFeatures hw = cpuOnly(CpuInfoSamples.ZEN3, "amd64");
        assertThat(hw.cpuModel()).isEqualTo("AMD EPYC 7B13");
        assertThat(hw.logicalCores()).isEqualTo(2);
        assertThat(hw.arch()).isEqualTo("x86_64");
        assertThat(hw.cpuFlags()).containsExactlyInAnyOrder("avx2", "fma", "f16c");
        assertThat(hw.hardwareClass()).isEqualTo("x86-avx2");
        Map<String, Verdict> f = byFormat(hw);
        assertThat(f.get("int8").level()).isEqualTo(Level.LIMITED);
        assertThat(f.get("int8").note()).contains("vpmaddubsw").contains("7-bit");
        assertThat(f.get("int8-dynamic").level()).isEqualTo(Level.LIMITED);
        assertThat(f.get("bf16").level()).isEqualTo(Level.EMULATED);
        assertThat(f.get("fp16").level()).isEqualTo(Level.EMULATED);
        assertThat(f.get("fp16").note()).contains("F16C");
        assertThat(f.get("int4-weight-only").level()).isEqualTo(Level.NATIVE);
        assertThat(f).doesNotContainKey("cuda-int8");
        assertThat(hw.gpuDescription()).isEqualTo("none");
    }

    @Test
    void sapphireRapidsRunsInt8Bf16AndFp16Natively() {
        HardwareFeatures hw = cpuOnly(CpuInfoSamples.SAPPHIRE_RAPIDS, "x86_64");
        assertThat(hw.cpuModel()).startsWith("Intel(R) Xeon(R) Platinum 8481C");
        assertThat(hw.cpuFlags()).contains("avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
            "amx_tile", "amx_int8", "amx_bf16").doesNotContain("avx512ifma", "gfni");
        assertThat(hw.hardwareClass()).isEqualTo("x86-amx");
        Map<String, Verdict> f = byFormat(hw);
        assertThat(f.get("int8").level()).isEqualTo(Level.NATIVE);
        assertThat(f.get("int8").note()).contains("AMX");
        assertThat(f.get("bf16").level()).isEqualTo(Level.NATIVE);
        assertThat(f.get("bf16").note()).contains("AMX-BF16");
        assertThat(f.get("fp16").level()).isEqualTo(Level.NATIVE);
        assertThat(f.get("int4-weight-only").note()).contains("VNNI");
    }

    @Test
    void eachVnniFlavourAloneMakesInt8Native() {
        String base = "processor : 0\nmodel name : x\nflags : sse avx2 fma f16c %s\n";
        assertThat(cpuOnly(base.formatted("avx_vnni"), "amd64").hardwareClass()).isEqualTo("x86-avx-vnni");
        assertThat(byFormat(cpuOnly(base.formatted("avx_vnni"), "amd64")).get("int8").level()).isEqualTo(Level.NATIVE);
        assertThat(cpuOnly(base.formatted("avx512f avx512_vnni"), "amd64").hardwareClass()).isEqualTo("x86-avx512-vnni");
        // AVX-512 without VNNI (Skylake-SP) is still the saturating u8×s8 path.
        HardwareFeatures skylake = cpuOnly(base.formatted("avx512f avx512bw"), "amd64");
        assertThat(skylake.hardwareClass()).isEqualTo("x86-avx512");
        assertThat(byFormat(skylake).get("int8").level()).isEqualTo(Level.LIMITED);
        // BF16 from AVX512_BF16 alone (Cooper Lake), without AMX.
        assertThat(byFormat(cpuOnly(base.formatted("avx512f avx512_bf16"), "amd64")).get("bf16").level()).isEqualTo(Level.NATIVE);
        HardwareFeatures old = cpuOnly("processor : 0\nflags : sse sse2 sse4_2\n", "amd64");
        assertThat(old.hardwareClass()).isEqualTo("x86-sse");
        assertThat(byFormat(old).get("int4-weight-only").level()).isEqualTo(Level.EMULATED);
    }

    @Test
    void neoverseN1HasDotProductAndFp16ButNoBf16() {
        HardwareFeatures hw = cpuOnly(CpuInfoSamples.NEOVERSE_N1, "aarch64");
        assertThat(hw.cpuModel()).isEqualTo("Arm Neoverse N1");
        assertThat(hw.logicalCores()).isEqualTo(2);
        assertThat(hw.cpuFlags()).containsExactlyInAnyOrder("asimd", "asimddp", "asimdhp", "fphp");
        assertThat(hw.hardwareClass()).isEqualTo("arm64-dotprod");
        Map<String, Verdict> f = byFormat(hw);
        assertThat(f.get("int8").level()).isEqualTo(Level.NATIVE);
        assertThat(f.get("int8").note()).contains("sdot");
        assertThat(f.get("fp16").level()).isEqualTo(Level.NATIVE);
        assertThat(f.get("bf16").level()).isEqualTo(Level.EMULATED);
        assertThat(f.get("int4-weight-only").level()).isEqualTo(Level.NATIVE);
    }

    @Test
    void neoverseV1AddsI8mmBf16AndSve() {
        HardwareFeatures hw = cpuOnly(CpuInfoSamples.NEOVERSE_V1, "arm64");
        assertThat(hw.cpuModel()).isEqualTo("Arm Neoverse V1");
        assertThat(hw.cpuFlags()).contains("i8mm", "bf16", "sve", "svei8mm", "svebf16");
        assertThat(hw.hardwareClass()).isEqualTo("arm64-i8mm");
        assertThat(byFormat(hw).get("bf16").level()).isEqualTo(Level.NATIVE);
        assertThat(byFormat(hw).get("int8").note()).contains("smmla");
        // The same text read as x86 keeps no flag: Arm names are not x86 names.
        assertThat(CpuFeatures.parse(CpuInfoSamples.NEOVERSE_V1, "x86_64").flags()).isEmpty();
    }

    @Test
    void armWithoutDotProductIsLimited() {
        HardwareFeatures a72 = cpuOnly("processor : 0\nFeatures : fp asimd evtstrm crc32 cpuid\nCPU implementer : 0x41\n"
            + "CPU part : 0xd08\n", "aarch64");
        assertThat(a72.cpuModel()).isEqualTo("Arm Cortex-A72");
        assertThat(a72.hardwareClass()).isEqualTo("arm64-neon");
        assertThat(byFormat(a72).get("int8").level()).isEqualTo(Level.LIMITED);
        assertThat(byFormat(a72).get("int4-weight-only").level()).isEqualTo(Level.LIMITED);
        HardwareFeatures unknownPart = cpuOnly("processor : 0\nFeatures : asimd\nCPU implementer : 0x51\nCPU part : 0x001\n", "aarch64");
        assertThat(unknownPart.cpuModel()).isEqualTo("Arm implementer 0x51 part 0x001");
    }

    @Test
    void nvidiaSmiLineGivesNameAndComputeCapability() {
        assertThat(HardwareFeatures.parseNvidiaSmi("NVIDIA H100 80GB HBM3, 9.0\n"))
            .contains(new HardwareFeatures.Gpu("NVIDIA H100 80GB HBM3", 9, 0));
        assertThat(HardwareFeatures.parseNvidiaSmi("Tesla T4, 7.5\nTesla T4, 7.5\n"))
            .contains(new HardwareFeatures.Gpu("Tesla T4", 7, 5));
        assertThat(HardwareFeatures.parseNvidiaSmi("")).isEmpty();
        assertThat(HardwareFeatures.parseNvidiaSmi("NVIDIA-SMI has failed, because it could not communicate")).isEmpty();
    }

    @Test
    void gpuVerdictsFollowComputeCapabilityAndOrtProvider() {
        var t4 = byFormat(host(CpuInfoSamples.ZEN3, "amd64", Optional.of(new HardwareFeatures.Gpu("Tesla T4", 7, 5)),
            List.of("CPU", "CUDA")));
        assertThat(t4.get("cuda-int8").level()).isEqualTo(Level.NATIVE);
        assertThat(t4.get("cuda-int4-weight-only").level()).isEqualTo(Level.UNSUPPORTED);
        assertThat(t4.get("cuda-bf16").level()).isEqualTo(Level.UNSUPPORTED);
        assertThat(t4.get("cuda-int8").note()).doesNotContain("no CUDA");
        var a100NoProvider = host(CpuInfoSamples.ZEN3, "amd64", Optional.of(new HardwareFeatures.Gpu("NVIDIA A100", 8, 0)),
            List.of("CPU"));
        assertThat(a100NoProvider.ortGpuProvider()).isFalse();
        var a100 = byFormat(a100NoProvider);
        assertThat(a100.get("cuda-int4-weight-only").level()).isEqualTo(Level.NATIVE);
        assertThat(a100.get("cuda-fp8").level()).isEqualTo(Level.UNSUPPORTED);
        assertThat(a100.get("cuda-int4-weight-only").note()).contains("no CUDA/TensorRT provider");
        var pascal = byFormat(host(CpuInfoSamples.ZEN3, "amd64", Optional.of(new HardwareFeatures.Gpu("P4", 6, 1)), List.of("CUDA")));
        assertThat(pascal.get("cuda-int8").level()).isEqualTo(Level.LIMITED);
        // A GPU does not change the CPU pool's class.
        assertThat(a100NoProvider.hardwareClass()).isEqualTo("x86-avx2");
    }

    @Test
    void thePoolsClassIsTheOneTheQuantizersMakeTheirRecipeFor() {
        HardwareFeatures zen3 = cpuOnly(CpuInfoSamples.ZEN3, "amd64");
        assertThat(zen3.isaRecipe().isaClass().id()).isEqualTo(zen3.hardwareClass());
        assertThat(zen3.isaRecipe().headline()).isEqualTo("recipe made for x86-avx2: 7-bit weights (no VNNI), u8 activations");
        HardwareFeatures spr = cpuOnly(CpuInfoSamples.SAPPHIRE_RAPIDS, "x86_64");
        assertThat(spr.isaRecipe().isaClass().id()).isEqualTo("x86-amx");
        assertThat(spr.isaRecipe().weightBits()).isEqualTo(8);
        HardwareFeatures n1 = cpuOnly(CpuInfoSamples.NEOVERSE_N1, "aarch64");
        assertThat(n1.isaRecipe().headline()).isEqualTo("recipe made for arm64-dotprod: 8-bit weights (dotprod), s8 activations");
    }

    @Test
    void detectionOnThisHostIsConsistentWithItsOwnCpuinfo() throws Exception {
        HardwareFeatures hw = HardwareFeatures.detect();
        assertThat(hw.logicalCores()).isGreaterThanOrEqualTo(1);
        assertThat(hw.ortProviders()).contains("CPU");
        String text = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cpuinfo"));
        assertThat(hw.cpuFlags()).isEqualTo(CpuFeatures.parse(text, hw.arch()).flags());
        for (String flag : hw.cpuFlags()) {
            assertThat(text).containsPattern("\\b" + flag + "\\b");
        }
    }
}
