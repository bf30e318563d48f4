package dev.quantflow.testsupport;

import java.util.LinkedHashMap;
import java.util.Map;

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

    private TestInfra infra;

    @Override
    public Map<String, String> start() {
        try {
            infra = TestInfra.start();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the test broker and S3 server: " + e.getMessage(), e);
        }
        Map<String, String> config = new LinkedHashMap<>(infra.serviceConfig());
        config.put("quarkus.http.test-port", "0");
        // No Docker here: no extension may try to start a container.
        config.put("quarkus.devservices.enabled", "false");
        // A transient failure is retried quickly in tests, so a failure event arrives within seconds.
        config.put("quantflow.worker.retry-backoff", "200ms");
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
