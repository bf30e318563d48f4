package dev.quantflow.intake.auth;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;

/**
 * API tokens per tenant ({@code quantflow.auth.*}): {@code quantflow.auth.tokens.<tenant>=<token>[,<token>…]}. A
 * token is given either as itself (at least 16 characters) or as {@code sha256:<64 hex digits>} of itself, so that a
 * config file or a command line need not hold the secret. Env form: {@code QUANTFLOW_AUTH_TOKENS_<TENANT>}.
 */
@ConfigMapping(prefix = "quantflow.auth")
public interface AuthConfig {

    /** Tenant name → its tokens. Tenant names: lower-case letters, digits and dashes, 1 to 32, starting with a letter or digit. */
    Map<String, List<String>> tokens();

    /**
     * A properties file of more tokens, {@code <tenant>=<token>[,<token>…]} per line (e.g. a Kubernetes Secret
     * mounted as a file; env {@code QUANTFLOW_AUTH_TOKENS_FILE}). Read once at start-up.
     */
    Optional<String> tokensFile();
}
