package dev.quantflow.intake.rest;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import dev.quantflow.intake.service.RejectedInputException;

/** Turns refusals into JSON answers; never a stack trace. */
public class ApiExceptionMappers {

    private static final Logger LOG = Logger.getLogger(ApiExceptionMappers.class);

    @ServerExceptionMapper
    public Response rejected(RejectedInputException e) {
        return Response.status(e.status()).type(MediaType.APPLICATION_JSON_TYPE)
            .entity(new ApiError(e.code(), e.getMessage())).build();
    }

    @ServerExceptionMapper
    public Response unexpected(IllegalStateException e) {
        LOG.error("unexpected error", e);
        return Response.status(500).type(MediaType.APPLICATION_JSON_TYPE)
            .entity(new ApiError("INTERNAL_ERROR", e.getMessage())).build();
    }
}
