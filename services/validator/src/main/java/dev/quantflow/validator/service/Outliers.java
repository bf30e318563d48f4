package dev.quantflow.validator.service;

import java.util.ArrayList;
import java.util.List;

import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.OutlierSummary;

/**
 * The "calibration issue" diagnosis: activation ranges stretched by a few extreme values. A tensor counts when
 * {@code max|x|} is more than {@link #RATIO} times its 99.99th percentile of {@code |x|}: a MinMax range then spends
 * most of its 256 codes on 0.01% of the values and leaves the bulk a handful. (Tensors that are almost all zero,
 * percentile 0, are sparse rather than outlier-dominated and do not count.)
 */
final class Outliers {

    /** max|x| / p99.99(|x|) above which a range is "dominated by outliers". */
    static final double RATIO = 4.0;

    private Outliers() {
    }

    static List<String> tensorsDominatedByOutliers(ActivationStatistics stats) {
        List<String> out = new ArrayList<>();
        if (stats == null) {
            return out;
        }
        stats.outliers().forEach((tensor, summary) -> {
            if (dominated(summary)) {
                out.add(tensor);
            }
        });
        return out;
    }

    static boolean dominated(OutlierSummary s) {
        return s.absP9999() > 0 && s.ratio() > RATIO;
    }
}
