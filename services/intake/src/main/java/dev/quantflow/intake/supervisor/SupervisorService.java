package dev.quantflow.intake.supervisor;

import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;

import org.jboss.logging.Logger;

import dev.quantflow.intake.config.IntakeConfig;
import dev.quantflow.intake.service.JobProjection;
import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.kafka.StoreWorkLedger;
import dev.quantflow.pipeline.quarkus.PipelineConfig;
import dev.quantflow.pipeline.quarkus.ServiceIdentity;
import dev.quantflow.pipeline.store.ArtifactStore;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * Runs the {@link Supervisor} every {@code quantflow.supervisor.interval} on its own thread, fed by the job
 * projection. Starts before the projection reads anything, so it sees every event.
 */
@ApplicationScoped
public class SupervisorService {

    private static final Logger LOG = Logger.getLogger(SupervisorService.class);

    @Inject
    SupervisorConfig config;
    @Inject
    IntakeConfig intake;
    @Inject
    PipelineConfig pipeline;
    @Inject
    JobProjection projection;
    @Inject
    ArtifactStore store;
    @Inject
    EventPublisher publisher;
    @Inject
    ServiceIdentity identity;

    private ScheduledExecutorService timer;

    void onStart(@Observes @Priority(Interceptor.Priority.APPLICATION) StartupEvent ev) {
        if (!config.enabled()) {
            LOG.info("job supervisor disabled (quantflow.supervisor.enabled=false)");
            return;
        }
        if (config.stageLease().compareTo(pipeline.worker().heartbeatInterval()) <= 0) {
            throw new IllegalStateException("quantflow.supervisor.stage-lease (" + config.stageLease() + ") must be longer"
                + " than quantflow.worker.heartbeat-interval (" + pipeline.worker().heartbeatInterval() + ")");
        }
        JobWatch watch = new JobWatch(intake.defaultTimeBudget());
        projection.observe(watch::on);
        Supervisor supervisor = new Supervisor(watch,
            new PublishedJobFailures(new StoreWorkLedger(store), publisher, identity.name(), identity.version()),
            Clock.systemUTC(), config.stageLease(), projection::caughtUp);
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "job-supervisor");
            t.setDaemon(true);
            return t;
        });
        long every = config.interval().toMillis();
        timer.scheduleWithFixedDelay(supervisor::check, every, every, TimeUnit.MILLISECONDS);
        LOG.infof("job supervisor: every %s, stage lease %s, default budget %s", config.interval(), config.stageLease(),
            intake.defaultTimeBudget());
    }

    void onStop(@Observes ShutdownEvent ev) {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
