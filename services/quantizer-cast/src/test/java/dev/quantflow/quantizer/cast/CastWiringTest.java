package dev.quantflow.quantizer.cast;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.JobFailed;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The FP16/BF16 pool on a real broker and S3 server: it consumes its topic, hands the model to the validator, fails with a code. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class CastWiringTest extends StageWiringTest {


    @Test
    void fp16ModelGoesToTheValidator() throws Exception {
        assertQuantizedSmaller(Topics.QUANTIZE_CAST, "fashion-cnn/model.onnx", "fp16", "model.fp16.onnx");
    }

    @Test
    void aMethodThePoolDoesNotRunFailsTheJob() throws Exception {
        JobFailed failed = assertQuantizerRefuses(Topics.QUANTIZE_CAST,
            Files.readAllBytes(Fixtures.path("fashion-cnn/model.onnx")), "static", ReasonCodes.UNSUPPORTED_METHOD);
        assertThat(failed.getReason()).contains("runs bf16, fp16");
    }
}
