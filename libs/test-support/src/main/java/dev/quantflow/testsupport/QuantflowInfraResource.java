package dev.quantflow.testsupport;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.quantflow.pipeline.Topics;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * {@code @QuarkusTestResource(QuantflowInfraResource.class)}: a real broker and S3 server for the service under test,
 * started before the app boots and stopped after its last test; the returned overrides point the service's
 * {@code quantflow.kafka.*} and {@code quantflow.store.*} at them. Random free ports and temp dirs, so test runs of
 * several modules can share a machine.
 *
 * <p>Tests reach the servers through the app's own config ({@link JobProbe#of(org.eclipse.microprofile.config.Config)}),
 * not through this object: test resources and test classes live in different class loaders.
 */
public class QuantflowInfraResource implements QuarkusTestResourceLifecycleManager {

    /** Init arg: a hardware class whose profile-request topic is created and which the profiler announces. */
    public static final String PROFILER_CLASS = "profiler-hardware-class";

    private TestInfra infra;
    private String profilerClass;

    @Override
    public void init(Map<String, String> initArgs) {
        profilerClass = initArgs.get(PROFILER_CLASS);
    }

    @Override
    public Map<String, String> start() {
        try {
            infra = TestInfra.start();
            if (profilerClass != null) {
                infra.createTopic(Topics.profileRequested(profilerClass)); // per-class topics are not in Topics.ALL
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the test broker and S3 server: " + e.getMessage(), e);
        }
        Map<String, String> config = new LinkedHashMap<>(infra.serviceConfig());
        config.put("quarkus.http.test-port", "0");
        // No Docker here: no extension may try to start a container.
        config.put("quarkus.devservices.enabled", "false");
        // A transient failure is retried quickly in tests, so a failure event arrives within seconds.
        config.put("quantflow.worker.retry-backoff", "200ms");
        if (profilerClass != null) {
            config.put("quantflow.profiler.hardware-class", profilerClass);
        }
        return config;
    }

    @Override
    public void stop() {
        if (infra != null) {
            try {
                infra.close();
            } catch (Exception e) {
                throw new IllegalStateException("cannot stop the test infrastructure", e);
            } finally {
                infra = null;
            }
        }
    }
}
