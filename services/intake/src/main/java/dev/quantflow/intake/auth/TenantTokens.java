package dev.quantflow.intake.auth;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

/**
 * The configured API tokens ({@link AuthConfig}), looked up by their SHA-256: a token is compared as a digest, so a
 * lookup takes the same time whatever prefix of a real token is guessed, and only digests are kept in memory.
 */
@ApplicationScoped
public class TenantTokens {

    private static final Logger LOG = Logger.getLogger(TenantTokens.class);
    private static final int MIN_TOKEN_LENGTH = 16;

    private final Map<String, String> tenantByDigest = new HashMap<>();

    @Inject
    public TenantTokens(AuthConfig config) {
        this(merge(config.tokens(), config.tokensFile().map(TenantTokens::readFile).orElse(Map.of())));
    }

    /** {@code <tenant>=<token>[,<token>…]} lines of a properties file. */
    static Map<String, List<String>> readFile(String file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("quantflow.auth.tokens-file " + file + " cannot be read: " + e.getMessage(), e);
        }
        Map<String, List<String>> out = new HashMap<>();
        for (String tenant : p.stringPropertyNames()) {
            out.put(tenant.trim(), Arrays.asList(p.getProperty(tenant).split(",")));
        }
        return out;
    }

    private static Map<String, List<String>> merge(Map<String, List<String>> a, Map<String, List<String>> b) {
        Map<String, List<String>> out = new HashMap<>();
        a.forEach((k, v) -> out.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
        b.forEach((k, v) -> out.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
        return out;
    }

    public TenantTokens(Map<String, List<String>> tokens) {
        for (Map.Entry<String, List<String>> e : tokens.entrySet()) {
            String tenant = e.getKey();
            if (!Tenants.validName(tenant)) {
                throw new IllegalArgumentException("quantflow.auth.tokens." + tenant + ": a tenant name is 1 to 32 lower-case"
                    + " letters, digits or dashes (no dots)");
            }
            for (String token : e.getValue()) {
                String t = token.trim();
                if (t.isEmpty()) {
                    continue;
                }
                String digest;
                if (t.toLowerCase(Locale.ROOT).startsWith("sha256:")) {
                    digest = t.substring("sha256:".length()).toLowerCase(Locale.ROOT);
                    if (!digest.matches("[0-9a-f]{64}")) {
                        throw new IllegalArgumentException("quantflow.auth.tokens." + tenant + ": sha256: needs 64 hex digits");
                    }
                } else if (t.length() < MIN_TOKEN_LENGTH) {
                    throw new IllegalArgumentException("quantflow.auth.tokens." + tenant + ": a token needs at least "
                        + MIN_TOKEN_LENGTH + " characters");
                } else {
                    digest = sha256(t);
                }
                String previous = tenantByDigest.put(digest, tenant);
                if (previous != null && !previous.equals(tenant)) {
                    throw new IllegalArgumentException("one API token is configured for two tenants: " + previous + " and " + tenant);
                }
            }
        }
        if (tenantByDigest.isEmpty()) {
            LOG.warn("no API tokens configured (quantflow.auth.tokens.<tenant>): every /api request is refused with 401");
        }
    }

    /** The tenant of {@code token}, if it is a configured one. */
    public Optional<String> tenantOf(String token) {
        if (token == null || token.isEmpty()) {
            return Optional.empty();
        }
        return Optional.ofNullable(tenantByDigest.get(sha256(token)));
    }

    public boolean isTenant(String tenant) {
        return tenantByDigest.containsValue(tenant);
    }

    public static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
