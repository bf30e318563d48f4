package dev.quantflow.quantizer.gptq;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.stages.LlmQuantizerStage;
import dev.quantflow.pipeline.store.ArtifactStore;

/**
 * The GPTQ pool (Frantar et al. 2022): 4-bit (or 8/2-bit) weight-only quantization of a causal LM's MatMuls, column by
 * column with the inverse-Hessian error feedback built from the calibration stage's layer-input statistics. The same
 * pool runs round-to-nearest ({@code rtn}), the baseline, which needs no statistics.
 */
@ApplicationScoped
public class GptqQuantizerStage extends LlmQuantizerStage {

    @Inject
    ArtifactStore store;

    @Override
    protected ArtifactStore store() {
        return store;
    }

    @Override
    public Binding<QuantizeRequested> binding() {
        return new Binding<>(Topics.QUANTIZE_GPTQ, Stages.QUANTIZE, "quantizer-gptq");
    }
}
