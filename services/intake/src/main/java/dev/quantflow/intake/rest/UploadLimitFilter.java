package dev.quantflow.intake.rest;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.intake.config.IntakeConfig;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;

/**
 * Refuses a submit whose declared body is over {@code quantflow.intake.max-upload-size} (or over what intake's heap
 * can check: a third of it) with 413 and a JSON reason, before a byte of the body is read. A body sent without a
 * length (chunked) is cut off at the same limit by Quarkus' {@code quarkus.http.limits.max-body-size}.
 */
@ApplicationScoped
public class UploadLimitFilter {

    static final String CODE = "UPLOAD_TOO_LARGE";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    IntakeConfig config;

    void register(@Observes Filters filters) {
        long limit = config.maxUploadSize().asLongValue();
        long heapLimit = Runtime.getRuntime().maxMemory() / 3;
        filters.register(rc -> {
            String length = rc.request().getHeader(HttpHeaders.CONTENT_LENGTH);
            if (rc.request().method() == HttpMethod.POST && rc.normalizedPath().startsWith("/api/") && length != null) {
                long size;
                try {
                    size = Long.parseLong(length.trim());
                } catch (NumberFormatException e) {
                    size = -1;
                }
                String reason = null;
                if (size > limit) {
                    reason = "the upload is " + UploadForm.mib(size) + "; this intake takes at most " + UploadForm.mib(limit)
                        + " per submit (quantflow.intake.max-upload-size)";
                } else if (size > heapLimit) {
                    reason = "the upload is " + UploadForm.mib(size) + "; intake checks a model and its data in memory and its heap ("
                        + UploadForm.mib(Runtime.getRuntime().maxMemory()) + ") takes at most " + UploadForm.mib(heapLimit)
                        + " (raise -Xmx, or submit by reference from the store)";
                }
                if (reason != null) {
                    rc.response().setStatusCode(413).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                        .putHeader(HttpHeaders.CONNECTION, "close").end(body(reason));
                    return;
                }
            }
            rc.next();
        }, 100);
    }

    private static String body(String reason) {
        try {
            return JSON.writeValueAsString(new ApiError(CODE, reason));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
