package dev.quantflow.intake.auth;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.IdentityProvider;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.request.TokenAuthenticationRequest;
import io.quarkus.security.runtime.QuarkusPrincipal;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.smallrye.mutiny.Uni;

/** A configured token's identity: the principal's name is the tenant, with the role {@code tenant}. */
@ApplicationScoped
public class TenantTokenIdentityProvider implements IdentityProvider<TokenAuthenticationRequest> {

    public static final String ROLE = "tenant";

    @Inject
    TenantTokens tokens;

    @Override
    public Class<TokenAuthenticationRequest> getRequestType() {
        return TokenAuthenticationRequest.class;
    }

    @Override
    public Uni<SecurityIdentity> authenticate(TokenAuthenticationRequest request, AuthenticationRequestContext context) {
        return tokens.tenantOf(request.getToken().getToken())
            .<Uni<SecurityIdentity>>map(tenant -> Uni.createFrom().item(QuarkusSecurityIdentity.builder()
                .setPrincipal(new QuarkusPrincipal(tenant)).addRole(ROLE).addCredential(request.getToken()).build()))
            .orElseGet(() -> Uni.createFrom().failure(new AuthenticationFailedException("the API token is not valid")));
    }
}
