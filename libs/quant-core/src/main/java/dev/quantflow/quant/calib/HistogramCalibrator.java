package dev.quantflow.quant.calib;

/** A calibrator that chooses its range from the tensor's streamed histogram alone. */
public interface HistogramCalibrator extends Calibrator {

    @Override
    default boolean usesHistogram() {
        return true;
    }

    @Override
    default TensorRange range(TensorObservation observation) {
        return range(Calibrators.histogramOf(observation));
    }

    /** The range from a non-empty histogram alone (it carries min and max). */
    TensorRange range(StreamingHistogram h);
}
