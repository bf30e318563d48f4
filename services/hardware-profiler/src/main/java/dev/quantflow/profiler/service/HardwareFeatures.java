package dev.quantflow.profiler.service;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.isa.IsaClass;
import dev.quantflow.quant.isa.IsaRecipe;

/**
 * What the host offers for quantized inference: the CPU's quantization-relevant ISA extensions (from
 * {@code /proc/cpuinfo}), its model name and logical core count, the OS and architecture, and the GPU as far as
 * ONNX Runtime and {@code nvidia-smi} can see it.
 *
 * <p>The CPU part comes from {@link CpuFeatures}, quantflow's one reader of CPU flags (only the flags that decide a
 * format's speed are kept); the verdicts built on them are in {@link NativeFormats}.
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
        return CpuFeatures.normalizeArch(arch).equals("x86_64");
    }

    public boolean isArm64() {
        return CpuFeatures.normalizeArch(arch).equals("aarch64");
    }

    /** The CPU part, as the quantizers read it. */
    public CpuFeatures cpu() {
        return new CpuFeatures(CpuFeatures.normalizeArch(arch), cpuModel, logicalCores, cpuFlags);
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
     * The profiler pool this host serves, named by its best integer path ({@link IsaClass#poolName}, the rule the
     * quantizers choose their recipe by): {@code x86-amx}, {@code x86-avx512-vnni}, {@code x86-avx-vnni},
     * {@code x86-avx512}, {@code x86-avx2}, {@code x86-sse}, {@code arm64-i8mm}, {@code arm64-dotprod},
     * {@code arm64-neon}, else {@code <arch>-generic}. The profiler itself runs on the CPU, so a GPU does not change
     * the class.
     */
    public String hardwareClass() {
        return IsaClass.poolName(cpu());
    }

    /** The INT8 recipe a quantizer makes for this host's class (what a model profiled here should be made with). */
    public IsaRecipe isaRecipe() {
        return IsaRecipe.forHost(cpu());
    }

    /** Formats that run natively, with limits, emulated or not at all here. */
    public List<NativeFormats.Verdict> nativeFormats() {
        return NativeFormats.of(this);
    }

    /** Detects this host: {@link CpuFeatures#host()}, {@code os.name}/{@code os.version}, ORT providers, nvidia-smi. */
    public static HardwareFeatures detect() {
        CpuFeatures cpu = CpuFeatures.host();
        return new HardwareFeatures(cpu.model(), cpu.logicalCores(), System.getProperty("os.name", "") + " "
            + System.getProperty("os.version", ""), cpu.arch(), cpu.flags(), detectOrtProviders(), nvidiaGpu());
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
