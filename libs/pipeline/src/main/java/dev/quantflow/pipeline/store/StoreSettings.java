package dev.quantflow.pipeline.store;

/** Where the S3-compatible artifact store is and how to sign requests to it. */
public record StoreSettings(String endpoint, String accessKey, String secretKey, String bucket, String region) {
    public StoreSettings {
        if (endpoint == null || endpoint.isBlank()) {
            throw new IllegalArgumentException("quantflow.store.endpoint is not set");
        }
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("quantflow.store.bucket is not set");
        }
        region = region == null || region.isBlank() ? "us-east-1" : region;
    }
}
