package dev.quantflow.quant.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CalibratorsTest {

    @Test
    void everyNameParsesToItsCanonicalRecipe() {
        assertThat(Calibrators.parse("minmax")).isInstanceOf(MinMaxCalibrator.class).extracting(Calibrator::name).isEqualTo("minmax");
        assertThat(Calibrators.parse("minmax-ema").name()).isEqualTo("minmax-ema");
        assertThat(Calibrators.parse("entropy").name()).isEqualTo("entropy");
        assertThat(Calibrators.parse("mse").name()).isEqualTo("mse");
        assertThat(Calibrators.parse("percentile").name()).isEqualTo("percentile:99.99");
        assertThat(Calibrators.parse("percentile:99.9990").name()).isEqualTo("percentile:99.999");
        assertThat(Calibrators.parse("percentile:100").name()).isEqualTo("percentile:100");
        assertThat(Calibrators.NAMES).containsExactly("minmax", "minmax-ema", "percentile", "entropy", "mse");
    }

    @Test
    void onlyHistogramMethodsAskForAHistogram() {
        assertThat(Calibrators.parse("minmax").usesHistogram()).isFalse();
        assertThat(Calibrators.parse("minmax-ema").usesHistogram()).isFalse();
        assertThat(Calibrators.parse("percentile:99").usesHistogram()).isTrue();
        assertThat(Calibrators.parse("entropy").usesHistogram()).isTrue();
        assertThat(Calibrators.parse("mse").usesHistogram()).isTrue();
    }

    @Test
    void unknownNamesAndBadParametersListWhatExists() {
        assertThatThrownBy(() -> Calibrators.parse("kl-divergence")).isInstanceOf(CalibrationException.class)
            .hasMessageContaining("'kl-divergence'").hasMessageContaining("minmax, minmax-ema, percentile[:p]")
            .hasMessageContaining("entropy, mse");
        assertThatThrownBy(() -> Calibrators.parse("")).isInstanceOf(CalibrationException.class).hasMessageContaining("available");
        assertThatThrownBy(() -> Calibrators.parse(null)).isInstanceOf(CalibrationException.class);
        assertThatThrownBy(() -> Calibrators.parse("entropy:128")).isInstanceOf(CalibrationException.class)
            .hasMessageContaining("takes no parameter");
        assertThatThrownBy(() -> Calibrators.parse("percentile:high")).isInstanceOf(CalibrationException.class)
            .hasMessageContaining("not a number");
        assertThatThrownBy(() -> Calibrators.parse("percentile:50")).isInstanceOf(CalibrationException.class)
            .hasMessageContaining("(50, 100]");
        assertThatThrownBy(() -> Calibrators.parse("percentile:100.5")).isInstanceOf(CalibrationException.class);
    }
}
