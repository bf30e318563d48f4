package dev.quantflow.pipeline.quarkus;

import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.apache.avro.specific.SpecificRecord;
import org.jboss.logging.Logger;

import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.kafka.GuardSettings;
import dev.quantflow.pipeline.kafka.KafkaSettings;
import dev.quantflow.pipeline.kafka.StageMetrics;
import dev.quantflow.pipeline.kafka.StageHandler;
import dev.quantflow.pipeline.kafka.StageWorker;
import dev.quantflow.pipeline.kafka.StoreProcessedEvents;
import dev.quantflow.pipeline.kafka.StoreWorkLedger;
import dev.quantflow.pipeline.store.ArtifactStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/** Starts a {@link StageWorker} for every {@link StageHandler} bean of the service; stops them gracefully. */
@ApplicationScoped
public class StageRunner {

    private static final Logger LOG = Logger.getLogger(StageRunner.class);

    @Inject
    @Any
    Instance<StageHandler<?>> handlers;
    @Inject
    KafkaSettings settings;
    @Inject
    EventPublisher publisher;
    @Inject
    ArtifactStore store;
    @Inject
    ServiceIdentity identity;
    @Inject
    PipelineConfig config;
    /** The service's registry (quarkus-micrometer); without one the workers record nothing. */
    @Inject
    Instance<MeterRegistry> registry;

    private final List<StageWorker<?>> workers = new ArrayList<>();

    void onStart(@Observes StartupEvent ev) {
        for (StageHandler<?> h : handlers) {
            start(h);
        }
    }

    private <V extends SpecificRecord> void start(StageHandler<V> handler) {
        StageWorker<V> w = new StageWorker<>(handler, settings, publisher, new StoreProcessedEvents(store),
            new StoreWorkLedger(store), new GuardSettings(config.worker().maxDeliveries(), config.worker().heartbeatInterval(),
                config.worker().stuckGrace(), config.worker().outageWindow(), config.faults().crashAfterHandleJob().orElse(null)),
            metrics(handler), identity.name(), identity.version());
        w.start();
        workers.add(w);
        LOG.infof("%s consuming %s as group %s (pid %d)", identity.name(), handler.topic().name(), handler.group(),
            ProcessHandle.current().pid());
    }

    private StageMetrics metrics(StageHandler<?> handler) {
        return registry.isResolvable() ? new MicrometerStageMetrics(registry.get(), handler.stage(), handler.group()) : StageMetrics.NONE;
    }

    void onStop(@Observes ShutdownEvent ev) {
        for (StageWorker<?> w : workers) {
            w.stop(config.worker().shutdownGrace());
        }
    }

    public List<StageWorker<?>> workers() {
        return List.copyOf(workers);
    }
}
