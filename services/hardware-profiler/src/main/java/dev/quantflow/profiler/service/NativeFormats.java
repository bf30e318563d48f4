package dev.quantflow.profiler.service;

import java.util.ArrayList;
import java.util.List;

/**
 * The hardware support matrix of the product spec, made precise per instruction-set extension: for each quantized
 * format, whether this host runs it with dedicated instructions ({@link Level#NATIVE}), with general vector
 * instructions and a caveat ({@link Level#LIMITED}), only by converting to fp32 ({@link Level#EMULATED}), or not at
 * all ({@link Level#UNSUPPORTED}).
 *
 * <p>The facts behind the rules (from the vendors' ISA references and ONNX Runtime's MLAS kernels):
 * <ul>
 *   <li>x86 INT8 GEMM/conv: the fast path is {@code vpdpbusd} (u8×s8 → s32 dot product of 4 pairs), from AVX-512
 *       VNNI (512-bit) or AVX-VNNI (256-bit, Alder Lake and later); AMX-INT8 tiles ({@code tdpbusd}) are faster still.
 *       With AVX2 only, MLAS uses {@code vpmaddubsw}, which sums two u8×s8 products into a saturating s16: with
 *       full-range 8-bit weights the pair sum can overflow (2·255·127 &gt; 32767), so weights are quantized to 7 bits
 *       ({@code reduce_range}) or results may saturate.</li>
 *   <li>x86 BF16 compute: {@code vdpbf16ps} (AVX512_BF16) or AMX-BF16 tiles. x86 FP16 compute: AVX512_FP16
 *       (Sapphire Rapids). F16C only converts fp16↔fp32 (storage halves, arithmetic stays fp32).</li>
 *   <li>4-bit weight-only ({@code com.microsoft.MatMulNBits}): MLAS has AVX2 kernels (dequantize blocks in
 *       registers), faster variants with AVX-512 and VNNI; on Arm NEON kernels, with an int8-compute path that needs
 *       the dot-product extension.</li>
 *   <li>Arm INT8: {@code sdot/udot} (asimddp, Armv8.2 dot product) is the fast path, {@code smmla} (i8mm) faster;
 *       without them NEON widening multiplies. BF16: {@code bfdot/bfmmla} (bf16). FP16 arithmetic: asimdhp.</li>
 *   <li>NVIDIA: INT8 tensor cores from Turing (compute capability 7.5; DP4A from 6.1), FP16 tensor cores from Volta
 *       (7.0), BF16 and 4-bit weight-only kernels from Ampere (8.0, the spec's "Ampere+ for 4-bit"), FP8 from Ada/Hopper
 *       (8.9). A GPU only counts for quantflow when ONNX Runtime has a GPU provider.</li>
 * </ul>
 * Microcontrollers (the spec's Arm Cortex-M, INT8 only via CMSIS-NN) and Apple's Core ML do not run this service
 * and are not classified here.
 */
public final class NativeFormats {

    /** How well a format runs on the host. */
    public enum Level { NATIVE, LIMITED, EMULATED, UNSUPPORTED }

    /** One format's verdict with the reason in words. */
    public record Verdict(String format, Level level, String note) {
    }

    public static final String FP32 = "fp32";
    public static final String INT8 = "int8";
    public static final String INT8_DYNAMIC = "int8-dynamic";
    public static final String BF16 = "bf16";
    public static final String FP16 = "fp16";
    public static final String INT4_WEIGHT_ONLY = "int4-weight-only";

    private NativeFormats() {
    }

    /** The verdicts for the CPU formats, then (when an NVIDIA GPU is present) for the GPU formats, prefixed {@code cuda-}. */
    public static List<Verdict> of(HardwareFeatures hw) {
        List<Verdict> out = new ArrayList<>();
        if (hw.isX86()) {
            x86(hw, out);
        } else if (hw.isArm64()) {
            arm(hw, out);
        } else {
            out.add(new Verdict(FP32, Level.NATIVE, "no quantized-format rules for architecture " + hw.arch()));
        }
        hw.gpu().ifPresent(gpu -> nvidia(gpu, hw.ortGpuProvider(), out));
        return List.copyOf(out);
    }

