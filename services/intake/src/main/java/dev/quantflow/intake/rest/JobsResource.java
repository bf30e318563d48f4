package dev.quantflow.intake.rest;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.jboss.resteasy.reactive.RestStreamElementType;
import org.jboss.resteasy.reactive.server.multipart.MultipartFormDataInput;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobInputs;
import dev.quantflow.intake.auth.Tenants;
import dev.quantflow.intake.config.IntakeConfig;
import dev.quantflow.intake.service.IntakeMetrics;
import dev.quantflow.contracts.JobOptions;
import dev.quantflow.intake.service.JobProjection;
import dev.quantflow.intake.service.JobSubmitter;
import dev.quantflow.intake.service.JobView;
import dev.quantflow.intake.service.RejectedInputException;
import dev.quantflow.pipeline.EventHeaders;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.quarkus.ServiceIdentity;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreException;
import io.quarkus.security.identity.SecurityIdentity;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;

/**
 * The jobs API: submit, status with history, live progress (SSE), report, download links. The OpenAPI document
 * ({@code /q/openapi}, Swagger UI at {@code /q/swagger-ui}) is generated from these annotations; keep them in step
 * with the README's REST table. Every 4xx/5xx body is an {@link ApiError}.
 */
@Path("/api/jobs")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "jobs", description = "Submit quantization jobs and follow them to a model")
public class JobsResource {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    JobSubmitter submitter;
    @Inject
    IntakeMetrics metrics;
    @Inject
    JobProjection projection;
    @Inject
    ArtifactStore store;
    @Inject
    IntakeConfig config;
    @Inject
    ServiceIdentity identity;
    @Inject
    SecurityIdentity caller;

