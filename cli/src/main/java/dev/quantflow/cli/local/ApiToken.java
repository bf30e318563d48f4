package dev.quantflow.cli.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The local cluster's API token: {@code <run dir>/api-token}, readable by its owner only, made once by the first
 * {@code quantflow up} and kept across runs (so a shell's {@code QUANTFLOW_TOKEN} stays good). Intake is told only its
 * SHA-256 ({@code quantflow.auth.tokens.dev=sha256:…}), so the token itself is on no command line.
 */
public final class ApiToken {

    public static final String FILE_NAME = "api-token";
    /** The tenant of the local cluster's token. */
    public static final String TENANT = "dev";

    private ApiToken() {
    }

    public static Path file(Path runDir) {
        return runDir.resolve(FILE_NAME);
    }

    /** The recorded token, if the run dir has one. */
    public static Optional<String> read(Path runDir) {
        Path f = file(runDir);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            String token = Files.readString(f, StandardCharsets.UTF_8).trim();
            return token.isEmpty() ? Optional.empty() : Optional.of(token);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The recorded token, or a new random one (256 bits) written to {@code <run dir>/api-token} with mode 600. */
    public static String createOrRead(Path runDir) {
        Optional<String> existing = read(runDir);
        if (existing.isPresent()) {
            return existing.get();
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String token = "qf_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        try {
            Files.createDirectories(runDir);
            Path tmp = runDir.resolve(FILE_NAME + ".tmp");
            Files.deleteIfExists(tmp);
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException notPosix) {
                Files.createFile(tmp);
            }
            Files.writeString(tmp, token + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file(runDir), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new LocalClusterException("cannot write " + file(runDir) + ": " + e.getMessage(), e);
        }
        return token;
    }

    public static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