    private static void x86(HardwareFeatures hw, List<Verdict> out) {
        out.add(new Verdict(FP32, Level.NATIVE, hw.has("avx512f") ? "AVX-512 FMA" : hw.has("avx2") ? "AVX2/FMA" : "SSE"));
        Verdict int8;
        if (hw.has("amx_int8")) {
            int8 = new Verdict(INT8, Level.NATIVE, "AMX-INT8 tiles (tdpbusd) and AVX-512 VNNI");
        } else if (hw.has("avx512_vnni")) {
            int8 = new Verdict(INT8, Level.NATIVE, "AVX-512 VNNI (vpdpbusd, 512-bit)");
        } else if (hw.has("avx_vnni")) {
            int8 = new Verdict(INT8, Level.NATIVE, "AVX-VNNI (vpdpbusd, 256-bit)");
        } else if (hw.has("avx2")) {
            int8 = new Verdict(INT8, Level.LIMITED, "AVX2 without VNNI: u8×s8 via vpmaddubsw into saturating 16-bit sums; "
                + "quantize weights with reduced range (7-bit) to avoid overflow; gains over fp32 are modest (1.3× on the Fashion CNN at batch 256, docs/benchmarks.md)");
        } else {
            int8 = new Verdict(INT8, Level.EMULATED, "no AVX2: SSE integer kernels only, usually slower than fp32");
        }
        out.add(int8);
        out.add(new Verdict(INT8_DYNAMIC, int8.level(), int8.note() + "; plus per-run activation quantization"));
        if (hw.has("amx_bf16")) {
            out.add(new Verdict(BF16, Level.NATIVE, "AMX-BF16 tiles (tdpbf16ps)"));
        } else if (hw.has("avx512_bf16")) {
            out.add(new Verdict(BF16, Level.NATIVE, "AVX512_BF16 (vdpbf16ps)"));
        } else {
            out.add(new Verdict(BF16, Level.EMULATED, "no AVX512_BF16/AMX-BF16: bf16 is widened to fp32; saves memory, not time"));
        }
        if (hw.has("avx512_fp16")) {
            out.add(new Verdict(FP16, Level.NATIVE, "AVX512_FP16 arithmetic"));
        } else if (hw.has("f16c")) {
            out.add(new Verdict(FP16, Level.EMULATED, "F16C converts fp16↔fp32 only; arithmetic stays fp32"));
        } else {
            out.add(new Verdict(FP16, Level.EMULATED, "no F16C: fp16 converted in software"));
        }
        if (hw.has("avx2")) {
            String faster = hw.has("avx512_vnni") || hw.has("avx_vnni") ? "; VNNI int8-compute kernels available"
                : hw.has("avx512f") ? "; AVX-512 kernels available" : "";
            out.add(new Verdict(INT4_WEIGHT_ONLY, Level.NATIVE, "ONNX Runtime MatMulNBits AVX2 kernels" + faster));
        } else {
            out.add(new Verdict(INT4_WEIGHT_ONLY, Level.EMULATED, "no AVX2: 4-bit blocks dequantized to fp32 in scalar code"));
        }
    }

    private static void arm(HardwareFeatures hw, List<Verdict> out) {
        out.add(new Verdict(FP32, Level.NATIVE, hw.has("sve") ? "NEON and SVE" : "NEON"));
        Verdict int8;
        if (hw.has("i8mm")) {
            int8 = new Verdict(INT8, Level.NATIVE, "int8 matrix multiply (smmla/ummla) and dot product (sdot/udot)");
        } else if (hw.has("asimddp")) {
            int8 = new Verdict(INT8, Level.NATIVE, "dot product (sdot/udot)");
        } else if (hw.has("asimd")) {
            int8 = new Verdict(INT8, Level.LIMITED, "NEON widening multiplies, no dot product");
        } else {
            int8 = new Verdict(INT8, Level.EMULATED, "no NEON reported");
        }
        out.add(int8);
        out.add(new Verdict(INT8_DYNAMIC, int8.level(), int8.note() + "; plus per-run activation quantization"));
        out.add(hw.has("bf16")
            ? new Verdict(BF16, Level.NATIVE, "bfdot/bfmmla")
            : new Verdict(BF16, Level.EMULATED, "no bf16 extension: widened to fp32"));
        out.add(hw.has("asimdhp")
            ? new Verdict(FP16, Level.NATIVE, "half-precision NEON arithmetic (asimdhp)")
            : new Verdict(FP16, Level.EMULATED, "no asimdhp: converted to fp32"));
        out.add(hw.has("asimddp")
            ? new Verdict(INT4_WEIGHT_ONLY, Level.NATIVE, "ONNX Runtime MatMulNBits NEON kernels with int8 dot-product compute")
            : new Verdict(INT4_WEIGHT_ONLY, Level.LIMITED, "MatMulNBits NEON kernels with fp32 compute only"));
    }

    private static void nvidia(HardwareFeatures.Gpu gpu, boolean ortProvider, List<Verdict> out) {
        int cc = gpu.computeCapability();
        String via = ortProvider ? "" : " (but ONNX Runtime here has no CUDA/TensorRT provider, so quantflow cannot use it)";
        out.add(cc >= 75 ? new Verdict("cuda-int8", Level.NATIVE, "INT8 tensor cores" + via)
            : cc >= 61 ? new Verdict("cuda-int8", Level.LIMITED, "DP4A, no INT8 tensor cores" + via)
            : new Verdict("cuda-int8", Level.UNSUPPORTED, "compute capability below 6.1" + via));
        out.add(cc >= 70 ? new Verdict("cuda-fp16", Level.NATIVE, "FP16 tensor cores" + via)
            : cc >= 53 ? new Verdict("cuda-fp16", Level.LIMITED, "fp16 arithmetic without tensor cores" + via)
            : new Verdict("cuda-fp16", Level.EMULATED, "no fast fp16" + via));
        out.add(cc >= 80 ? new Verdict("cuda-bf16", Level.NATIVE, "BF16 tensor cores (Ampere+)" + via)
            : new Verdict("cuda-bf16", Level.UNSUPPORTED, "BF16 needs Ampere (8.0)" + via));
        out.add(cc >= 80 ? new Verdict("cuda-int4-weight-only", Level.NATIVE, "Ampere+ 4-bit weight-only kernels" + via)
            : new Verdict("cuda-int4-weight-only", Level.UNSUPPORTED, "4-bit kernels need Ampere (8.0) or newer" + via));
        out.add(cc >= 89 ? new Verdict("cuda-fp8", Level.NATIVE, "FP8 tensor cores (Ada/Hopper)" + via)
            : new Verdict("cuda-fp8", Level.UNSUPPORTED, "FP8 needs compute capability 8.9" + via));
    }
}
