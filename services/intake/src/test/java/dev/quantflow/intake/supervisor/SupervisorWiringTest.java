package dev.quantflow.intake.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;


import dev.quantflow.intake.IntakeRestWiringTest;
import dev.quantflow.events.JobFailed;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.intake.rest.TestTokens;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The supervisor inside intake on a real broker and S3 server: a job with a 2 s budget and no calibration worker to
 * pick it up fails with DEADLINE_EXCEEDED, and its failed marker is in the store for every stage to see.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class SupervisorWiringTest extends IntakeRestWiringTest {

    @Test
    void aJobPastItsTimeBudgetFailsWithDeadlineExceeded() throws Exception {
        String job = acceptedJobId(submitByReference(storeInputs(Fixtures.path("fashion-cnn/model.onnx")),
            Map.of("method", "static", "timeBudgetSeconds", 2)));

        // nothing consumes the calibration request here: the job waits after intake until its deadline
        JobFailed f = assertJobFailed(job, ReasonCodes.DEADLINE_EXCEEDED, Stages.INTAKE, Topics.QUANTIZE_STATIC);
        assertThat(f.getReason()).contains("past its time budget", "waiting for the next stage's worker");
        assertThat(probe.store().exists(ArtifactKeys.failedMarker(job))).isTrue();
    }
}
