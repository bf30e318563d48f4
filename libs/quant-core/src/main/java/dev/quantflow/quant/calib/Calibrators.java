package dev.quantflow.quant.calib;

import java.math.BigDecimal;
import java.util.List;

/**
 * Registry of calibration methods by recipe string: {@code name} or {@code name:parameter}.
 *
 * <table>
 *   <caption>Recipe strings</caption>
 *   <tr><th>recipe</th><th>class</th><th>histogram</th></tr>
 *   <tr><td>{@code minmax}</td><td>{@link MinMaxCalibrator}</td><td>no</td></tr>
 *   <tr><td>{@code minmax-ema}</td><td>{@link MinMaxEmaCalibrator}</td><td>no</td></tr>
 *   <tr><td>{@code percentile}, {@code percentile:p} (50 &lt; p ≤ 100, default 99.99)</td>
 *       <td>{@link PercentileCalibrator}</td><td>yes</td></tr>
 *   <tr><td>{@code entropy}</td><td>{@link EntropyCalibrator}</td><td>yes</td></tr>
 *   <tr><td>{@code mse}</td><td>{@link MseCalibrator}</td><td>yes</td></tr>
 * </table>
 */
public final class Calibrators {

    /** Method names accepted by {@link #parse} (a parameter may follow {@code percentile}). */
    public static final List<String> NAMES = List.of(MinMaxCalibrator.NAME, MinMaxEmaCalibrator.NAME,
        PercentileCalibrator.NAME, EntropyCalibrator.NAME, MseCalibrator.NAME);

    private static final String USAGE = "available: [minmax, minmax-ema, percentile[:p] (50 < p <= 100, default "
        + PercentileCalibrator.DEFAULT_PERCENTILE.toPlainString() + "), entropy, mse]";

    private Calibrators() {
    }

    /**
     * @param recipe e.g. {@code minmax}, {@code percentile:99.999}, {@code entropy}
     * @throws CalibrationException for an unknown name or a bad parameter, listing what is available
     */
    public static Calibrator parse(String recipe) {
        if (recipe == null || recipe.isBlank()) {
            throw new CalibrationException("no calibrator named; " + USAGE);
        }
        int colon = recipe.indexOf(':');
        String name = colon < 0 ? recipe : recipe.substring(0, colon);
        String parameter = colon < 0 ? null : recipe.substring(colon + 1);
        Calibrator c = switch (name) {
            case MinMaxCalibrator.NAME -> new MinMaxCalibrator();
            case MinMaxEmaCalibrator.NAME -> new MinMaxEmaCalibrator();
            case EntropyCalibrator.NAME -> new EntropyCalibrator();
            case MseCalibrator.NAME -> new MseCalibrator();
            case PercentileCalibrator.NAME -> new PercentileCalibrator(parameter == null
                ? PercentileCalibrator.DEFAULT_PERCENTILE : percentile(recipe, parameter));
            default -> throw new CalibrationException("unknown calibrator '" + recipe + "'; " + USAGE);
        };
        if (parameter != null && !name.equals(PercentileCalibrator.NAME)) {
            throw new CalibrationException("calibrator '" + name + "' takes no parameter, got '" + recipe + "'; " + USAGE);
        }
        return c;
    }

    private static BigDecimal percentile(String recipe, String parameter) {
        try {
            return new BigDecimal(parameter.strip());
        } catch (NumberFormatException e) {
            throw new CalibrationException("calibrator '" + recipe + "': '" + parameter + "' is not a number; " + USAGE, e);
        }
    }

    /** The observation's histogram, which a histogram calibrator needs. */
    static StreamingHistogram histogramOf(TensorObservation observation) {
        return observation.histogram().orElseThrow(() -> new IllegalStateException("tensor '" + observation.tensor()
            + "' was observed without a histogram; create its TensorObservation with bins > 0"));
    }
}
