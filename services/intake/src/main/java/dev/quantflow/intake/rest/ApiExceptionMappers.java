package dev.quantflow.intake.rest;

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

    @ServerExceptionMapper
    public Response unexpected(IllegalStateException e) {
        LOG.error("unexpected error", e);
        return Response.status(500).type(MediaType.APPLICATION_JSON_TYPE)
            .entity(new ApiError("INTERNAL_ERROR", Failures.reasonOf(e))).build();
    }
}
