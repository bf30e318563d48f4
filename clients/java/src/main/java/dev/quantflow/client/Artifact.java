package dev.quantflow.client;

import java.net.URI;

/** One output file of a job as {@code GET /api/jobs/{id}/artifacts} lists it: a presigned, time-limited link. */
public record Artifact(String name, String key, String sha256, long size, URI url) {
}
