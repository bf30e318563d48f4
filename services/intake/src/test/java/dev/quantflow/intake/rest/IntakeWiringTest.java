package dev.quantflow.intake.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.quantflow.intake.IntakeRestWiringTest;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Intake on a real broker and S3 server: a JSON submit of inputs already in the store starts the job with one
 * {@code CalibrationRequested}; a model that is not ONNX is refused with 422 and a reason, and no job is created.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class IntakeWiringTest extends IntakeRestWiringTest {

    private static final Map<String, Object> STATIC = Map.of("name", "wiring", "method", "static");

    private static Map<String, Object> staticWith(String option, Object value) {
        Map<String, Object> options = new java.util.HashMap<>(STATIC);
        options.put(option, value);
        return options;
    }

    @Test
    void aSubmitByReferenceIsAcceptedAndStartsCalibration() throws Exception {
        Inputs in = storeInputs(Fixtures.path("fashion-cnn/model.onnx"));

        String job = acceptedJobId(submitByReference(in, STATIC));
        assertThat(job).startsWith("test.job-");

        List<CalibrationRequested> started = probe.awaitFirst(Topics.CALIBRATION_REQUESTED, job, WAIT);
        assertThat(started).hasSize(1);
        assertThat(started.getFirst().getContext().getPlan().getMethod()).isEqualTo("static");
        assertThat(started.getFirst().getContext().getInputs().getModel().getKey()).isEqualTo(in.model().getKey());
        assertThat(probe.readFor(Topics.QUANTIZE_STATIC, job, QUIET)).as("static calibrates first").isEmpty();
    }

    @Test
    void metricIouIsAcceptedAndAnUnknownMetricIsRefusedWith400ListingTheValidOnes() throws Exception {
        Inputs in = storeInputs(Fixtures.path("fashion-cnn/model.onnx"));

        String job = acceptedJobId(submitByReference(in, staticWith("metric", "iou")));
        List<CalibrationRequested> started = probe.awaitFirst(Topics.CALIBRATION_REQUESTED, job, WAIT);
        assertThat(started.getFirst().getContext().getPlan().getMetric()).isEqualTo("iou");

        HttpResponse<String> refused = submitByReference(in, staticWith("metric", "dice"));
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
        JsonNode error = JSON.readTree(refused.body());
        assertThat(error.path("error").asText()).isEqualTo("INVALID_REQUEST");
        assertThat(error.path("reason").asText()).contains("'dice'")
            .contains("auto, top1, agreement, cosine, mse, iou, perplexity");
    }

    @Test
    void aModelThatIsNotOnnxIsRefusedWithAReasonAndNothingStarts() throws Exception {
        HttpResponse<String> r = submitByReference(storeInputs("not an ONNX model".getBytes()), STATIC);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        JsonNode error = JSON.readTree(r.body());
        assertThat(error.path("error").asText()).isEqualTo("INVALID_MODEL");
        assertThat(error.path("reason").asText()).isNotBlank().doesNotContain("\tat ", "Exception");
        assertThat(error.has("jobId")).isFalse();
    }
}
