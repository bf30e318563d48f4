package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class MinMaxObserverTest {

    @Test
    void mergesBatchesPerTensor() {
        MinMaxObserver obs = new MinMaxObserver();
        obs.observe("a", new float[] {1f, -2f, 3f});
        obs.observe("b", new float[] {10f});
        obs.observe("a", new float[] {0.5f, 7f});

        assertThat(obs.ranges()).containsEntry("a", new TensorRange(-2f, 7f)).containsEntry("b", new TensorRange(10f, 10f));
    }

    @Test
    void resultDoesNotDependOnBatchSizeOrOrder() {
        float[] values = new float[4098];
        Random rnd = new Random(42);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian() * 3f;
        }
        float lo = Float.MAX_VALUE;
        float hi = -Float.MAX_VALUE;
        for (float v : values) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        for (int batch : new int[] {1, 13, 207, 4098}) {
            MinMaxObserver forward = new MinMaxObserver();
            for (int i = 0; i < values.length; i += batch) {
                forward.observe("t", values, i, Math.min(batch, values.length - i));
            }
            MinMaxObserver backward = new MinMaxObserver();
            for (int i = ((values.length - 1) / batch) * batch; i >= 0; i -= batch) {
                backward.observe("t", values, i, Math.min(batch, values.length - i));
            }
            assertThat(forward.ranges().get("t")).isEqualTo(new TensorRange(lo, hi));
            assertThat(backward.toStatistics(1, List.of("t")).toJson()).isEqualTo(forward.toStatistics(1, List.of("t")).toJson());
        }
    }

    @Test
    void observesFloatBufferRemainderWithoutMovingIt() {
        FloatBuffer buf = FloatBuffer.wrap(new float[] {100f, -1f, 2f, -100f});
        buf.position(1).limit(3);
        MinMaxObserver obs = new MinMaxObserver();
        obs.observe("x", buf);
        assertThat(obs.ranges().get("x")).isEqualTo(new TensorRange(-1f, 2f));
        assertThat(buf.position()).isEqualTo(1);
    }

    @Test
    void nanFailsNamingTheTensor() {
        MinMaxObserver obs = new MinMaxObserver();
        assertThatThrownBy(() -> obs.observe("conv1_out", new float[] {1f, Float.NaN}))
            .isInstanceOf(CalibrationException.class)
            .hasMessageContaining("conv1_out").hasMessageContaining("NaN");
    }

    @Test
    void infinityFailsFromBufferToo() {
        MinMaxObserver obs = new MinMaxObserver();
        assertThatThrownBy(() -> obs.observe("relu", FloatBuffer.wrap(new float[] {0f, Float.NEGATIVE_INFINITY})))
            .isInstanceOf(CalibrationException.class)
            .hasMessageContaining("relu").hasMessageContaining("Infinity");
    }

    @Test
    void tensorWithNoObservedValuesIsReportedNotDropped() {
        MinMaxObserver obs = new MinMaxObserver();
        obs.observe("a", new float[] {1f});
        obs.observe("empty", new float[0]);
        assertThat(obs.hasRange("empty")).isFalse();
        assertThatThrownBy(() -> obs.toStatistics(4, List.of("a", "empty")))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("empty");
    }

    @Test
    void statisticsCarryCalibratorNameAndSampleCount() {
        MinMaxObserver obs = new MinMaxObserver();
        obs.observe("z", new float[] {-0.25f, 0.75f});
        obs.observe("a", new float[] {3f});
        ActivationStatistics stats = obs.toStatistics(8, List.of("z", "a"));
        assertThat(stats.calibrator()).isEqualTo("minmax");
        assertThat(stats.samples()).isEqualTo(8);
        assertThat(stats.ranges().keySet()).containsExactly("a", "z");
        assertThat(ActivationStatistics.fromJson(stats.toJson()).ranges()).isEqualTo(stats.ranges());
    }
}
