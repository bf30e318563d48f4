package dev.quantflow.quant.isa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import dev.quantflow.quant.qdq.ActivationType;

class IsaRecipeTest {

    @ParameterizedTest(name = "{0}: {1}-bit weights, {2} activations")
    @CsvSource({
        "x86-sse,          7, u8, no VNNI",
        "x86-avx2,         7, u8, no VNNI",
        "x86-avx512,       7, u8, no VNNI",
        "x86-avx512-vnni,  8, u8, VNNI",
        "x86-avx-vnni,     8, u8, VNNI",
        "x86-amx,          8, u8, AMX",
        "arm64-neon,       8, u8, NEON",
        "arm64-dotprod,    8, s8, dotprod",
        "arm64-i8mm,       8, s8, i8mm",
        "riscv64-generic,  7, u8, generic"})
    void eachClassGetsItsWeightRangeAndActivationType(String hardwareClass, int bits, String activations, String note) {
        IsaRecipe r = IsaRecipe.resolve(hardwareClass, CpuFeatures.parse("", "amd64"));
        assertThat(r.source()).isEqualTo(IsaRecipe.SOURCE_TARGET);
        assertThat(r.weightBits()).isEqualTo(bits);
        assertThat(r.weightMax()).isEqualTo(bits == 7 ? 64 : 127);
        assertThat(r.reduceRangeWeights()).isEqualTo(bits == 7);
        assertThat(r.activationLabel()).isEqualTo(activations);
        assertThat(r.activationType()).isEqualTo(activations.equals("s8") ? ActivationType.INT8 : ActivationType.UINT8);
        assertThat(r.reasons()).hasSize(2);
        assertThat(r.reasons().get(0)).startsWith(bits + "-bit weights (|code| ≤ " + r.weightMax() + "): ");
        assertThat(r.reasons().get(1)).startsWith(activations + " activations: ");
        assertThat(r.headline()).isEqualTo("recipe made for " + r.isaClass().id() + ": " + bits + "-bit weights (" + note
            + "), " + activations + " activations");
    }

    @Test
    void theReasonsGiveTheNumbersAndFlags() {
        IsaRecipe avx2 = IsaRecipe.forTarget(IsaClass.X86_AVX2);
        assertThat(avx2.reasons().get(0)).contains("x86-avx2 has no VNNI", "2·255·127 = 64770 > 32767", "2·255·64 = 32640");
        IsaRecipe vnni = IsaRecipe.forTarget(IsaClass.X86_AVX512_VNNI);
        assertThat(vnni.reasons().get(0)).contains("avx512_vnni (vpdpbusd)", "int32");
        assertThat(vnni.flags()).containsExactly("avx512_vnni");
        assertThat(vnni.headline()).isEqualTo("recipe made for x86-avx512-vnni: 8-bit weights (VNNI), u8 activations");
        assertThat(IsaRecipe.forTarget(IsaClass.ARM64_DOTPROD).reasons().get(1)).contains("sdot", "s8 × s8");
    }

    @Test
    void anAmxXeonGetsTheAmxRecipeWithTheMeasuredReasonForU8() {
        // the flags line of the Sapphire-Rapids-class Xeon the issue 15 measurements ran on (abridged)
        CpuFeatures xeon = CpuFeatures.parse("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu "
            + "sse2 avx avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni avx_vnni avx512_bf16 avx512_fp16 amx_bf16 "
            + "amx_tile amx_int8\nprocessor\t: 1\n", "amd64");
        IsaRecipe r = IsaRecipe.forHost(xeon);
        assertThat(r.isaClass()).isEqualTo(IsaClass.X86_AMX);
        assertThat(IsaClass.poolName(xeon)).isEqualTo("x86-amx");
        assertThat(r.weightBits()).isEqualTo(8);
        assertThat(r.activationType()).isEqualTo(ActivationType.UINT8);
        assertThat(r.headline()).isEqualTo("recipe made for x86-amx: 8-bit weights (AMX), u8 activations");
        assertThat(r.reasons().get(0)).contains("amx_int8 (tdpbusd)");
        assertThat(r.reasons().get(1)).contains("tdpbusd", "no s8·s8 integer GEMM", "0.08–0.17× fp32");
        // every x86 class says why not s8; the Arm classes that choose s8 do not carry the x86 measurement
        for (IsaClass c : IsaClass.values()) {
            if (c.isX86()) {
                assertThat(IsaRecipe.forTarget(c).reasons().get(1)).endsWith(IsaRecipe.X86_ACTIVATION_MEASURED);
            } else {
                assertThat(IsaRecipe.forTarget(c).reasons().get(1)).doesNotContain("MatMulInteger");
            }
        }
    }

