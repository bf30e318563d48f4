package dev.quantflow.pipeline.quarkus;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.opentelemetry.api.OpenTelemetry;
import io.quarkus.arc.DefaultBean;

import dev.quantflow.pipeline.JobTracing;

import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.kafka.KafkaSettings;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreException;
import dev.quantflow.pipeline.store.StoreSettings;

/** CDI wiring of the stage-worker kit for a Quarkus service. */
@ApplicationScoped
public class PipelineProducers {

    @Produces
    @Singleton
    ArtifactStore artifactStore(PipelineConfig config) throws StoreException {
        var s = config.store();
        ArtifactStore store = new ArtifactStore(new StoreSettings(s.endpoint(), s.accessKey(), s.secretKey(), s.bucket(),
            s.region().orElse(null)));
        store.ensureBucket();
        return store;
    }

    void closeStore(@Disposes ArtifactStore store) {
        store.close();
    }

    @Produces
    @Singleton
    EventPublisher publisher(PipelineConfig config, ServiceIdentity identity, Instance<OpenTelemetry> openTelemetry) {
        // every worker and intake's submit publish through this bean, so the kit's tracing is set before any of them
        if (openTelemetry.isResolvable()) {
            JobTracing.use(openTelemetry.get());
        }
        return new EventPublisher(config.kafka().bootstrapServers(), identity.name() + "-" + ProcessHandle.current().pid(),
            config.kafka().clientProperties());
    }

    void closePublisher(@Disposes EventPublisher publisher) {
        publisher.close();
    }

    @Produces
    @Singleton
    KafkaSettings kafkaSettings(PipelineConfig config) {
        var w = config.worker();
        return new KafkaSettings(config.kafka().bootstrapServers(), w.maxJobDuration(), w.maxAttempts(), w.retryBackoff(),
            w.maxPollInterval(), w.sessionTimeout(), w.minJobDuration(), config.kafka().clientProperties());
    }

    /**
     * The service's name in event headers, logs and Kafka client ids: {@code quarkus.application.name}. That name is
     * fixed at build time (Quarkus ignores a run-time value), so an app that runs as several pools produces its own
     * {@link ServiceIdentity} bean, which replaces this default.
     */
    @Produces
    @Singleton
    @DefaultBean
    ServiceIdentity identity(@ConfigProperty(name = "quarkus.application.name") String name,
                             @ConfigProperty(name = "quarkus.application.version", defaultValue = "dev") String version) {
        return new ServiceIdentity(name, version);
    }
}
