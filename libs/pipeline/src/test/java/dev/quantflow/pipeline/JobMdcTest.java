package dev.quantflow.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.jboss.logging.MDC;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class JobMdcTest {

    @AfterEach
    void clean() {
        JobMdc.clear();
    }

    @Test
    void setsBothKeysWhileTheWorkRunsAndClearsThemAfter() throws Exception {
        String seen = JobMdc.call("job-1", "calibration", () -> MDC.get(JobMdc.JOB_ID) + "/" + MDC.get(JobMdc.STAGE));
        assertThat(seen).isEqualTo("job-1/calibration");
        assertThat(MDC.get(JobMdc.JOB_ID)).isNull();
        assertThat(MDC.get(JobMdc.STAGE)).isNull();
    }

    @Test
    void clearsThemAlsoWhenTheWorkThrows() {
        assertThatThrownBy(() -> JobMdc.call("job-2", "quantize", () -> {
            throw new IllegalStateException("boom");
        })).hasMessage("boom");
        assertThat(MDC.get(JobMdc.JOB_ID)).isNull();
        assertThat(MDC.get(JobMdc.STAGE)).isNull();
    }

    @Test
    void aBlankJobIdLeavesTheKeyUnset() {
        JobMdc.set(" ", "intake");
        assertThat(MDC.get(JobMdc.JOB_ID)).isNull();
        assertThat(MDC.get(JobMdc.STAGE)).isEqualTo("intake");
    }
}