    @Test
    void withoutATargetTheHostDecides() {
        CpuFeatures zen5 = new CpuFeatures("x86_64", "AMD EPYC 9B45", 2, Set.of("avx2", "avx512f", "avx512_vnni", "avx_vnni"));
        IsaRecipe r = IsaRecipe.resolve("  ", zen5);
        assertThat(r.source()).isEqualTo(IsaRecipe.SOURCE_HOST);
        assertThat(r.isaClass()).isEqualTo(IsaClass.X86_AVX512_VNNI);
        assertThat(r.cpuModel()).isEqualTo("AMD EPYC 9B45");
        assertThat(r.flags()).containsExactly("avx2", "avx512_vnni", "avx512f", "avx_vnni");
        assertThat(r.weightBits()).isEqualTo(8);
        IsaRecipe avx2Host = IsaRecipe.resolve(null, new CpuFeatures("x86_64", "Intel Xeon", 2, Set.of("avx2", "fma")));
        assertThat(avx2Host.weightBits()).isEqualTo(7);
        assertThat(IsaRecipe.resolve("", new CpuFeatures("riscv64", "unknown", 1, Set.of())).reasons().get(0))
            .contains("riscv64");
    }

    @Test
    void aUserChoiceWinsAndSaysSo() {
        IsaRecipe r = IsaRecipe.forTarget(IsaClass.X86_AVX512_VNNI).withReduceRangeWeights(true)
            .withActivationType(ActivationType.INT8, "s8 activations: set by the recipe (activationType = int8)");
        assertThat(r.weightBits()).isEqualTo(7);
        assertThat(r.reduceRangeWeights()).isTrue();
        assertThat(r.activationType()).isEqualTo(ActivationType.INT8);
        assertThat(r.reasons()).containsExactly("7-bit weights (|code| ≤ 64): set by the recipe (reduceRangeWeights = true)",
            "s8 activations: set by the recipe (activationType = int8)");
        assertThat(r.headline()).isEqualTo("recipe made for x86-avx512-vnni: 7-bit weights (set by the recipe), s8 activations");
        IsaRecipe full = IsaRecipe.forTarget(IsaClass.X86_AVX2).withReduceRangeWeights(false);
        assertThat(full.weightMax()).isEqualTo(127);
        IsaRecipe w4 = IsaRecipe.forTarget(IsaClass.X86_AVX2).withWeightBits(4, "4-bit weights: set by the recipe");
        assertThat(w4.weightMax()).isEqualTo(7);
        assertThat(w4.reduceRangeWeights()).isFalse();
    }

    @Test
    void anUnknownClassIsRefusedWithTheKnownOnes() {
        assertThatThrownBy(() -> IsaRecipe.resolve("x86-avx3", CpuFeatures.parse("", "amd64")))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("'x86-avx3'").hasMessageContaining("x86-avx2").hasMessageContaining("arm64-i8mm");
    }

    @Test
    void classNamesAreTheProfilerPoolNames() {
        assertThat(IsaClass.byId(" X86-AVX512-VNNI ")).contains(IsaClass.X86_AVX512_VNNI);
        assertThat(IsaClass.byId("arm64")).contains(IsaClass.ARM64_NEON);
        assertThat(IsaClass.poolName(new CpuFeatures("riscv64", "x", 1, Set.of()))).isEqualTo("riscv64-generic");
        assertThat(IsaClass.poolName(new CpuFeatures("x86_64", "x", 1, Set.of("amx_int8", "avx512_vnni"))))
            .isEqualTo("x86-amx");
        for (IsaClass c : IsaClass.values()) {
            assertThat(IsaClass.parse(c.id())).isEqualTo(c);
            assertThat(c.id()).matches("[a-z0-9][a-z0-9-]{0,62}");
        }
    }
}
