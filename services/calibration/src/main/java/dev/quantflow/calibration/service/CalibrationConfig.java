package dev.quantflow.calibration.service;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Calibration service settings ({@code quantflow.calibration.*}). */
@ConfigMapping(prefix = "quantflow.calibration")
public interface CalibrationConfig {

    /** Samples per ONNX Runtime run while statistics are collected; memory does not grow with the data size. */
    @WithDefault("32")
    int batchSize();

    /** ONNX Runtime intra-op threads for calibration runs. */
    @WithDefault("1")
    int intraOpThreads();
}
