package dev.quantflow.quant.isa;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

import dev.quantflow.quant.SymmetricWeightQuantizer;
import dev.quantflow.quant.qdq.ActivationType;

/**
 * The INT8 recipe decisions that depend on the CPU the model will run on, each with a one-line reason.
 *
 * <p><b>Weight range.</b> x86 CPUs without VNNI ({@link IsaClass#X86_SSE}, {@link IsaClass#X86_AVX2},
 * {@link IsaClass#X86_AVX512}) compute u8·s8 dot products with {@code (v)pmaddubsw}, which adds two adjacent products
 * into a <em>saturating</em> int16: {@code 2·255·127 = 64770 > 32767}, so full-range weights can saturate, while
 * 7-bit weights in [-64, 64] cannot ({@code 2·255·64 = 32640}). Those classes get 7-bit weights
 * ({@code reduce_range}). With AVX512-VNNI, AVX-VNNI or AMX ({@code vpdpbusd}, {@code tdpbusd}) the products go
 * straight into int32, and on arm64 two s8·s8 products fit an int16 even when paired ({@code 2·128·127 = 32512}):
 * those get full 8-bit weights in [-127, 127], one bit more precision for the same speed. An unknown architecture
 * gets the 7-bit range, which is exact on every kernel.
 *
 * <p><b>Activation type.</b> u8 on x86 (its integer instructions multiply unsigned activations by signed weights)
 * and on arm64 without dot-product instructions; s8 on arm64 with {@code asimddp} ({@code sdot}) or {@code i8mm}
 * ({@code smmla}), which multiply s8 × s8.
 *
 * <p>A value the user set in the recipe wins over the rule ({@link #withReduceRangeWeights},
 * {@link #withActivationType}); the reason then says so.
 *
 * @param isaClass       the class the recipe is made for
 * @param source         {@code target} (the recipe's {@code targetHardwareClass}) or {@code host} (this CPU)
 * @param cpuModel       the host CPU's model name when {@code source} is {@code host}, else null
 * @param flags          the flags the class was chosen from: the host's relevant flags, or the flag that defines the
 *                       target class
 * @param weightBits     7 (codes in [-64, 64]) or 8 ([-127, 127]); fewer for QAT's low-bit weights
 * @param weightMax      largest weight code magnitude
 * @param activationType u8 or s8 activations
 * @param weightNote     the short why of the weight range for the headline ({@code VNNI}, {@code no VNNI}, …)
 * @param reasons        one line per decision: the weight range first, then the activation type
 */
