package dev.quantflow.quantizer.llm;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.quantflow.pipeline.quarkus.ServiceIdentity;

/**
 * Names this process after its pool ({@code quantizer-gptq}, {@code quantizer-awq}, {@code quantizer-rtn}, from the
 * method's registry entry) in event headers, status messages, logs and Kafka client ids. The kit's default name,
 * {@code quarkus.application.name}, is fixed when the app is built and would read {@code quantizer-llm} in every pool.
 */
@ApplicationScoped
public class LlmPoolIdentity {

    @Produces
    @Singleton
    ServiceIdentity identity(LlmQuantizerConfig config,
                             @ConfigProperty(name = "quarkus.application.version", defaultValue = "dev") String version) {
        return new ServiceIdentity(config.method().pool(), version);
    }
}
