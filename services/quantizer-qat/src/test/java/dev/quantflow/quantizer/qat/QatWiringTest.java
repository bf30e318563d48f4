package dev.quantflow.quantizer.qat;

import static org.assertj.core.api.Assertions.assertThat;


import org.junit.jupiter.api.Test;

import dev.quantflow.events.TrainingParams;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.TestJobs;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The QAT pool on a real broker and S3 server: a few training steps on 32 samples, then the model and the PTQ baseline
 * go to the validator.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class QatWiringTest extends StageWiringTest {



    static Recipe fewSteps() {
        return Recipe.newBuilder().setTraining(TrainingParams.newBuilder().setSteps(4).setBatchSize(8).build()).build();
    }

    @Test
    void trainedModelGoesToTheValidatorWithItsPtqBaseline() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef training = probe.putInput(job, "training.npz", TestJobs.npzHead(Fixtures.path("fashion-cnn/train.npz"), 32));
        probe.publish(Topics.QUANTIZE_QAT, TestJobs.quantize(job,
            JobInputs.newBuilder().setModel(model).setTraining(training).build(), "qat", fewSteps(), null));

        ValidationRequested v = assertHandedToValidator(job, "model.qat.int8.onnx");
        assertThat(v.getBaselineModel().getKey()).isEqualTo("jobs/" + job + "/attempt-1/quantize/baseline.ptq.onnx");
        assertThat(probe.exists(v.getBaselineModel())).isTrue();
    }

    @Test
    void jobWithoutTrainingDataFailsWithMissingInput() throws Exception {
        String job = JobProbe.newJobId();
        publishQuantize(job, Topics.QUANTIZE_QAT, Fixtures.path("fashion-cnn/model.onnx"), "qat", fewSteps());

        assertQuantizerFailed(job, ReasonCodes.MISSING_INPUT);
    }
}
