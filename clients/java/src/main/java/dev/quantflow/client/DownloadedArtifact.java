package dev.quantflow.client;

import java.nio.file.Path;

/** An artifact written to disk whose size and sha256 matched what intake announced. */
public record DownloadedArtifact(String name, Path file, long size, String sha256) {
}
