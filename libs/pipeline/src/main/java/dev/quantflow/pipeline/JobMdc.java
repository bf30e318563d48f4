package dev.quantflow.pipeline;

import java.util.concurrent.Callable;

import org.jboss.logging.MDC;

/**
 * The job id and stage in the logging context ({@link MDC}) of the thread that works on a job, so every log line
 * of that work carries them: as the {@code mdc} object of a JSON log line ({@code quarkus-logging-json}), or in a
 * text format through {@code %X{jobId}}. The stage worker sets them while it handles a record, intake while it
 * submits a job; both clear them afterwards, because worker threads are reused for other jobs.
 */
public final class JobMdc {

    public static final String JOB_ID = "jobId";
    public static final String STAGE = "stage";

    private JobMdc() {
    }

    /** Sets both keys on this thread; a null or blank job id leaves {@code jobId} unset. */
    public static void set(String jobId, String stage) {
        if (jobId != null && !jobId.isBlank()) {
            MDC.put(JOB_ID, jobId);
        }
        if (stage != null) {
            MDC.put(STAGE, stage);
        }
    }

    /** Removes both keys from this thread. */
    public static void clear() {
        MDC.remove(JOB_ID);
        MDC.remove(STAGE);
    }

    /** Runs {@code work} with both keys set on this thread, and clears them after, however it ends. */
    public static <T> T call(String jobId, String stage, Callable<T> work) throws Exception {
        set(jobId, stage);
        try {
            return work.call();
        } finally {
            clear();
        }
    }
}
