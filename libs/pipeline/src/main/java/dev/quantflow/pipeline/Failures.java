package dev.quantflow.pipeline;

import java.util.regex.Pattern;

/**
 * How the stage worker classifies a failure: whether retrying can help, its reason code, and the reason the user
 * reads (no Java class names, no stack frames).
 *
 * <p>Permanent: a {@link PermanentStageException} anywhere in the cause chain (its code and message), or an exception
 * that fails the same way on every try because it comes from the input or the code, not the environment
 * ({@link IllegalArgumentException}, {@link IllegalStateException}, {@link UnsupportedOperationException},
 * {@link ArithmeticException}, {@link IndexOutOfBoundsException}, {@link ClassCastException},
 * {@link NullPointerException}, {@link OutOfMemoryError}). Everything else (I/O, timeouts, store or broker errors)
 * is retried.
 */
public final class Failures {

    /** A failure as the worker handles it. */
    public record Classified(boolean permanent, String reasonCode, String reason) {}

    private static final Pattern FRAMES = Pattern.compile("(?s)\\R\\s*at .*");
    private static final Pattern QUALIFIED = Pattern.compile(
        "\\b(?:[a-z_][a-z0-9_]*\\.)+([A-Z][A-Za-z0-9_]*)(?:\\$[A-Za-z0-9_$]*)?");
    private static final Pattern THROWABLE_NAME = Pattern.compile("\\b[A-Z][A-Za-z0-9_]*(?:Exception|Error)\\b:?\\s*");

    private Failures() {}

    public static Classified classify(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof PermanentStageException p) {
                return new Classified(true, p.reasonCode(), reasonOf(p));
            }
            if (t.getCause() == t) {
                break;
            }
        }
        Throwable root = rootOf(failure);
        boolean permanent = isDeterministic(failure) || isDeterministic(root);
        return new Classified(permanent, ReasonCodes.STAGE_ERROR, reasonOf(failure));
    }

    /**
     * Whether the failure says a service the stage depends on is unreachable (the object store or the broker down or
     * restarting: connection refused or reset, connect timeouts, a producer that cannot reach the broker) rather than
     * that this work failed. The worker waits such outages out (within {@code quantflow.worker.outage-window})
     * without spending the job's tries.
     */
    public static boolean isUnavailable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.net.SocketException || t instanceof java.net.SocketTimeoutException
                || t instanceof java.net.UnknownHostException || t instanceof java.net.http.HttpConnectTimeoutException) {
                return true;
            }
            String name = t.getClass().getName();
            if (name.equals("org.apache.kafka.common.errors.TimeoutException")
                || name.equals("org.apache.kafka.common.errors.DisconnectException")) {
                return true;
            }
            String m = t.getMessage();
            if (t instanceof java.io.IOException && m != null && (m.startsWith("unexpected end of stream")
                || m.contains("Connection reset") || m.contains("Broken pipe") || m.startsWith("Failed to connect"))) {
                return true;
            }
        }
        return false;
    }

    /** The user-facing text of a failure: the most specific message in the chain, cleaned of class names. */
    public static String reasonOf(Throwable failure) {
        String best = null;
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = clean(t.getMessage());
            if (!m.isEmpty() && (best == null || !best.contains(m))) {
                best = best == null ? m : best.contains(m) ? best : (m.contains(best) ? m : best + ": " + m);
            }
        }
        if (best != null) {
            return best;
        }
        return describe(rootOf(failure));
    }

    /** Removes stack frames, package-qualified names (kept as their simple name) and exception class names. */
    public static String clean(String text) {
        if (text == null) {
            return "";
        }
        String s = FRAMES.matcher(text).replaceAll("");
        s = QUALIFIED.matcher(s).replaceAll("$1");
        s = THROWABLE_NAME.matcher(s).replaceAll("");
        s = s.replaceAll("\\s+", " ").trim();
        while (s.startsWith(":")) {
            s = s.substring(1).trim();
        }
        return s;
    }

    private static boolean isDeterministic(Throwable t) {
        if (t instanceof java.util.concurrent.CancellationException) {
            return false; // a job cancelled by shutdown is handed back, not failed
        }
        return t instanceof IllegalArgumentException || t instanceof IllegalStateException
            || t instanceof UnsupportedOperationException || t instanceof ArithmeticException
            || t instanceof IndexOutOfBoundsException || t instanceof ClassCastException
            || t instanceof NullPointerException || t instanceof OutOfMemoryError;
    }

    private static Throwable rootOf(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r;
    }

    private static String describe(Throwable t) {
        if (t instanceof OutOfMemoryError) {
            return "the stage ran out of memory";
        }
        if (t instanceof NullPointerException) {
            return "internal error: a required value was missing";
        }
        if (t instanceof java.io.IOException || t instanceof java.io.UncheckedIOException) {
            return "an input/output error without details";
        }
        return "internal error without details";
    }
}
