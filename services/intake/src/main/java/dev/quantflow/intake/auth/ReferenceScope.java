package dev.quantflow.intake.auth;

import dev.quantflow.intake.service.RejectedInputException;
import dev.quantflow.pipeline.ReasonCodes;

/**
 * What a submit by reference may name: objects of the service's own bucket under the tenant's prefixes,
 * {@code tenants/<tenant>/} (inputs the tenant put there) or {@code jobs/<tenant>.} (its own jobs' files). Intake
 * reads with its own credentials, so without this check any caller could have it read, and turn into a job, any
 * object those credentials reach (a confused deputy).
 */
public final class ReferenceScope {

    private ReferenceScope() {
    }

    /** @throws RejectedInputException 403 FORBIDDEN_REFERENCE with the reason when the reference is not the tenant's */
    public static void check(String tenant, String serviceBucket, String bucket, String key) {
        String where = "references must be in bucket '" + serviceBucket + "' under '" + Tenants.inputPrefix(tenant)
            + "' or '" + Tenants.jobsPrefix(tenant) + "'";
        if (bucket != null && !bucket.isBlank() && !bucket.equals(serviceBucket)) {
            throw refused("bucket '" + bucket + "' is not this tenant's; " + where);
        }
        if (key == null || key.isBlank()) {
            throw refused("a reference without a key; " + where);
        }
        if (key.startsWith("/") || key.contains("//") || key.contains("\\") || hasDotSegment(key)) {
            throw refused("key '" + key + "' has '.', '..', '//' or '\\\\' segments; " + where);
        }
        if (!key.startsWith(Tenants.inputPrefix(tenant)) && !key.startsWith(Tenants.jobsPrefix(tenant))) {
            throw refused("key '" + key + "' is outside tenant " + tenant + "'s prefix; " + where);
        }
    }

    private static boolean hasDotSegment(String key) {
        for (String segment : key.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return false;
    }

    private static RejectedInputException refused(String reason) {
        return new RejectedInputException(403, ReasonCodes.FORBIDDEN_REFERENCE, reason);
    }
}
