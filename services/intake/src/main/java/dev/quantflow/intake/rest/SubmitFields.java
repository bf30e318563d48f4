package dev.quantflow.intake.rest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.contracts.JobOptions;
import dev.quantflow.intake.service.RejectedInputException;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.store.ArtifactStore;

/**
 * The submit options, read once for both ways in: a JSON submit's body, and a multipart submit's text fields (put
 * into a JSON object of strings by {@link UploadForm}). A field may be a JSON value or its text ("0.02", "true",
 * "a,b"), so both ways accept the same names and give the same refusals.
 */
final class SubmitFields {

    private SubmitFields() {
    }

    static JobOptions options(JsonNode f) {
        return JobOptions.builder()
            .name(text(f, "name"))
            .method(text(f, "method"))
            .maxRelativeDrop(number(f, "maxRelativeDrop"))
            .maxAttempts(integer(f, "maxAttempts"))
            .excludedNodes(list(f, "excludedNodes"))
            .timeBudgetSeconds(integer(f, "timeBudgetSeconds"))
            .maxSizeRatio(number(f, "maxSizeRatio"))
            .metric(text(f, "metric"))
            .metricThreshold(number(f, "metricThreshold"))
            .bits(integer(f, "bits"))
            .blockSize(integer(f, "blockSize"))
            .allowRetraining(bool(f, "allowRetraining"))
            .maxLatencyMs(number(f, "maxLatencyMs"))
            .trainingSteps(integer(f, "trainingSteps"))
            .learningRate(number(f, "learningRate"))
            .profileOn(list(f, "profileOn"))
            .targetHardwareClass(text(f, "targetHardwareClass"))
            .build();
    }

    /** A JSON submit's {@code {bucket, key, sha256}}; null when the field is absent or has no key. */
    static ArtifactRef ref(JsonNode body, String field) {
        JsonNode dto = body.path(field);
        if (dto.isMissingNode() || dto.isNull()) {
            return null;
        }
        if (!dto.isObject()) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, field + " must be an object {bucket, key, sha256}");
        }
        String key = dto.path("key").asText("");
        if (key.isBlank()) {
            return null;
        }
        String bucket = dto.path("bucket").asText("");
        String sha = dto.path("sha256").isTextual() ? dto.path("sha256").asText() : null;
        return ArtifactStore.ref(bucket, key, sha, -1, "application/octet-stream");
    }

    private static JsonNode value(JsonNode f, String field) {
        JsonNode v = f.get(field);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().isBlank())) {
            return null;
        }
        return v;
    }

    private static String text(JsonNode f, String field) {
        JsonNode v = value(f, field);
        return v == null ? null : v.asText();
    }

    private static Double number(JsonNode f, String field) {
        JsonNode v = value(f, field);
        if (v == null) {
            return null;
        }
        if (v.isNumber()) {
            return v.doubleValue();
        }
        try {
            return Double.parseDouble(v.asText().trim());
        } catch (NumberFormatException e) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, field + " must be a number, was '" + v.asText() + "'");
        }
    }

    private static Integer integer(JsonNode f, String field) {
        JsonNode v = value(f, field);
        if (v == null) {
            return null;
        }
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            return v.intValue();
        }
        try {
            return Integer.parseInt(v.asText().trim());
        } catch (NumberFormatException e) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, field + " must be an integer, was '" + v.asText() + "'");
        }
    }

    private static boolean bool(JsonNode f, String field) {
        JsonNode v = value(f, field);
        if (v == null) {
            return false;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        return switch (v.asText().trim().toLowerCase()) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, field + " must be true or false, was '" + v.asText() + "'");
        };
    }

    private static List<String> list(JsonNode f, String field) {
        JsonNode v = value(f, field);
        if (v == null) {
            return List.of();
        }
        if (v.isArray()) {
            List<String> out = new ArrayList<>();
            v.forEach(e -> out.add(e.asText()));
            return out;
        }
        return Arrays.stream(v.asText().split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
