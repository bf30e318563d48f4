package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FiniteRangeScanTest {

    private static final FiniteRangeScan.NonFiniteError REFUSE =
        (value, index) -> new IllegalArgumentException(value + "@" + index);

    private static float[] random(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextDouble() * 20 - 10);
        }
        return v;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 13, 207, 4098})
    void arrayAndBufferGiveTheExactMinAndMaxOfTheRun(int n) {
        float[] v = random(n + 6, n);
        float expectedMin = Float.POSITIVE_INFINITY;
        float expectedMax = Float.NEGATIVE_INFINITY;
        for (int i = 3; i < 3 + n; i++) {
            expectedMin = Math.min(expectedMin, v[i]);
            expectedMax = Math.max(expectedMax, v[i]);
        }
        // values outside the run must not count
        v[0] = -1000f;
        v[n + 5] = 1000f;

        var fromArray = FiniteRangeScan.scan(v, 3, n, REFUSE);
        assertThat(fromArray.min()).isEqualTo(expectedMin);
        assertThat(fromArray.max()).isEqualTo(expectedMax);

        FloatBuffer buffer = FloatBuffer.wrap(v);
        buffer.position(3).limit(3 + n);
        var fromBuffer = FiniteRangeScan.scan(buffer, REFUSE);
        assertThat(fromBuffer).isEqualTo(fromArray);
        assertThat(buffer.position()).isEqualTo(3);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 13, 207, 4098})
    void theFirstNonFiniteElementIsReportedWithItsIndexInTheRun(int n) {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] v = random(n + 2, 7L * n);
            int at = n / 2;
            v[2 + at] = bad;
            if (at + 1 < n) {
                v[2 + n - 1] = Float.NaN; // a later bad element must not be the one reported
            }
            String expected = bad + "@" + at;
            assertThatThrownBy(() -> FiniteRangeScan.scan(v, 2, n, REFUSE)).hasMessage(expected);
            FloatBuffer buffer = FloatBuffer.wrap(v);
            buffer.position(2).limit(2 + n);
            assertThatThrownBy(() -> FiniteRangeScan.scan(buffer, REFUSE)).hasMessage(expected);
        }
    }
}
