package dev.quantflow.intake.auth;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Which tenant a job belongs to. A job id is {@code <tenant>.job-<uuid>}: the tenant is part of the id, so every
 * copy of the job's events and every object key under {@code jobs/<job id>/} names it, and a restarted intake knows
 * the owner of every job from the events alone. A tenant's artifacts therefore share the key prefix
 * {@code jobs/<tenant>.}; objects a tenant hands in by reference live under {@code tenants/<tenant>/}.
 */
public final class Tenants {

    /** Lower-case letters, digits and dashes; never a dot, so the first dot of a job id ends the tenant. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");

    private Tenants() {
    }

    public static boolean validName(String tenant) {
        return tenant != null && NAME.matcher(tenant).matches();
    }

    /** The tenant a job id names; empty for ids without one (jobs from before tenants, or malformed ids). */
    public static Optional<String> ofJob(String jobId) {
        if (jobId == null) {
            return Optional.empty();
        }
        int dot = jobId.indexOf('.');
        if (dot <= 0 || dot == jobId.length() - 1) {
            return Optional.empty();
        }
        String tenant = jobId.substring(0, dot);
        return validName(tenant) ? Optional.of(tenant) : Optional.empty();
    }

    public static boolean owns(String tenant, String jobId) {
        return tenant != null && ofJob(jobId).map(tenant::equals).orElse(false);
    }

    /** Where a tenant puts the objects it submits by reference: {@code tenants/<tenant>/}. */
    public static String inputPrefix(String tenant) {
        return "tenants/" + tenant + "/";
    }

    /** The key prefix of every artifact of the tenant's jobs: {@code jobs/<tenant>.}. */
    public static String jobsPrefix(String tenant) {
        return "jobs/" + tenant + ".";
    }
}
