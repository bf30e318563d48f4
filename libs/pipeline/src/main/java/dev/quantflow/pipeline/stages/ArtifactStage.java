package dev.quantflow.pipeline.stages;

import jakarta.inject.Inject;

import org.apache.avro.specific.SpecificRecord;

import dev.quantflow.pipeline.kafka.StageHandler;
import dev.quantflow.pipeline.store.ArtifactStore;

/**
 * The common frame of a stage that reads and writes artifacts: its place in the workflow, fixed at construction,
 * and the artifact store, injected. Subclasses are CDI beans with a no-argument constructor that names their
 * binding, e.g. {@code super(Bindings.VALIDATION)}.
 */
public abstract class ArtifactStage<V extends SpecificRecord> implements StageHandler<V> {

    @Inject
    protected ArtifactStore store;

    private final Binding<V> binding;

    protected ArtifactStage(Binding<V> binding) {
        this.binding = binding;
    }

    @Override
    public final Binding<V> binding() {
        return binding;
    }
}
