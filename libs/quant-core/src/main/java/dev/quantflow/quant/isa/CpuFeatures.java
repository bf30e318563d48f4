package dev.quantflow.quant.isa;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The CPU as far as quantized inference cares: its architecture, model name, logical core count and the ISA
 * extensions that decide which integer kernels run (from {@code /proc/cpuinfo} on Linux). The one reader of CPU
 * flags in quantflow: the quantizer pools choose their recipe from it ({@link IsaClass}, {@link IsaRecipe}) and the
 * hardware-profiler names its pool and judges formats with it.
 *
 * <p>Only the flags in {@link #RELEVANT_X86} / {@link #RELEVANT_ARM} are kept, so two hosts of one class compare
 * equal whatever else their CPUs list.
 *
 * @param arch         {@code x86_64} or {@code aarch64} ({@link #normalizeArch}); other values are kept as reported
 * @param model        {@code model name} on x86; on Arm the core named from {@code CPU implementer/part};
 *                     {@code unknown} when neither is there
 * @param logicalCores number of {@code processor} entries (0 when the text has none)
 * @param flags        the relevant flags present, sorted
 */
public record CpuFeatures(String arch, String model, int logicalCores, Set<String> flags) {

    /** x86 flags (Linux names) that change which quantized formats run fast. */
    public static final List<String> RELEVANT_X86 = List.of("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
        "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "avx512_fp16");
    /** Arm flags (Linux names): NEON, dot product, int8 matrix multiply, bf16, fp16 arithmetic, SVE. */
    public static final List<String> RELEVANT_ARM = List.of("asimd", "asimddp", "i8mm", "bf16", "asimdhp", "fphp",
        "sve", "sve2", "svei8mm", "svebf16");

    /** Arm cores by (implementer, part) as {@code /proc/cpuinfo} numbers them (Arm Ltd = 0x41). */
    private static final Map<String, String> ARM_PARTS = Map.ofEntries(
        Map.entry("0x41:0xd08", "Arm Cortex-A72"),
        Map.entry("0x41:0xd0b", "Arm Cortex-A76"),
        Map.entry("0x41:0xd0c", "Arm Neoverse N1"),
        Map.entry("0x41:0xd40", "Arm Neoverse V1"),
        Map.entry("0x41:0xd49", "Arm Neoverse N2"),
        Map.entry("0x41:0xd4f", "Arm Neoverse V2"),
        Map.entry("0x41:0xd8e", "Arm Neoverse N3"),
        Map.entry("0x61:0x022", "Apple M1 (Icestorm/Firestorm)"));

    private static volatile CpuFeatures host;

    public CpuFeatures {
        flags = Set.copyOf(new TreeSet<>(flags));
    }

    public boolean isX86() {
        return arch.equals("x86_64");
    }

    public boolean isArm64() {
        return arch.equals("aarch64");
    }

    public boolean has(String flag) {
        return flags.contains(flag);
    }

    /** The flags sorted, as a list (for JSON and reports). */
    public List<String> sortedFlags() {
        return List.copyOf(new TreeSet<>(flags));
    }

    /**
     * This host, read once: {@code /proc/cpuinfo} (empty where it does not exist, e.g. macOS: then no flags) and
     * {@code os.arch}. The core count falls back to {@link Runtime#availableProcessors()}.
     */
    public static CpuFeatures host() {
        CpuFeatures h = host;
        if (h == null) {
            String cpuinfo;
            try {
                cpuinfo = Files.readString(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8);
            } catch (IOException | SecurityException e) {
                cpuinfo = "";
            }
            CpuFeatures parsed = parse(cpuinfo, System.getProperty("os.arch", ""));
            h = parsed.logicalCores() > 0 ? parsed
                : new CpuFeatures(parsed.arch(), parsed.model(), Runtime.getRuntime().availableProcessors(), parsed.flags());
            host = h;
        }
        return h;
    }

    /**
     * Parses a {@code /proc/cpuinfo} text: x86 lists ISA extensions under {@code flags}, Arm under {@code Features};
     * the first processor's list is taken (Linux reports the same features on every core). Only the flags relevant
     * to {@code arch} are kept.
     *
     * @param arch as {@code os.arch} or {@code uname -m} says it ({@code amd64}, {@code x86_64}, {@code aarch64}, …)
     */
    public static CpuFeatures parse(String cpuinfo, String arch) {
        String model = null;
        String implementer = null;
        String part = null;
        List<String> rawFlags = null;
        int processors = 0;
        for (String line : cpuinfo.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            switch (key) {
                case "processor" -> processors++;
                case "model name" -> model = model == null ? value : model;
                case "CPU implementer" -> implementer = implementer == null ? value : implementer;
                case "CPU part" -> part = part == null ? value : part;
                case "flags", "Features" -> rawFlags = rawFlags == null ? Arrays.asList(value.split("\\s+")) : rawFlags;
                default -> {
                }
            }
        }
        String normalized = normalizeArch(arch);
        List<String> relevant = normalized.equals("aarch64") ? RELEVANT_ARM : normalized.equals("x86_64") ? RELEVANT_X86
            : List.of();
        Set<String> flags = new TreeSet<>();
        if (rawFlags != null) {
            for (String f : rawFlags) {
                if (relevant.contains(f)) {
                    flags.add(f);
                }
            }
        }
        if (model == null && implementer != null && part != null) {
            model = ARM_PARTS.getOrDefault(implementer.toLowerCase(Locale.ROOT) + ":" + part.toLowerCase(Locale.ROOT),
                "Arm implementer " + implementer + " part " + part);
        }
        return new CpuFeatures(normalized, model == null ? "unknown" : model, processors, flags);
    }

    /** {@code amd64} → {@code x86_64}, {@code arm64} → {@code aarch64}; others unchanged. */
    public static String normalizeArch(String arch) {
        return switch (arch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64", "x86-64" -> "x86_64";
            case "arm64", "aarch64" -> "aarch64";
            default -> arch;
        };
    }
}
