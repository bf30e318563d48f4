package dev.quantflow.quantizer.awq;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.stages.LlmQuantizerStage;
import dev.quantflow.pipeline.store.ArtifactStore;

/**
 * The AWQ pool (Lin et al. 2023): per-input-channel scales searched from the activation magnitudes of the calibration
 * stage's statistics, so salient weights lose less at 4 bits; the scales are folded into the preceding LayerNorm where
 * the graph allows, else applied by an explicit Mul.
 */
@ApplicationScoped
public class AwqQuantizerStage extends LlmQuantizerStage {

    @Inject
    ArtifactStore store;

    @Override
    protected ArtifactStore store() {
        return store;
    }

    @Override
    public Binding<QuantizeRequested> binding() {
        return new Binding<>(Topics.QUANTIZE_AWQ, Stages.QUANTIZE, "quantizer-awq");
    }
}
