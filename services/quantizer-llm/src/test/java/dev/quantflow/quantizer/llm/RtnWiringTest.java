package dev.quantflow.quantizer.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** quantizer-llm as the RTN pool on a real broker and S3 server: round-to-nearest needs no statistics. */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
@TestProfile(RtnWiringTest.Pool.class)
class RtnWiringTest extends StageWiringTest {
    /** This class's app is the RTN pool. */
    public static final class Pool implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quantflow.llm.method", "rtn");
        }
    }




    static final Recipe INT4 = Recipe.newBuilder().setBits(4).setBlockSize(128).build();

    @Test
    void rtnJobOfTheTinyGptGoesToTheValidator() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = publishQuantize(job, Topics.QUANTIZE_RTN, Fixtures.path("gpt/model.onnx"), "rtn", INT4);

        ValidationRequested v = assertHandedToValidator(job, "model.int4.onnx");
        assertThat(v.getQuantizedModel().getSize()).isLessThan(model.getSize() / 2);
        assertThat(v.getBaselineModel()).as("RTN is its own baseline").isNull();
    }
}
