package dev.quantflow.intake.rest;

import jakarta.ws.rs.core.HttpHeaders;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import dev.quantflow.intake.service.RejectedInputException;
import dev.quantflow.pipeline.Failures;

/** Turns refusals into JSON answers; never a stack trace or a class name. */
public class ApiExceptionMappers {

    private static final Logger LOG = Logger.getLogger(ApiExceptionMappers.class);

    @ServerExceptionMapper
    public Response rejected(RejectedInputException e) {
        return Response.status(e.status()).type(MediaType.APPLICATION_JSON_TYPE)
            .entity(new ApiError(e.code(), Failures.clean(e.getMessage()))).build();
    }

    /** No token, or the permission check found no identity: say how to authenticate. */
    @ServerExceptionMapper
    public Response unauthenticated(UnauthorizedException e) {
        return unauthorized("no API token: send 'Authorization: Bearer <token>' (./quantflow up writes a local one to "
            + "<run dir>/api-token; the CLI reads it, or --token / QUANTFLOW_TOKEN)");
    }

    @ServerExceptionMapper
    public Response badToken(AuthenticationFailedException e) {
        return unauthorized("the API token is not valid (not one of quantflow.auth.tokens.<tenant>)");
    }

    @ServerExceptionMapper
    public Response forbidden(ForbiddenException e) {
        return Response.status(403).type(MediaType.APPLICATION_JSON_TYPE)
            .entity(new ApiError("FORBIDDEN", "this token may not do that")).build();
    }

    private static Response unauthorized(String reason) {
        return Response.status(401).type(MediaType.APPLICATION_JSON_TYPE)
            .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"quantflow\"")
            .entity(new ApiError("UNAUTHENTICATED", reason)).build();
    }

    @ServerExceptionMapper
    public Response unexpected(IllegalStateException e) {
        LOG.error("unexpected error", e);
        return Response.status(500).type(MediaType.APPLICATION_JSON_TYPE)
            .entity(new ApiError("INTERNAL_ERROR", Failures.reasonOf(e))).build();
    }
}
