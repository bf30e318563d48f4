package dev.quantflow.intake.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TenantTokensTest {

    @Test
    void tokensGivenPlainOrAsSha256NameTheirTenantAndNothingElseMatches() {
        TenantTokens tokens = new TenantTokens(Map.of(
            "acme", List.of("acme-token-0123456789", " second-acme-token-xyz "),
            "beta-2", List.of("sha256:" + TenantTokens.sha256("beta-token-0123456789"))));
        assertThat(tokens.tenantOf("acme-token-0123456789")).contains("acme");
        assertThat(tokens.tenantOf("second-acme-token-xyz")).contains("acme");
        assertThat(tokens.tenantOf("beta-token-0123456789")).contains("beta-2");
        assertThat(tokens.tenantOf("acme-token-012345678")).isEmpty();
        assertThat(tokens.tenantOf("sha256:" + TenantTokens.sha256("beta-token-0123456789"))).isEmpty();
        assertThat(tokens.tenantOf("")).isEmpty();
        assertThat(tokens.tenantOf(null)).isEmpty();
        assertThat(tokens.isTenant("beta-2")).isTrue();
        assertThat(tokens.isTenant("gamma")).isFalse();
    }

    @Test
    void badConfigurationIsRefusedAtStartWithTheKey() {
        assertThatThrownBy(() -> new TenantTokens(Map.of("acme", List.of("short"))))
            .hasMessageContaining("quantflow.auth.tokens.acme").hasMessageContaining("16 characters");
        assertThatThrownBy(() -> new TenantTokens(Map.of("Acme.Corp", List.of("acme-token-0123456789"))))
            .hasMessageContaining("no dots");
        assertThatThrownBy(() -> new TenantTokens(Map.of("a", List.of("same-token-0123456789"), "b",
            List.of("same-token-0123456789")))).hasMessageContaining("two tenants");
        assertThatThrownBy(() -> new TenantTokens(Map.of("a", List.of("sha256:abc")))).hasMessageContaining("64 hex");
    }

    @Test
    void aTokensFileAddsTenants(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("tokens.properties"), "# tenants\nacme=file-token-0123456789,other-file-token-01\n");
        assertThat(TenantTokens.readFile(file.toString())).containsEntry("acme",
            List.of("file-token-0123456789", "other-file-token-01"));
        assertThatThrownBy(() -> TenantTokens.readFile(tmp.resolve("missing").toString())).hasMessageContaining("cannot be read");
    }

    @Test
    void theEnvFormNamesTheTenantAsTheReadmeSays() {
        io.smallrye.config.SmallRyeConfig config = new io.smallrye.config.SmallRyeConfigBuilder()
            .withSources(new io.smallrye.config.EnvConfigSource(Map.of(
                "QUANTFLOW_AUTH_TOKENS_ACME", "env-token-0123456789,env-token-abcdefghij"), 300))
            .withMapping(AuthConfig.class).build();
        AuthConfig auth = config.getConfigMapping(AuthConfig.class);
        assertThat(auth.tokens()).containsEntry("acme", List.of("env-token-0123456789", "env-token-abcdefghij"));
        assertThat(new TenantTokens(auth).tenantOf("env-token-abcdefghij")).contains("acme");
    }

    @Test
    void jobIdsNameTheirTenant() {
        assertThat(Tenants.ofJob("acme.job-1234")).contains("acme");
        assertThat(Tenants.ofJob("job-1234")).isEmpty();
        assertThat(Tenants.ofJob(".job-1")).isEmpty();
        assertThat(Tenants.ofJob("ACME.job-1")).isEmpty();
        assertThat(Tenants.owns("acme", "acme.job-1")).isTrue();
        assertThat(Tenants.owns("acme", "acme-2.job-1")).isFalse();
        assertThat(Tenants.owns(null, "acme.job-1")).isFalse();
    }
}
