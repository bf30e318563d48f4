package dev.quantflow.pipeline.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import dev.quantflow.events.ArtifactRef;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.http.Method;
import io.minio.messages.Item;
import okhttp3.OkHttpClient;

/**
 * Artifacts in an S3-compatible store (MinIO, S3Proxy, AWS). Every write returns an {@link ArtifactRef} with the
 * object's sha256 and size (the claim check events carry), and every read of a ref with a sha256 verifies it.
 *
 * <p>Keys are deterministic per job, attempt and stage ({@link ArtifactKeys}), so a redelivered event rewrites the
 * same object with the same bytes. S3 PUT is atomic: a reader never sees a half-written object.
 */
public final class ArtifactStore implements AutoCloseable {

    /** The sha256 of an object is also kept in its user metadata, so a reference can be rebuilt from the store. */
    public static final String SHA256_METADATA = "sha256";

    private final MinioClient client;
    private final OkHttpClient http;
    private final String bucket;

    public ArtifactStore(StoreSettings settings) {
        this.http = new OkHttpClient.Builder()
            .connectTimeout(10, TimeUnit.SECONDS)
            .readTimeout(5, TimeUnit.MINUTES)
            .writeTimeout(5, TimeUnit.MINUTES)
            .build();
        this.client = MinioClient.builder()
            .endpoint(settings.endpoint())
            .credentials(settings.accessKey(), settings.secretKey())
            .region(settings.region())
            .httpClient(http)
            .build();
        this.bucket = settings.bucket();
    }

    public String bucket() {
        return bucket;
    }

    /** Creates the bucket unless it exists; safe when several processes start at once. */
    public void ensureBucket() throws StoreException {
        call(() -> {
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
                try {
                    client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
                } catch (ErrorResponseException e) {
                    String code = e.errorResponse() == null ? "" : e.errorResponse().code();
                    if (!code.equals("BucketAlreadyOwnedByYou") && !code.equals("BucketAlreadyExists")) {
                        throw e;
                    }
                }
            }
            return null;
        });
    }

    public ArtifactRef put(String key, byte[] bytes, String mediaType) throws StoreException {
        String sha = sha256(bytes);
        call(() -> client.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
            .stream(new ByteArrayInputStream(bytes), bytes.length, -1)
            .contentType(mediaType)
            .userMetadata(Map.of(SHA256_METADATA, sha))
            .build()));
        return ref(key, sha, bytes.length, mediaType);
    }

    public ArtifactRef put(String key, Path file, String mediaType) throws StoreException {
        try {
            String sha = sha256(file);
            long size = Files.size(file);
            try (InputStream in = Files.newInputStream(file)) {
                call(() -> client.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                    .stream(in, size, size > 64L * 1024 * 1024 ? 16L * 1024 * 1024 : -1)
                    .contentType(mediaType)
                    .userMetadata(Map.of(SHA256_METADATA, sha))
                    .build()));
            }
            return ref(key, sha, size, mediaType);
        } catch (IOException e) {
            throw new StoreException("cannot read " + file + ": " + e.getMessage(), e, false);
        }
    }

    /** Reads a whole object and checks it against the ref's sha256 when the ref has one. */
    public byte[] get(ArtifactRef ref) throws StoreException {
        byte[] bytes = call(() -> {
            try (InputStream in = client.getObject(GetObjectArgs.builder().bucket(ref.getBucket()).object(ref.getKey()).build())) {
                return in.readAllBytes();
            }
        });
        if (ref.getSha256() != null && !ref.getSha256().equalsIgnoreCase(sha256(bytes))) {
            throw new StoreException("artifact " + ref.getKey() + " does not match its sha256 (corrupt or replaced)", null, false);
        }
        return bytes;
    }

    public byte[] get(String key) throws StoreException {
        return get(ref(key, null, -1, "application/octet-stream"));
    }

    /** Stat of an object, or empty if it does not exist. */
    public Optional<StatObjectResponse> stat(String bucketName, String key) throws StoreException {
        try {
            return Optional.of(call(() -> client.statObject(StatObjectArgs.builder().bucket(bucketName).object(key).build())));
        } catch (StoreException e) {
            if (e.notFound()) {
                return Optional.empty();
            }
            throw e;
        }
    }

    public boolean exists(String key) throws StoreException {
        return stat(bucket, key).isPresent();
    }

    /** A complete reference (size, sha256 from metadata or computed) to an object already in the store. */
    public ArtifactRef resolve(String bucketName, String key, String mediaType) throws StoreException {
        StatObjectResponse stat = stat(bucketName, key)
            .orElseThrow(() -> new StoreException("no object " + bucketName + "/" + key + " in the artifact store", null, false, true));
        String sha = stat.userMetadata().get(SHA256_METADATA);
        if (sha == null) {
            sha = sha256(get(ref(bucketName, key, null, stat.size(), mediaType)));
        }
        return ref(bucketName, key, sha, stat.size(), mediaType);
    }

    public void delete(String key) throws StoreException {
        call(() -> {
            client.removeObject(RemoveObjectArgs.builder().bucket(bucket).object(key).build());
            return null;
        });
    }

    public List<String> list(String prefix) throws StoreException {
        return call(() -> {
            var out = new java.util.ArrayList<String>();
            for (var r : client.listObjects(ListObjectsArgs.builder().bucket(bucket).prefix(prefix).recursive(true).build())) {
                Item item = r.get();
                out.add(item.objectName());
            }
            return out;
        });
    }

    /** A time-limited download URL for a user. */
    public String presignedGet(ArtifactRef ref, int expirySeconds) throws StoreException {
        return call(() -> client.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder()
            .method(Method.GET).bucket(ref.getBucket()).object(ref.getKey()).expiry(expirySeconds).build()));
    }

    public ArtifactRef ref(String key, String sha256, long size, String mediaType) {
        return ref(bucket, key, sha256, size, mediaType);
    }

    public static ArtifactRef ref(String bucket, String key, String sha256, long size, String mediaType) {
        return ArtifactRef.newBuilder().setBucket(bucket).setKey(key).setSha256(sha256).setSize(size)
            .setMediaType(mediaType).build();
    }

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest md = digest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @FunctionalInterface
    private interface StoreCall<T> {
        T run() throws Exception;
    }

    private static <T> T call(StoreCall<T> c) throws StoreException {
        try {
            return c.run();
        } catch (ErrorResponseException e) {
            String code = e.errorResponse() == null ? "" : e.errorResponse().code();
            boolean notFound = "NoSuchKey".equals(code) || "NoSuchBucket".equals(code) || "NoSuchObject".equals(code);
            throw new StoreException("artifact store: " + code + " " + e.getMessage(), e, !notFound, notFound);
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException("artifact store unreachable: " + e.getMessage(), e, true);
        } catch (Exception e) {
            throw new StoreException("artifact store error: " + e.getMessage(), e, true);
        }
    }

    @Override
    public void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }
}
