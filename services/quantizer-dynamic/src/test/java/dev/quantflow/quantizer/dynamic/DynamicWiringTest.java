package dev.quantflow.quantizer.dynamic;



import org.junit.jupiter.api.Test;

import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The dynamic INT8 pool on a real broker and S3 server: it consumes its topic, hands the model to the validator, fails with a code. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class DynamicWiringTest extends StageWiringTest {


    @Test
    void int8ModelOfTheLstmGoesToTheValidator() throws Exception {
        assertQuantizedSmaller(Topics.QUANTIZE_DYNAMIC, "lstm/model.onnx", "dynamic", "model.int8.onnx");
    }

    @Test
    void corruptModelFailsTheJobWithItsReasonCode() throws Exception {
        assertQuantizerRefuses(Topics.QUANTIZE_DYNAMIC, "not an ONNX model".getBytes(), "dynamic", ReasonCodes.INVALID_MODEL);
    }
}
