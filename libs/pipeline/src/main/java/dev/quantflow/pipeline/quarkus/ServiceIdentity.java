package dev.quantflow.pipeline.quarkus;

/** Name and version written into every event header this service produces. */
public record ServiceIdentity(String name, String version) {
}
