package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class TensorObservationTest {

    private static final float[] THREE_SAMPLES = {1f, 5f, -1f, 2f, 3f, 4f};   // 3 samples of 2 elements

    @Test
    void movingAverageFollowsTheRecurrencePerSample() {
        TensorObservation o = new TensorObservation("t", 0, false);
        o.observe(THREE_SAMPLES, 0, 6, 3, null);
        double min = 1;
        min += 0.01 * (-1 - min);
        min += 0.01 * (3 - min);
        double max = 5;
        max += 0.01 * (2 - max);
        max += 0.01 * (4 - max);
        assertThat(o.movingAverageMin()).isEqualTo((float) min);
        assertThat(o.movingAverageMax()).isEqualTo((float) max);
        assertThat(o.min()).isEqualTo(-1f);
        assertThat(o.max()).isEqualTo(5f);
        assertThat(o.absMax()).isEqualTo(5f);
        assertThat(o.count()).isEqualTo(6);
        assertThat(o.histogram()).isEmpty();
    }

    @Test
    void movingAverageDoesNotDependOnBatchSize() {
        TensorObservation whole = new TensorObservation("t", 16, false);
        whole.observe(THREE_SAMPLES, 0, 6, 3, null);
        TensorObservation bySample = new TensorObservation("t", 16, false);
        for (int s = 0; s < 3; s++) {
            bySample.observe(THREE_SAMPLES, 2 * s, 2, 1, null);
        }
        assertThat(bySample.movingAverageMin()).isEqualTo(whole.movingAverageMin());
        assertThat(bySample.movingAverageMax()).isEqualTo(whole.movingAverageMax());
    }

    @Test
    void batchWithoutPerSampleLayoutDisablesTheAverageAndEmaSaysWhy() {
        TensorObservation o = new TensorObservation("reshaped", 0, false);
        o.observe(new float[] {1f, 2f, 3f}, 0, 3, 2, null);
        assertThat(o.hasMovingAverage()).isFalse();
        assertThatThrownBy(() -> new MinMaxEmaCalibrator().range(o)).isInstanceOf(CalibrationException.class)
            .hasMessageContaining("'reshaped'").hasMessageContaining("per-sample");
        assertThat(new MinMaxCalibrator().range(o)).isEqualTo(new TensorRange(1f, 3f));
    }

    @Test
    void perChannelRangesAlongAxisOne() {
        // shape [2, 3, 2]: sample-major, then channel, then 2 inner elements
        float[] v = {0, 1, 10, 11, -5, 20,
                     2, -3, 12, 9, 30, 21};
        TensorObservation o = new TensorObservation("conv", 0, true);
        o.observe(v, 0, 6, 1, new long[] {1, 3, 2});
        o.observe(v, 6, 6, 1, new long[] {1, 3, 2});
        assertThat(o.channelRanges()).containsExactly(new TensorRange(-3, 2), new TensorRange(9, 12), new TensorRange(-5, 30));
        TensorObservation once = new TensorObservation("conv", 0, true);
        once.observe(v, 0, 12, 2, new long[] {2, 3, 2});
        assertThat(once.channelRanges()).isEqualTo(o.channelRanges());
        assertThatThrownBy(() -> o.observe(v, 0, 12, 2, new long[] {2, 6, 1})).isInstanceOf(CalibrationException.class)
            .hasMessageContaining("6 channels");
    }

    @Test
    void rankOneTensorsHaveNoChannels() {
        TensorObservation o = new TensorObservation("logits", 0, true);
        o.observe(new float[] {1, 2}, 0, 2, 2, new long[] {2});
        assertThat(o.channelRanges()).isEqualTo(List.of());
    }

    @Test
    void nonFiniteValuesNameTheTensor() {
        TensorObservation o = new TensorObservation("relu3", 2048, false);
        assertThatThrownBy(() -> o.observe(new float[] {0f, Float.NaN}, 0, 2, 1, null))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("'relu3'").hasMessageContaining("NaN");
        assertThat(o.count()).isZero();
        assertThat(o.histogram().orElseThrow().isEmpty()).isTrue();
    }
}
