package dev.quantflow.quant.cast;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/**
 * The 16-bit float formats a model can be cast to, and the fp32 → 16-bit rounding.
 *
 * <h2>FP16 (IEEE 754 binary16)</h2>
 * 1 sign, 5 exponent (bias 15), 10 fraction bits; largest finite 65504, smallest normal 2<sup>-14</sup>, smallest
 * subnormal 2<sup>-24</sup>; machine epsilon 2<sup>-10</sup>. An fp32 value {@code x = (-1)^s · 1.f · 2^(E-127)} is
 * encoded with exponent {@code e = E - 112}:
 * <ul>
 *   <li>{@code e ≥ 31}: too large, ±infinity;</li>
 *   <li>{@code 1 ≤ e ≤ 30}: normal, the 23-bit fraction rounded to 10 bits, round-to-nearest, ties to even (a carry
 *       out of the fraction moves to the next exponent, and out of e = 30 to infinity, as the standard says);</li>
 *   <li>{@code -10 ≤ e ≤ 0}: subnormal, {@code m = round(1.f · 2^(e+9))} (the implicit bit shifted right by
 *       {@code 14 - e} places, same rounding; m may round up to the smallest normal);</li>
 *   <li>{@code e < -10}: below half the smallest subnormal, ±0.</li>
 * </ul>
 *
 * <h2>BF16 (bfloat16)</h2>
 * The top 16 bits of an fp32: 1 sign, 8 exponent (bias 127), 7 fraction bits; same range as fp32 (largest finite
 * ≈ 3.3895·10<sup>38</sup>), machine epsilon 2<sup>-7</sup>. Rounding to nearest, ties to even, on the 32-bit pattern:
 * {@code (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16}; subnormals round the same way; values above the largest
 * finite bf16 round to infinity.
 *
 * <h2>Both</h2>
 * NaN stays NaN (sign and top payload bits kept, quiet bit set); ±infinity and ±0 keep their sign.
 * {@link #encode} overflows to infinity as the standards do; {@link #encodeSaturating} instead clamps a finite value
 * whose rounding overflows to the largest finite value of that sign — what weight conversion uses, because an
 * infinite constant turns {@code 0 · c} into NaN (BERT-style attention masks multiply by {@code -FLT_MAX}).
 */
public enum CastTarget {

    FP16(DataType.FLOAT16_VALUE, (short) 0x7BFF, 10),
    BF16(DataType.BFLOAT16_VALUE, (short) 0x7F7F, 7);

    private final int onnxType;
    private final short maxFiniteBits;
    private final int fractionBits;

    CastTarget(int onnxType, short maxFiniteBits, int fractionBits) {
        this.onnxType = onnxType;
        this.maxFiniteBits = maxFiniteBits;
        this.fractionBits = fractionBits;
    }

    /** The ONNX {@code TensorProto.DataType} number (10 for FLOAT16, 16 for BFLOAT16). */
    public int onnxType() {
        return onnxType;
    }

    /** Machine epsilon: the gap between 1 and the next representable value (2^-10, 2^-7). */
    public double epsilon() {
        return Math.scalb(1.0, -fractionBits);
    }

    /** Largest finite value (65504, ≈3.3895e38). */
    public float maxFinite() {
        return decode(maxFiniteBits);
    }

    /** Short lower-case name (fp16, bf16), as used in tensor and node names. */
    public String shortName() {
        return name().toLowerCase();
    }

    /** Rounds {@code value} to this format (nearest, ties to even; overflow → ±infinity). */
    public short encode(float value) {
        return this == FP16 ? toHalf(value) : toBfloat16(value);
    }

    /**
     * Like {@link #encode} but a finite value that would round to infinity becomes the largest finite value of its
     * sign. Infinity and NaN inputs are kept.
     */
    public short encodeSaturating(float value) {
        short bits = encode(value);
        if (isInfinite(bits) && !Float.isInfinite(value)) {
            return (short) (maxFiniteBits | (bits & 0x8000));
        }
        return bits;
    }

    /** The fp32 value of a 16-bit pattern of this format (exact: every FP16 and BF16 value is an fp32 value). */
    public float decode(short bits) {
        return this == FP16 ? fromHalf(bits) : Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** True for ±infinity in this format. */
    public boolean isInfinite(short bits) {
        int magnitude = bits & 0x7FFF;
        return this == FP16 ? magnitude == 0x7C00 : magnitude == 0x7F80;
    }

    private static short toHalf(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = (bits >>> 23) & 0xFF;
        int fraction = bits & 0x7F_FFFF;
        if (exponent == 0xFF) {
            return (short) (fraction == 0 ? sign | 0x7C00 : sign | 0x7E00 | (fraction >>> 13));
        }
        int e = exponent - 112;
        if (e >= 31) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            int significand = fraction | 0x80_0000;
            int shift = 14 - e;
            return (short) (sign | roundShift(significand, shift));
        }
        // normal: exponent and fraction are adjacent, so a rounding carry moves into the exponent (and to infinity)
        return (short) (sign | roundShift((e << 23) | fraction, 13));
    }

    /** {@code value >> shift}, rounded to nearest, ties to even. */
    private static int roundShift(int value, int shift) {
        int kept = value >>> shift;
        int rest = value & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rest > half || (rest == half && (kept & 1) == 1)) {
            kept++;
        }
        return kept;
    }

    private static float fromHalf(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int fraction = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (fraction << 13));
        }
        if (exponent == 0) {
            float magnitude = fraction * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (fraction << 13));
    }

    private static short toBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7F80_0000) == 0x7F80_0000 && (bits & 0x7F_FFFF) != 0) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }
}
