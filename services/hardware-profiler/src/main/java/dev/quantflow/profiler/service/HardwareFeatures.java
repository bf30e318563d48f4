package dev.quantflow.profiler.service;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;

/**
 * What the host offers for quantized inference: the CPU's quantization-relevant ISA extensions (from
 * {@code /proc/cpuinfo}), its model name and logical core count, the OS and architecture, and the GPU as far as
 * ONNX Runtime and {@code nvidia-smi} can see it.
 *
 * <p>Only the flags that decide a format's speed are kept (see {@link #RELEVANT_X86} / {@link #RELEVANT_ARM}); the
 * verdicts built on them are in {@link NativeFormats}.
 *
 * @param cpuModel       {@code model name} on x86; on Arm the core named from {@code CPU implementer/part}
 * @param logicalCores   number of {@code processor} entries
 * @param os             operating system name
 * @param arch           {@code x86_64} or {@code aarch64} (other values are kept as reported)
 * @param cpuFlags       the relevant flags present, sorted
 * @param ortProviders   ONNX Runtime execution providers compiled into the loaded native library
 * @param gpu            the first NVIDIA GPU that {@code nvidia-smi} reports, if any
 */
public record HardwareFeatures(String cpuModel, int logicalCores, String os, String arch, Set<String> cpuFlags,
                               List<String> ortProviders, Optional<Gpu> gpu) {

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

    public HardwareFeatures {
        cpuFlags = Set.copyOf(new TreeSet<>(cpuFlags));
        ortProviders = List.copyOf(ortProviders);
    }

    /** An NVIDIA GPU as {@code nvidia-smi --query-gpu=name,compute_cap} reports it. */
    public record Gpu(String name, int ccMajor, int ccMinor) {
        /** Compute capability as a number, e.g. 86 for 8.6. */
        public int computeCapability() {
            return ccMajor * 10 + ccMinor;
        }

        @Override
        public String toString() {
            return name + " (compute capability " + ccMajor + "." + ccMinor + ")";
        }
    }

    public boolean isX86() {
        return arch.equals("x86_64") || arch.equals("amd64");
    }

    public boolean isArm64() {
        return arch.equals("aarch64") || arch.equals("arm64");
    }

    public boolean has(String flag) {
        return cpuFlags.contains(flag);
    }

    /** Whether ONNX Runtime here can run on an NVIDIA GPU (CUDA or TensorRT provider compiled in). */
    public boolean ortGpuProvider() {
        return ortProviders.stream().anyMatch(p -> p.startsWith("CUDA") || p.startsWith("TENSOR_RT"));
    }

    /** The GPU in words, {@code none} when there is none. */
    public String gpuDescription() {
        return gpu.map(Gpu::toString).orElse("none");
    }

    /**
     * The profiler pool this host serves, named by its best integer path: {@code x86-amx}, {@code x86-avx512-vnni},
     * {@code x86-avx-vnni}, {@code x86-avx512}, {@code x86-avx2}, {@code x86-sse}, {@code arm64-i8mm},
     * {@code arm64-dotprod}, {@code arm64-neon}, else {@code <arch>-generic}. The profiler itself runs on the CPU,
     * so a GPU does not change the class.
     */
    public String hardwareClass() {
        if (isX86()) {
            if (has("amx_int8")) {
                return "x86-amx";
            }
            if (has("avx512_vnni")) {
                return "x86-avx512-vnni";
            }
            if (has("avx_vnni")) {
                return "x86-avx-vnni";
            }
            if (has("avx512f")) {
                return "x86-avx512";
            }
            return has("avx2") ? "x86-avx2" : "x86-sse";
        }
        if (isArm64()) {
            if (has("i8mm")) {
                return "arm64-i8mm";
            }
            return has("asimddp") ? "arm64-dotprod" : "arm64-neon";
        }
        return arch.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-") + "-generic";
    }

    /** Formats that run natively, with limits, emulated or not at all here. */
    public List<NativeFormats.Verdict> nativeFormats() {
        return NativeFormats.of(this);
    }

    /** Detects this host: {@code /proc/cpuinfo}, {@code os.name}/{@code os.arch}, ORT providers, nvidia-smi. */
    public static HardwareFeatures detect() {
        String cpuinfo;
        try {
            cpuinfo = Files.readString(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            cpuinfo = "";
        }
        String arch = normalizeArch(System.getProperty("os.arch", ""));
        CpuInfo cpu = parseCpuInfo(cpuinfo, arch);
        int cores = cpu.logicalCores() > 0 ? cpu.logicalCores() : Runtime.getRuntime().availableProcessors();
        return new HardwareFeatures(cpu.model(), cores, System.getProperty("os.name", "") + " "
            + System.getProperty("os.version", ""), arch, cpu.flags(), detectOrtProviders(), nvidiaGpu());
    }

    /** The CPU part of a {@code /proc/cpuinfo} text. */
    public record CpuInfo(String model, int logicalCores, Set<String> flags) {
    }

    /**
     * Parses a {@code /proc/cpuinfo} text: x86 lists ISA extensions under {@code flags}, Arm under {@code Features};
     * the first processor's list is taken (Linux reports the same features on every core). Only the flags in
     * {@link #RELEVANT_X86} or {@link #RELEVANT_ARM} (by {@code arch}) are kept.
     */
    public static CpuInfo parseCpuInfo(String text, String arch) {
        String model = null;
        String implementer = null;
        String part = null;
        List<String> rawFlags = null;
        int processors = 0;
        for (String line : text.split("\n")) {
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
        List<String> relevant = normalizeArch(arch).equals("aarch64") ? RELEVANT_ARM : RELEVANT_X86;
        Set<String> flags = new LinkedHashSet<>();
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
        return new CpuInfo(model == null ? "unknown" : model, processors, flags);
    }

    /** {@code amd64} → {@code x86_64}, {@code arm64} → {@code aarch64}. */
    public static String normalizeArch(String arch) {
        return switch (arch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64", "x86-64" -> "x86_64";
            case "arm64", "aarch64" -> "aarch64";
            default -> arch;
        };
    }

    static List<String> detectOrtProviders() {
        try {
            List<String> out = new ArrayList<>();
            for (OrtProvider p : OrtEnvironment.getAvailableProviders()) {
                out.add(p.name());
            }
            out.sort(null);
            return out;
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return List.of();
        }
    }

    /** The first GPU of {@code nvidia-smi}, or empty when it is not installed or fails. */
    static Optional<Gpu> nvidiaGpu() {
        try {
            Process p = new ProcessBuilder("nvidia-smi", "--query-gpu=name,compute_cap", "--format=csv,noheader")
                .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.empty();
            }
            return p.exitValue() == 0 ? parseNvidiaSmi(out) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** Parses the first line of {@code nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader}. */
    public static Optional<Gpu> parseNvidiaSmi(String csv) {
        for (String line : csv.split("\n")) {
            int comma = line.lastIndexOf(',');
            if (comma < 0) {
                continue;
            }
            String name = line.substring(0, comma).trim();
            String[] cc = line.substring(comma + 1).trim().split("\\.");
            try {
                return Optional.of(new Gpu(name, Integer.parseInt(cc[0]), cc.length > 1 ? Integer.parseInt(cc[1]) : 0));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }
}
