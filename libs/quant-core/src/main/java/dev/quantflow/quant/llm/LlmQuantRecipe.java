package dev.quantflow.quant.llm;

import java.util.Objects;
import java.util.Set;

import dev.quantflow.quant.QuantizationException;
import java.util.function.Consumer;

/**
 * What {@link LlmWeightQuantizer} does with an LLM's MatMul weights.
 *
 * @param method          RTN (no data), GPTQ (needs {@link LayerInputStats#hessian()}), AWQ (needs
 *                        {@link LayerInputStats#meanAbs()} and {@link LayerInputStats#sample()})
 * @param bits            weight bits (4 default); see {@link LlmWeightQuantizer} for what each format runs
 * @param blockSize       rows of W per (scale, zero point): a power of two ≥ 16 (32 default)
 * @param symmetric       zero point fixed at 2^(bits−1) (no zero-point tensor) instead of min/max
 * @param actOrder        GPTQ only: visit input features by descending Hessian diagonal (static groups)
 * @param percDamp        GPTQ only: damping λ = percDamp · mean diag(H) (0.01 default)
 * @param format          the output graph form
 * @param keepFp32        node names left as fp32 MatMuls
 * @param eightBitNodes   node names quantized at 8 bits instead of {@code bits}
 * @param quantizeLmHead  quantize the MatMul that produces a graph output (the LM head) too (default true)
 * @param accuracyLevel   MatMulNBits {@code accuracy_level}: 0 = fp32 compute (exact dequantized product), 4 = the
 *                        activations quantized to int8 inside the kernel (faster, slightly less accurate)
 * @param awqClip         AWQ only: after the scales, search each (block, column)'s clipping ({@link AwqClipSearch};
 *                        default true)
 */
public record LlmQuantRecipe(Method method, int bits, int blockSize, boolean symmetric, boolean actOrder,
                             double percDamp, Format format, Set<String> keepFp32, Set<String> eightBitNodes,
                             boolean quantizeLmHead, int accuracyLevel, boolean awqClip) {

    public enum Method { RTN, GPTQ, AWQ }

    public enum Format {
        /** {@code com.microsoft:MatMulNBits} (packed codes, ONNX Runtime's fused dequantize-matmul kernels). */
        MATMUL_NBITS,
        /** Opset-21 {@code DequantizeLinear} with {@code block_size} on a uint4/uint8 initializer, then MatMul. */
        QDQ_BLOCKED
    }

    public static final int DEFAULT_BITS = 4;
    public static final int DEFAULT_BLOCK_SIZE = 32;
    public static final int DEFAULT_ACCURACY_LEVEL = 4;

    public LlmQuantRecipe {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(format, "format");
        keepFp32 = Set.copyOf(keepFp32);
        eightBitNodes = Set.copyOf(eightBitNodes);
        if (bits < 2 || bits > 8) {
            throw new QuantizationException("bits must be between 2 and 8, got " + bits);
        }
        if (blockSize < 16 || Integer.bitCount(blockSize) != 1) {
            throw new QuantizationException("block size must be a power of two >= 16, got " + blockSize);
        }
        if (!(percDamp >= 0) || percDamp > 1) {
            throw new QuantizationException("percDamp must be in [0, 1], got " + percDamp);
        }
        if (accuracyLevel < 0 || accuracyLevel > 4) {
            throw new QuantizationException("accuracy_level must be 0..4, got " + accuracyLevel);
        }
    }

    /** 4-bit, block 32, asymmetric, no act-order, damping 0.01, MatMulNBits, everything quantized, AWQ clipping on. */
    public static LlmQuantRecipe of(Method method) {
        return new LlmQuantRecipe(method, DEFAULT_BITS, DEFAULT_BLOCK_SIZE, false, false,
            GptqQuantizer.DEFAULT_PERC_DAMP, Format.MATMUL_NBITS, Set.of(), Set.of(), true, DEFAULT_ACCURACY_LEVEL, true);
    }

    /** The recipe without {@code awqClip}, which is then on. */
    public LlmQuantRecipe(Method method, int bits, int blockSize, boolean symmetric, boolean actOrder, double percDamp,
                          Format format, Set<String> keepFp32, Set<String> eightBitNodes, boolean quantizeLmHead,
                          int accuracyLevel) {
        this(method, bits, blockSize, symmetric, actOrder, percDamp, format, keepFp32, eightBitNodes, quantizeLmHead,
            accuracyLevel, true);
    }

    public LlmQuantRecipe withAwqClip(boolean clip) {
        return copy(c -> c.awqClip = clip);
    }

    public LlmQuantRecipe withMethod(Method m) {
        return copy(c -> c.method = m);
    }

    public LlmQuantRecipe withBits(int b) {
        return copy(c -> c.bits = b);
    }

    public LlmQuantRecipe withBlockSize(int size) {
        return copy(c -> c.blockSize = size);
    }

    public LlmQuantRecipe withSymmetric(boolean sym) {
        return copy(c -> c.symmetric = sym);
    }

    public LlmQuantRecipe withActOrder(boolean act) {
        return copy(c -> c.actOrder = act);
    }

    public LlmQuantRecipe withPercDamp(double damp) {
        return copy(c -> c.percDamp = damp);
    }

    public LlmQuantRecipe withFormat(Format f) {
        return copy(c -> c.format = f);
    }

    public LlmQuantRecipe withKeepFp32(Set<String> nodes) {
        return copy(c -> c.keepFp32 = nodes);
    }

    public LlmQuantRecipe withEightBitNodes(Set<String> nodes) {
        return copy(c -> c.eightBitNodes = nodes);
    }

    public LlmQuantRecipe withQuantizeLmHead(boolean q) {
        return copy(c -> c.quantizeLmHead = q);
    }

    public LlmQuantRecipe withAccuracyLevel(int level) {
        return copy(c -> c.accuracyLevel = level);
    }

    /** This record with the changes {@code edit} makes to a mutable copy of its components (what every wither does). */
    private LlmQuantRecipe copy(Consumer<Copy> edit) {
        Copy c = new Copy(this);
        edit.accept(c);
        return c.build();
    }

    /** The components, mutable; {@link #build} goes through the canonical constructor and its checks. */
    private static final class Copy {
        private Method method;
        private int bits;
        private int blockSize;
        private boolean symmetric;
        private boolean actOrder;
        private double percDamp;
        private Format format;
        private Set<String> keepFp32;
        private Set<String> eightBitNodes;
        private boolean quantizeLmHead;
        private int accuracyLevel;
        private boolean awqClip;

        private Copy(LlmQuantRecipe from) {
            method = from.method;
            bits = from.bits;
            blockSize = from.blockSize;
            symmetric = from.symmetric;
            actOrder = from.actOrder;
            percDamp = from.percDamp;
            format = from.format;
            keepFp32 = from.keepFp32;
            eightBitNodes = from.eightBitNodes;
            quantizeLmHead = from.quantizeLmHead;
            accuracyLevel = from.accuracyLevel;
            awqClip = from.awqClip;
        }

        private LlmQuantRecipe build() {
            return new LlmQuantRecipe(method, bits, blockSize, symmetric, actOrder, percDamp, format, keepFp32,
                eightBitNodes, quantizeLmHead, accuracyLevel, awqClip);
        }
    }
}