    /** Multipart submit: file parts {@code model}, {@code calibration}, {@code validation}; options as text fields. */
    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    @Operation(summary = "Submit a job with uploaded files",
        description = "Validates the model and data, stores them and starts the job. Files: model, calibration, validation, "
            + "tokenizer, training; the options as text fields (the same names as the JSON submit's).")
    @APIResponse(responseCode = "202", description = "accepted: the job id and links to its status, events, report and artifacts")
    @APIResponse(responseCode = "400", description = "bad options or a missing input (INVALID_REQUEST, MISSING_INPUT)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "401", description = "no or an unknown API token (UNAUTHENTICATED)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "413", description = "an upload over quantflow.intake.max-upload-size (UPLOAD_TOO_LARGE)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "422", description = "the model or a dataset cannot be used (INVALID_MODEL, INVALID_DATASET, ARTIFACT_CORRUPT, …)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "503", description = "the store or the broker is unavailable; nothing was kept, try again",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    public Response submit(MultipartFormDataInput form) {
        String tenant = tenant();
        UploadForm upload;
        JobOptions options;
        try {
            upload = UploadForm.of(form, config.maxUploadSize().asLongValue());
            options = SubmitFields.options(upload.fields());
        } catch (RejectedInputException e) {
            metrics.refused(e.code());
            throw e;
        }
        String jobId = submitter.submitUpload(tenant, upload.read(), options);
        return accepted(jobId);
    }

    /** JSON submit by reference to objects already in the artifact store, under the tenant's own prefix. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Submit a job with inputs already in the store",
        description = "The same checks and start as the multipart submit, for model and data given as {bucket, key}. "
            + "Every key must be the caller's tenant's: under tenants/<tenant>/ or jobs/<tenant>. in the service's bucket.")
    @RequestBody(content = @Content(mediaType = MediaType.APPLICATION_JSON,
        schema = @Schema(implementation = JobDtos.ReferenceRequest.class)))
    @APIResponse(responseCode = "202", description = "accepted: the job id and links to its status, events, report and artifacts")
    @APIResponse(responseCode = "400", description = "bad options or a missing input (INVALID_REQUEST, MISSING_INPUT)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "401", description = "no or an unknown API token (UNAUTHENTICATED)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "403", description = "a reference outside the tenant's own prefix (FORBIDDEN_REFERENCE)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "422", description = "the model or a dataset cannot be used (INVALID_MODEL, INVALID_DATASET, ARTIFACT_CORRUPT, …)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "503", description = "the store or the broker is unavailable; nothing was kept, try again",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    public Response submitReferences(JsonNode body) {
        String tenant = tenant();
        JobInputs inputs;
        JobOptions options;
        try {
            if (body == null || !body.isObject()) {
                throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "the request body must be a JSON object");
            }
            options = SubmitFields.options(body);
            inputs = JobInputs.newBuilder()
                .setName(body.path("name").asText(""))
                .setModel(SubmitFields.ref(body, "model"))
                .setCalibration(SubmitFields.ref(body, "calibration"))
                .setValidation(SubmitFields.ref(body, "validation"))
                .setTokenizer(SubmitFields.ref(body, "tokenizer"))
                .setTraining(SubmitFields.ref(body, "training"))
                .build();
        } catch (RejectedInputException e) {
            metrics.refused(e.code());
            throw e;
        }
        String jobId = JobSubmitter.newJobId(tenant);
        submitter.submitReferences(EventHeaders.fresh(jobId, 1, identity.name(), identity.version()), inputs, options);
        return accepted(jobId);
    }

    @GET
    @Operation(summary = "List the jobs", description = "The caller's tenant's jobs, with their state and stage.")
    @APIResponse(responseCode = "200", description = "the jobs")
    @APIResponse(responseCode = "401", description = "no or an unknown API token (UNAUTHENTICATED)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    public Collection<JobDtos.Job> list() {
        String tenant = tenant();
        return projection.all().stream().filter(s -> Tenants.owns(tenant, s.jobId())).map(JobDtos::job).toList();
    }

    @GET
    @Path("{id}")
    @Operation(summary = "A job's state",
        description = "State, stage, attempt, the full history, and the headline result or the failure reason.")
    @APIResponse(responseCode = "200", description = "the job")
    @APIResponse(responseCode = "404", description = "no such job of the caller's tenant (UNKNOWN_JOB)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    public JobDtos.Job get(@PathParam("id") String id) {
        return JobDtos.job(snapshot(id));
    }

    /** Live progress: the history so far, then every new status, ending after READY or FAILED. */
    @GET
    @Path("{id}/events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.APPLICATION_JSON)
    @Blocking // the tenant check resolves the caller's identity, which may not happen on the IO thread
    @Operation(summary = "A job's progress as Server-Sent Events",
        description = "The history so far, then every new status live; the stream ends at READY or FAILED.")
    @APIResponse(responseCode = "200", description = "a stream of status events")
    @APIResponse(responseCode = "404", description = "no such job of the caller's tenant (UNKNOWN_JOB)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    public Multi<JobDtos.StatusEvent> events(@PathParam("id") String id) {
        snapshot(id);
        return Multi.createFrom().emitter(em -> {
            int[] sent = {0};
            Consumer<JobView.Snapshot> push = s -> {
                synchronized (sent) {
                    for (int i = sent[0]; i < s.history().size(); i++) {
                        var h = s.history().get(i);
                        em.emit(new JobDtos.StatusEvent(s.jobId(), jobStateAt(h, i), h.at(), h.stage(), h.state(),
                            h.attempt(), h.progress(), h.message()));
                    }
                    sent[0] = Math.max(sent[0], s.history().size());
                    if (s.terminal()) {
                        em.complete();
                    }
                }
            };
            Runnable cancel = projection.listen(id, push);
            em.onTermination(cancel);
            projection.get(id).ifPresent(push);
        });
    }

    /** The job's state as it was when the history entry was written. */
    private static String jobStateAt(JobView.HistoryEntry h, int index) {
        if (dev.quantflow.pipeline.JobStates.terminal(h.state())) {
            return h.state();
        }
        return index == 0 && dev.quantflow.pipeline.JobStates.ACCEPTED.equals(h.state())
            ? dev.quantflow.pipeline.JobStates.ACCEPTED : dev.quantflow.pipeline.JobStates.RUNNING;
    }

    @GET
    @Path("{id}/report")
    @Operation(summary = "A finished job's report (JSON)")
    @APIResponse(responseCode = "200", description = "report.json", content = @Content(mediaType = MediaType.APPLICATION_JSON))
    @APIResponse(responseCode = "404", description = "no such job of the caller's tenant (UNKNOWN_JOB), or it failed without a report (NO_REPORT)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "409", description = "the job is still running (JOB_NOT_FINISHED)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "503", description = "the artifact store is unavailable",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    public Response report(@PathParam("id") String id) {
        return Response.ok(reportBytes(snapshot(id), "report.json")).type(MediaType.APPLICATION_JSON_TYPE).build();
    }

    @GET
    @Path("{id}/report.html")
    @Produces(MediaType.TEXT_HTML)
    @Operation(summary = "A finished job's report (HTML)")
    @APIResponse(responseCode = "200", description = "report.html", content = @Content(mediaType = MediaType.TEXT_HTML))
    @APIResponse(responseCode = "404", description = "no such job of the caller's tenant (UNKNOWN_JOB), or it failed without a report (NO_REPORT)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "409", description = "the job is still running (JOB_NOT_FINISHED)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "503", description = "the artifact store is unavailable",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    public Response reportHtml(@PathParam("id") String id) {
        return Response.ok(reportBytes(snapshot(id), "report.html")).type(MediaType.TEXT_HTML_TYPE).build();
    }

    /** Download links (presigned, time-limited) for every file in the job's manifest. */
    @GET
    @Path("{id}/artifacts")
    @Operation(summary = "Download links for a finished job's files",
        description = "Presigned, time-limited links with sha256 and size for every file in the job's manifest.")
    @APIResponse(responseCode = "200", description = "the job's files")
    @APIResponse(responseCode = "404", description = "no such job of the caller's tenant (UNKNOWN_JOB), or it failed without a report (NO_REPORT)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "409", description = "the job is still running (JOB_NOT_FINISHED)",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    @APIResponse(responseCode = "503", description = "the artifact store is unavailable",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ApiError.class)))
    public JobDtos.Artifacts artifacts(@PathParam("id") String id) {
        JobView.Snapshot s = snapshot(id);
        byte[] manifestBytes = reportBytes(s, "manifest.json");
        try {
            JsonNode manifest = JSON.readTree(manifestBytes);
            List<JobDtos.Artifact> out = new ArrayList<>();
            for (JsonNode f : manifest.path("files")) {
                if (!f.path("key").asText().startsWith(ArtifactKeys.jobPrefix(id))) {
                    // a manifest only lists the job's own objects; never presign anything else
                    throw new RejectedInputException(503, ReasonCodes.STAGE_ERROR, "the job's manifest names '"
                        + f.path("key").asText() + "', outside the job; refusing to link it");
                }
                ArtifactRef ref = store.ref(f.path("key").asText(), f.path("sha256").asText(), f.path("size").asLong(),
                    f.path("mediaType").asText("application/octet-stream"));
                out.add(new JobDtos.Artifact(f.path("name").asText(), ref.getKey(), ref.getSha256(), ref.getSize(),
                    store.presignedGet(ref, (int) config.downloadLinkExpiry().toSeconds())));
            }
            return new JobDtos.Artifacts(id, out);
        } catch (IOException | StoreException e) {
            throw new RejectedInputException(503, ReasonCodes.STAGE_ERROR, "cannot read the job's manifest: " + e.getMessage());
        }
    }

    private byte[] reportBytes(JobView.Snapshot s, String file) {
        if (!s.terminal()) {
            throw new RejectedInputException(409, "JOB_NOT_FINISHED", "job " + s.jobId() + " is " + s.state()
                + " (" + s.stage() + "); its report exists once it is READY");
        }
        try {
            return store.get(ArtifactKeys.output(s.jobId(), file));
        } catch (StoreException e) {
            if (e.notFound() && s.failure() != null) {
                throw new RejectedInputException(404, "NO_REPORT", "job " + s.jobId() + " failed without a report: "
                    + s.failure().getReasonCode() + ": " + s.failure().getReason());
            }
            if (e.notFound()) {
                throw new RejectedInputException(404, "NO_REPORT", "job " + s.jobId() + " has no " + file);
            }
            throw new RejectedInputException(503, ReasonCodes.STAGE_ERROR, "artifact store unavailable: " + e.getMessage());
        }
    }

    /** The job, when it is the caller's tenant's; another tenant's job is answered like one that does not exist. */
    private JobView.Snapshot snapshot(String id) {
        return projection.get(id).filter(s -> Tenants.owns(tenant(), s.jobId()))
            .orElseThrow(() -> new RejectedInputException(404, "UNKNOWN_JOB", "no job '" + id + "'"));
    }

    /** The authenticated caller's tenant (the {@code /api/*} permission lets no anonymous request in). */
    private String tenant() {
        if (caller.isAnonymous()) {
            throw new io.quarkus.security.UnauthorizedException();
        }
        return caller.getPrincipal().getName();
    }

    private Response accepted(String jobId) {
        String base = "/api/jobs/" + jobId;
        return Response.accepted(new JobDtos.Accepted(jobId, "ACCEPTED", Map.of("self", base, "events", base + "/events",
            "report", base + "/report", "artifacts", base + "/artifacts"))).build();
    }
}
