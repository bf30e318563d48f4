package dev.quantflow.quant.cast;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;

class CastTargetTest {

    private static final CastTarget FP16 = CastTarget.FP16;
    private static final CastTarget BF16 = CastTarget.BF16;

    @Test
    void fp16KnownBitPatterns() {
        assertThat(FP16.encode(1f)).isEqualTo((short) 0x3C00);
        assertThat(FP16.encode(-2f)).isEqualTo((short) 0xC000);
        assertThat(FP16.encode(65504f)).isEqualTo((short) 0x7BFF);
        assertThat(FP16.encode(0x1p-14f)).isEqualTo((short) 0x0400);       // smallest normal
        assertThat(FP16.encode(0x1p-24f)).isEqualTo((short) 0x0001);       // smallest subnormal
        assertThat(FP16.encode(0x3p-24f)).isEqualTo((short) 0x0003);
        assertThat(FP16.encode(-0f)).isEqualTo((short) 0x8000);
        assertThat(FP16.encode(Float.POSITIVE_INFINITY)).isEqualTo((short) 0x7C00);
        assertThat(FP16.encode(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFC00);
        assertThat(FP16.decode((short) 0x7BFF)).isEqualTo(65504f);
        assertThat(FP16.decode((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(FP16.decode((short) 0x8000)).isEqualTo(-0f);
    }

    @Test
    void fp16RoundsToNearestTiesToEven() {
        assertThat(FP16.encode(1f + 0x1p-11f)).as("tie, even below").isEqualTo((short) 0x3C00);
        assertThat(FP16.encode(1f + 0x3p-11f)).as("tie, odd below → up").isEqualTo((short) 0x3C02);
        assertThat(FP16.encode(1f + 0x1p-11f + 0x1p-20f)).as("above the tie").isEqualTo((short) 0x3C01);
        assertThat(FP16.encode(0x1p-25f)).as("half the smallest subnormal ties to 0").isEqualTo((short) 0);
        assertThat(FP16.encode(0x1.8p-25f)).as("above half rounds to the smallest subnormal").isEqualTo((short) 1);
        assertThat(FP16.encode(0x3p-25f)).as("subnormal tie 1.5 → 2").isEqualTo((short) 2);
        assertThat(FP16.encode(0x1p-26f)).isEqualTo((short) 0);
        assertThat(FP16.encode(0x1.ffcp-15f)).as("rounds up into the smallest normal").isEqualTo((short) 0x0400);
        assertThat(FP16.encode(65519f)).isEqualTo((short) 0x7BFF);
        assertThat(FP16.encode(65520f)).as("the tie above the largest finite rounds to infinity").isEqualTo((short) 0x7C00);
    }

    @Test
    void fp16MatchesTheJdkConversionOnRandomAndEdgeBitPatterns() {
        Random r = new Random(7);
        for (int i = 0; i < 2_000_000; i++) {
            int bits = i < 1_000_000 ? r.nextInt() : (r.nextInt(0x5000_0000) + 0x2000_0000) ^ (r.nextBoolean() ? 0x8000_0000 : 0);
            float f = Float.intBitsToFloat(bits);
            short expected = Float.floatToFloat16(f);
            short actual = FP16.encode(f);
            if (Float.isNaN(f)) {
                assertThat(Float.isNaN(FP16.decode(actual))).isTrue();
            } else {
                assertThat(actual).as("bits %08x", bits).isEqualTo(expected);
            }
        }
    }

    @Test
    void everyFp16AndBf16PatternDecodesExactlyAndEncodesBack() {
        for (int b = 0; b < 0x10000; b++) {
            short bits = (short) b;
            float h = FP16.decode(bits);
            assertThat(Float.isNaN(h) ? Float.isNaN(Float.float16ToFloat(bits)) : h == Float.float16ToFloat(bits)
                && Float.floatToRawIntBits(h) == Float.floatToRawIntBits(Float.float16ToFloat(bits))).isTrue();
            if (!Float.isNaN(h)) {
                assertThat(FP16.encode(h)).isEqualTo(bits);
            }
            float g = BF16.decode(bits);
            if (!Float.isNaN(g)) {
                assertThat(BF16.encode(g)).isEqualTo(bits);
            }
        }
    }

    @Test
    void bf16RoundsTheTop16BitsToNearestEven() {
        assertThat(BF16.encode(1f)).isEqualTo((short) 0x3F80);
        assertThat(BF16.encode(Float.intBitsToFloat(0x3F80_8000))).as("tie, even").isEqualTo((short) 0x3F80);
        assertThat(BF16.encode(Float.intBitsToFloat(0x3F81_8000))).as("tie, odd → up").isEqualTo((short) 0x3F82);
        assertThat(BF16.encode(Float.intBitsToFloat(0x3F80_8001))).isEqualTo((short) 0x3F81);
        assertThat(BF16.encode(Float.intBitsToFloat(0x3F80_7FFF))).isEqualTo((short) 0x3F80);
        assertThat(BF16.encode(Float.intBitsToFloat(0x0000_8000))).as("subnormal tie → 0").isEqualTo((short) 0);
        assertThat(BF16.encode(Float.intBitsToFloat(0x0001_8000))).as("subnormal tie → even").isEqualTo((short) 2);
        assertThat(BF16.encode(-0f)).isEqualTo((short) 0x8000);
        assertThat(BF16.encode(Float.MAX_VALUE)).as("FLT_MAX rounds past the largest bf16").isEqualTo((short) 0x7F80);
        assertThat(BF16.encode(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFF80);
        assertThat(BF16.decode((short) 0x7F7F)).isEqualTo(BF16.maxFinite());
    }

    @Test
    void nanStaysNanWithSignAndInfinityIsKept() {
        for (CastTarget t : CastTarget.values()) {
            for (int nan : new int[] {0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0x7FBF_FFFF, 0xFF80_0001}) {
                short bits = t.encode(Float.intBitsToFloat(nan));
                assertThat(Float.isNaN(t.decode(bits))).as("%s %08x", t, nan).isTrue();
                assertThat(bits < 0).isEqualTo(nan < 0);
                assertThat(Float.isNaN(t.decode(t.encodeSaturating(Float.intBitsToFloat(nan))))).isTrue();
            }
            assertThat(t.decode(t.encodeSaturating(Float.POSITIVE_INFINITY))).isEqualTo(Float.POSITIVE_INFINITY);
        }
    }

    @Test
    void saturatingEncodeClampsOnlyFiniteOverflow() {
        assertThat(FP16.decode(FP16.encodeSaturating(1e6f))).isEqualTo(65504f);
        assertThat(FP16.decode(FP16.encodeSaturating(-Float.MAX_VALUE))).isEqualTo(-65504f);
        assertThat(FP16.decode(FP16.encodeSaturating(65504f))).isEqualTo(65504f);
        assertThat(BF16.decode(BF16.encodeSaturating(-Float.MAX_VALUE))).isEqualTo(-BF16.maxFinite());
        assertThat(FP16.decode(FP16.encodeSaturating(Float.NEGATIVE_INFINITY))).isEqualTo(Float.NEGATIVE_INFINITY);
    }

    @Test
    void epsilonIsTheGapAfterOne() {
        for (CastTarget t : CastTarget.values()) {
            float next = t.decode((short) (t.encode(1f) + 1));
            assertThat((double) next - 1).isEqualTo(t.epsilon());
        }
    }
}
