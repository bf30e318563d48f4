package dev.quantflow.quantizer.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** quantizer-llm as the GPTQ pool on a real broker and S3 server: it refuses jobs it cannot or must not run. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
@TestProfile(GptqWiringTest.Pool.class)
class GptqWiringTest extends StageWiringTest {
    /** This class's app is the GPTQ pool. */
    public static final class Pool implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quantflow.llm.method", "gptq");
        }
    }




    static final Recipe INT4 = Recipe.newBuilder().setBits(4).setBlockSize(128).build();

    @Test
    void anRtnJobOnTheGptqTopicIsRefusedNotRun() throws Exception {
        String job = JobProbe.newJobId();
        publishQuantize(job, Topics.QUANTIZE_GPTQ, Fixtures.path("gpt/model.onnx"), "rtn", INT4);

        assertQuantizerFailed(job, ReasonCodes.UNSUPPORTED_METHOD);
    }

    @Test
    void gptqWithoutLayerInputStatisticsFailsTheJob() throws Exception {
        String job = JobProbe.newJobId();
        publishQuantize(job, Topics.QUANTIZE_GPTQ, Fixtures.path("gpt/model.onnx"), "gptq", INT4);

        assertQuantizerFailed(job, ReasonCodes.MISSING_INPUT);
    }
}
