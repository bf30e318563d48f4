package dev.quantflow.intake.rest;

import dev.quantflow.testsupport.JobProbe;

/** The API tokens of the test profile ({@code %test.quantflow.auth.tokens.*} in application.properties). */
public final class TestTokens {

    public static final String TENANT = "test";
    public static final String TOKEN = "test-token-0123456789abcdef";
    public static final String OTHER_TENANT = "other";
    public static final String OTHER_TOKEN = "other-token-0123456789abcdef";

    private TestTokens() {
    }

    public static String bearer() {
        return "Bearer " + TOKEN;
    }

    /** A folder of the test tenant's own for inputs put into the store ({@code jobs/test.job-…/input/}). */
    public static String upload() {
        return TENANT + "." + JobProbe.newJobId();
    }
}
