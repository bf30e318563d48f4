package dev.quantflow.validator.service;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Validator settings ({@code quantflow.validator.*}). Latency is measured with a fixed thread count, stated in the report. */
@ConfigMapping(prefix = "quantflow.validator")
public interface ValidatorConfig {

    /** ONNX Runtime intra-op threads while measuring. */
    @WithDefault("1")
    int intraOpThreads();

    /** The larger batch size timed besides batch 1. */
    @WithDefault("64")
    int largeBatch();

    /** Timed runs at batch 1 (after warm-up). */
    @WithDefault("100")
    int batch1Runs();

    /** Timed runs at the large batch (after warm-up). */
    @WithDefault("10")
    int largeBatchRuns();

    /** Validation samples compared layer by layer (per-layer SQNR). */
    @WithDefault("64")
    int diagnosticSamples();
}
