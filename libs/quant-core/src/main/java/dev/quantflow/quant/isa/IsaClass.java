package dev.quantflow.quant.isa;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A CPU's best integer path, the hardware class of quantflow: the hardware-profiler's pools are named by it
 * ({@code quantflow.profile.requested.<class>}, {@code --profile-on x86-avx2,…}) and the quantizers choose their
 * recipe by it ({@link IsaRecipe}). {@link #of} picks the best class a CPU's flags allow; on x86 AMX beats
 * AVX512-VNNI beats AVX-VNNI beats AVX-512 beats AVX2.
 */
public enum IsaClass {
    /** x86 without AVX2. */
    X86_SSE("x86-sse", true),
    /** AVX2 without VNNI (Haswell … Comet Lake, Zen 1-3): u8·s8 through {@code vpmaddubsw}, int16 pair sums. */
    X86_AVX2("x86-avx2", true),
    /** AVX-512 without VNNI (Skylake-SP): {@code vpmaddubsw} on 512 bits, same int16 pair sums. */
    X86_AVX512("x86-avx512", true),
    /** AVX-512 VNNI (Cascade Lake and later, Zen 4/5): {@code vpdpbusd} u8·s8 straight into int32. */
    X86_AVX512_VNNI("x86-avx512-vnni", true),
    /** AVX-VNNI without AVX-512 (Alder Lake client cores): {@code vpdpbusd} on 256 bits. */
    X86_AVX_VNNI("x86-avx-vnni", true),
    /** AMX tiles for INT8 (Sapphire Rapids and later): {@code tdpbusd} into int32 tiles. */
    X86_AMX("x86-amx", true),
    /** ARMv8 NEON without the dot-product extension. */
    ARM64_NEON("arm64-neon", false),
    /** ARMv8.2 dot product ({@code asimddp}: {@code sdot}/{@code udot}). */
    ARM64_DOTPROD("arm64-dotprod", false),
    /** ARMv8.6 int8 matrix multiply ({@code i8mm}: {@code smmla}/{@code usmmla}). */
    ARM64_I8MM("arm64-i8mm", false),
    /** Any other architecture: no integer kernel is assumed. */
    GENERIC("generic", false);

    private final String id;
    private final boolean x86;

    IsaClass(String id, boolean x86) {
        this.id = id;
        this.x86 = x86;
    }

    /** The class name on the wire and in reports, e.g. {@code x86-avx512-vnni}. */
    public String id() {
        return id;
    }

    public boolean isX86() {
        return x86;
    }

    public boolean isArm64() {
        return this == ARM64_NEON || this == ARM64_DOTPROD || this == ARM64_I8MM;
    }

    /** Whether x86 u8·s8 products reach int32 without the int16 pair sum of {@code vpmaddubsw}. */
    public boolean hasVnni() {
        return this == X86_AVX512_VNNI || this == X86_AVX_VNNI || this == X86_AMX;
    }

    /** The best class {@code cpu}'s flags allow. */
    public static IsaClass of(CpuFeatures cpu) {
        if (cpu.isX86()) {
            if (cpu.has("amx_int8")) {
                return X86_AMX;
            }
            if (cpu.has("avx512_vnni")) {
                return X86_AVX512_VNNI;
            }
            if (cpu.has("avx_vnni")) {
                return X86_AVX_VNNI;
            }
            if (cpu.has("avx512f")) {
                return X86_AVX512;
            }
            return cpu.has("avx2") ? X86_AVX2 : X86_SSE;
        }
        if (cpu.isArm64()) {
            if (cpu.has("i8mm")) {
                return ARM64_I8MM;
            }
            return cpu.has("asimddp") ? ARM64_DOTPROD : ARM64_NEON;
        }
        return GENERIC;
    }

    /**
     * The hardware-profiler pool a host serves: {@link #id()}, except that {@link #GENERIC} is named after the
     * architecture ({@code riscv64-generic}).
     */
    public static String poolName(CpuFeatures cpu) {
        IsaClass c = of(cpu);
        return c != GENERIC ? c.id : cpu.arch().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-") + "-generic";
    }

    /**
     * A class by its name: an {@link #id()}, {@code arm64} for {@link #ARM64_NEON}, or any {@code <arch>-generic}
     * pool name for {@link #GENERIC}; case and surrounding blanks are ignored.
     */
    public static Optional<IsaClass> byId(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        if (n.equals("arm64")) {
            return Optional.of(ARM64_NEON);
        }
        if (n.equals("generic") || n.endsWith("-generic")) {
            return Optional.of(GENERIC);
        }
        return Arrays.stream(values()).filter(c -> c.id.equals(n)).findFirst();
    }

    /**
     * {@link #byId}, or an {@link IllegalArgumentException} whose message names the known classes.
     */
    public static IsaClass parse(String name) {
        return byId(name).orElseThrow(() -> new IllegalArgumentException("unknown hardware class '" + name
            + "'; known: " + Arrays.stream(values()).filter(c -> c != GENERIC).map(IsaClass::id)
                .collect(Collectors.joining(", ")) + " (or <arch>-generic)"));
    }
}