public record IsaRecipe(IsaClass isaClass, String source, String cpuModel, List<String> flags, int weightBits,
                        int weightMax, ActivationType activationType, String weightNote, List<String> reasons) {

    /**
     * What ONNX Runtime 1.29's CPU provider was measured to do with s8 activations on x86 (docs/benchmarks.md,
     * "ISA kernels", {@code bench/run-isa-probe.sh} and {@code bench/run-static-int8.sh --isa} on an Intel Xeon with
     * amx_int8, one thread): the s8·s8 {@code MatMulInteger} has no fast kernel (0.08–0.17× fp32, 40× slower than
     * u8·s8), s8 QDQ GEMMs run the u8·s8 kernels (same speed), and the s8 static CNN was 11–15% slower than u8.
     */
    static final String X86_ACTIVATION_MEASURED = "; with s8 activations ONNX Runtime 1.29 has no s8·s8 integer GEMM "
        + "on x86 (MatMulInteger s8·s8 measured 0.08–0.17× fp32 on an AMX Xeon, u8·s8 3.3–6.8×) and the s8 static CNN "
        + "ran 11–15% slower";

    public static final String SOURCE_TARGET = "target";
    public static final String SOURCE_HOST = "host";

    public IsaRecipe {
        Objects.requireNonNull(isaClass, "isaClass");
        Objects.requireNonNull(activationType, "activationType");
        flags = List.copyOf(flags);
        reasons = List.copyOf(reasons);
    }

    /**
     * The recipe for {@code targetHardwareClass} when it is set (not blank), else for this host.
     *
     * @throws IllegalArgumentException when the class is unknown (the message lists the known ones)
     */
    public static IsaRecipe resolve(String targetHardwareClass, CpuFeatures host) {
        if (targetHardwareClass != null && !targetHardwareClass.isBlank()) {
            return forTarget(IsaClass.parse(targetHardwareClass));
        }
        return forHost(host);
    }

    /**
     * {@link #resolve(String, CpuFeatures)} with the user's weight range, which wins when set.
     *
     * @param reduceRangeWeights the recipe's choice, or null for the rule's
     */
    public static IsaRecipe resolve(String targetHardwareClass, Boolean reduceRangeWeights, CpuFeatures host) {
        IsaRecipe r = resolve(targetHardwareClass, host);
        return reduceRangeWeights == null ? r : r.withReduceRangeWeights(reduceRangeWeights);
    }

    /**
     * {@link #resolve(String, Boolean, CpuFeatures)} with the user's activation type, which wins when set.
     *
     * @param activationType {@code uint8}, {@code int8}, or empty / null for the rule's
     * @throws IllegalArgumentException for an unknown class or activation type (the message says which are known)
     */
    public static IsaRecipe resolve(String targetHardwareClass, Boolean reduceRangeWeights, String activationType,
                                    CpuFeatures host) {
        IsaRecipe r = resolve(targetHardwareClass, reduceRangeWeights, host);
        String act = activationType == null ? "" : activationType.trim().toLowerCase(Locale.ROOT);
        return switch (act) {
            case "" -> r;
            case "uint8" -> r.withUserActivationType(ActivationType.UINT8, act);
            case "int8" -> r.withUserActivationType(ActivationType.INT8, act);
            default -> throw new IllegalArgumentException("activation type must be uint8 or int8 (or empty: per the "
                + "target ISA), not '" + activationType + "'");
        };
    }

    /** The recipe for a CPU of class {@code c} (the model is made for that class, wherever it is quantized). */
    public static IsaRecipe forTarget(IsaClass c) {
        return rule(c, SOURCE_TARGET, null, definingFlags(c), c == IsaClass.GENERIC ? "another architecture" : c.id());
    }

    /** The recipe for the CPU it is quantized on. */
    public static IsaRecipe forHost(CpuFeatures cpu) {
        IsaClass c = IsaClass.of(cpu);
        return rule(c, SOURCE_HOST, cpu.model(), cpu.sortedFlags(), c == IsaClass.GENERIC ? cpu.arch() : c.id());
    }

    private static IsaRecipe rule(IsaClass c, String source, String cpuModel, List<String> flags, String where) {
        boolean reduce;
        String weightNote;
        String weightReason;
        int full = SymmetricWeightQuantizer.FULL_RANGE;
        int reduced = SymmetricWeightQuantizer.REDUCED_RANGE;
        switch (c) {
            case X86_SSE, X86_AVX2, X86_AVX512 -> {
                reduce = true;
                weightNote = "no VNNI";
                weightReason = String.format(Locale.ROOT, "7-bit weights (|code| ≤ %d): %s has no VNNI; (v)pmaddubsw adds two "
                    + "u8·s8 products into a saturating int16 (2·255·%d = %d > 32767, 2·255·%d = %d fits)", reduced,
                    where, full, 2 * 255 * full, reduced, 2 * 255 * reduced);
            }
            case X86_AVX512_VNNI, X86_AVX_VNNI, X86_AMX -> {
                reduce = false;
                weightNote = c == IsaClass.X86_AMX ? "AMX" : "VNNI";
                String instruction = switch (c) {
                    case X86_AMX -> "amx_int8 (tdpbusd)";
                    case X86_AVX_VNNI -> "avx_vnni (vpdpbusd)";
                    default -> "avx512_vnni (vpdpbusd)";
                };
                weightReason = String.format(Locale.ROOT, "8-bit weights (|code| ≤ %d): %s accumulates u8·s8 products in int32, "
                    + "no int16 pair sum to saturate", full, instruction);
            }
            case ARM64_NEON, ARM64_DOTPROD, ARM64_I8MM -> {
                reduce = false;
                weightNote = switch (c) {
                    case ARM64_I8MM -> "i8mm";
                    case ARM64_DOTPROD -> "dotprod";
                    default -> "NEON";
                };
                String instruction = switch (c) {
                    case ARM64_I8MM -> "i8mm (smmla) accumulates s8·s8 products in int32";
                    case ARM64_DOTPROD -> "asimddp (sdot) accumulates four s8·s8 products in int32";
                    default -> "NEON widens 8-bit products to int16 and accumulates them in int32";
                };
                weightReason = String.format(Locale.ROOT, "8-bit weights (|code| ≤ %d): %s; even an int16 pair sum fits "
                    + "(2·128·127 = 32512 ≤ 32767)", full, instruction);
            }
            default -> {
                reduce = true;
                weightNote = "generic";
                weightReason = String.format(Locale.ROOT, "7-bit weights (|code| ≤ %d): no known integer ISA on %s; the range "
                    + "that cannot saturate any int16 pair sum (2·255·%d = %d ≤ 32767)", reduced, where, reduced,
                    2 * 255 * reduced);
            }
        }
        ActivationType activation;
        String activationReason;
        if (c == IsaClass.ARM64_DOTPROD || c == IsaClass.ARM64_I8MM) {
            activation = ActivationType.INT8;
            activationReason = c == IsaClass.ARM64_I8MM
                ? "s8 activations: i8mm's smmla multiplies s8 × s8 weights directly"
                : "s8 activations: asimddp's sdot multiplies s8 × s8 weights directly (there is no u8 × s8 dot product before i8mm)";
        } else if (c.isX86()) {
            activation = ActivationType.UINT8;
            activationReason = "u8 activations: x86 integer instructions (" + (c == IsaClass.X86_AMX ? "tdpbusd"
                : c.hasVnni() ? "vpdpbusd" : "(v)pmaddubsw") + ") multiply unsigned activations by signed weights"
                + X86_ACTIVATION_MEASURED;
        } else {
            activation = ActivationType.UINT8;
            activationReason = c == IsaClass.ARM64_NEON
                ? "u8 activations: no asimddp or i8mm, so no s8 dot product to gain from; the default"
                : "u8 activations: the default";
        }
        int bits = reduce ? 7 : 8;
        return new IsaRecipe(c, source, cpuModel, flags, bits, reduce ? reduced : full, activation, weightNote,
            List.of(weightReason, activationReason));
    }

    private static List<String> definingFlags(IsaClass c) {
        return switch (c) {
            case X86_AVX2 -> List.of("avx2");
            case X86_AVX512 -> List.of("avx512f");
            case X86_AVX512_VNNI -> List.of("avx512_vnni");
            case X86_AVX_VNNI -> List.of("avx_vnni");
            case X86_AMX -> List.of("amx_int8");
            case ARM64_NEON -> List.of("asimd");
            case ARM64_DOTPROD -> List.of("asimddp");
            case ARM64_I8MM -> List.of("i8mm");
            case X86_SSE, GENERIC -> List.of();
        };
    }

    /** Weight codes in [-64, 64] (7-bit) rather than [-127, 127]. */
    public boolean reduceRangeWeights() {
        return weightMax == SymmetricWeightQuantizer.REDUCED_RANGE;
    }

    /** The user's choice of weight range, which wins over the rule. */
    public IsaRecipe withReduceRangeWeights(boolean reduce) {
        int max = reduce ? SymmetricWeightQuantizer.REDUCED_RANGE : SymmetricWeightQuantizer.FULL_RANGE;
        String reason = String.format(Locale.ROOT, "%d-bit weights (|code| ≤ %d): set by the recipe (reduceRangeWeights = %s)",
            reduce ? 7 : 8, max, reduce);
        return new IsaRecipe(isaClass, source, cpuModel, flags, reduce ? 7 : 8, max, activationType, "set by the recipe",
            List.of(reason, reasons.get(1)));
    }

    /**
     * Weights of another bit width than the rule's 7/8 (QAT's 4-bit weights): the range rule does not apply.
     *
     * @param why the reason line for the weights
     */
    public IsaRecipe withWeightBits(int bits, String why) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("weight bits must be 2..8, got " + bits);
        }
        return new IsaRecipe(isaClass, source, cpuModel, flags, bits, (1 << (bits - 1)) - 1, activationType,
            "set by the recipe", List.of(why, reasons.get(1)));
    }

    /**
     * Another activation type than the rule's: the user's choice, or the only one a method can produce.
     *
     * @param why the reason line for the activations
     */
    public IsaRecipe withActivationType(ActivationType type, String why) {
        return new IsaRecipe(isaClass, source, cpuModel, flags, weightBits, weightMax, type, weightNote,
            List.of(reasons.get(0), why));
    }

    /** The activation type the user wrote in the recipe ({@code asWritten}, e.g. {@code int8}), which wins. */
    public IsaRecipe withUserActivationType(ActivationType type, String asWritten) {
        String label = type == ActivationType.INT8 ? "s8" : "u8";
        return withActivationType(type, label + " activations: set by the recipe (activationType = " + asWritten + ")");
    }

    /** {@code u8} or {@code s8}. */
    public String activationLabel() {
        return activationType == ActivationType.INT8 ? "s8" : "u8";
    }

    /** The report's line, e.g. {@code recipe made for x86-avx512-vnni: 8-bit weights (VNNI), u8 activations}. */
    public String headline() {
        return "recipe made for " + isaClass.id() + ": " + weightBits + "-bit weights (" + weightNote + "), "
            + activationLabel() + " activations";
    }
}
