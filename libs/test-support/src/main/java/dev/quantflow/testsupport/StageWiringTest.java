package dev.quantflow.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.Topics.Topic;

/**
 * Base of the services' {@code *WiringTest}s ({@code @QuarkusTest} on {@link QuantflowInfraResource}): one
 * {@link JobProbe} on the app's own broker and store per test class, and the two outcomes every stage has — it handed
 * the job on, or it failed the job with a reason code.
 */
public abstract class StageWiringTest {

    protected static final Duration WAIT = Duration.ofSeconds(25);
    /** How long "nothing else arrived" is watched for. */
    protected static final Duration QUIET = Duration.ofMillis(500);

    protected static JobProbe probe;

    @BeforeAll
    static void openProbe() throws Exception {
        probe = JobProbe.ofApp();
    }

    @AfterAll
    static void closeProbe() {
        if (probe != null) {
            probe.close();
        }
    }

    /**
     * The stage failed the job: one {@code JobFailed} with {@code code} from {@code stage} whose reason has no stack
     * frame, a FAILED status, and nothing published on {@code next}.
     */
    protected static JobFailed assertJobFailed(String job, String code, String stage, Topic<?> next) {
        List<JobFailed> failed = probe.awaitFirst(Topics.JOBS_FAILED, job, WAIT);
        assertThat(failed).as("JobFailed of %s", job).hasSize(1);
        JobFailed f = failed.getFirst();
        assertThat(f.getReasonCode()).as(f.getReason()).isEqualTo(code);
        assertThat(f.getStage()).isEqualTo(stage);
        assertThat(f.getReason()).isNotBlank().doesNotContain("\tat ", "Exception:");
        assertThat(probe.await(Topics.JOBS_STATUS, job, l -> l.stream().anyMatch(s -> JobStates.FAILED.equals(s.getState())),
            WAIT)).extracting(JobStatus::getState).contains(JobStates.FAILED);
        assertThat(probe.readFor(next, job, QUIET)).as("nothing on %s", next.name()).isEmpty();
        return f;
    }

    /** A quantizer pool failed the job (stage quantize, nothing for the validator). */
    protected static JobFailed assertQuantizerFailed(String job, String code) {
        return assertJobFailed(job, code, "quantize", Topics.VALIDATION_REQUESTED);
    }

    /**
     * A quantizer pool handed the job to the validator: one {@code ValidationRequested} whose model is stored at the
     * attempt's key under {@code modelFile}, with its summary, and no failure.
     */
    protected static ValidationRequested assertHandedToValidator(String job, String modelFile) throws Exception {
        List<ValidationRequested> out = probe.awaitFirst(Topics.VALIDATION_REQUESTED, job, WAIT);
        assertThat(out).as("ValidationRequested on %s", Topics.VALIDATION_REQUESTED.name()).hasSize(1);
        ValidationRequested v = out.getFirst();
        assertThat(v.getQuantizedModel().getKey()).isEqualTo("jobs/" + job + "/attempt-1/quantize/" + modelFile);
        assertThat(probe.exists(v.getQuantizedModel())).isTrue();
        assertThat(probe.exists(v.getQuantizationSummary())).isTrue();
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, QUIET)).isEmpty();
        return v;
    }

    /**
     * A pool's happy path: the fixture model published for {@code method} on {@code topic} (default recipe) comes back
     * as {@code modelFile}, handed to the validator ({@link #assertHandedToValidator}) and smaller than the fp32 model.
     */
    protected static ValidationRequested assertQuantizedSmaller(Topic<QuantizeRequested> topic, String fixture,
                                                                String method, String modelFile) throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef model = publishQuantize(job, topic, Fixtures.path(fixture), method, Recipe.newBuilder().build());
        ValidationRequested v = assertHandedToValidator(job, modelFile);
        assertThat(v.getQuantizedModel().getSize()).isLessThan(model.getSize());
        return v;
    }

    /**
     * A pool's refusal: {@code model} published for {@code method} on {@code topic} (default recipe) fails the job at
     * the quantize stage with {@code code} ({@link #assertQuantizerFailed}).
     */
    protected static JobFailed assertQuantizerRefuses(Topic<QuantizeRequested> topic, byte[] model, String method,
                                                      String code) throws Exception {
        String job = JobProbe.newJobId();
        publishQuantize(job, topic, model, method, Recipe.newBuilder().build());
        return assertQuantizerFailed(job, code);
    }

    /**
     * Stores {@code model} as the job's only input and publishes a quantize request for {@code method} with
     * {@code recipe} (and no statistics) on {@code topic}, as the calibration stage or intake would.
     *
     * @return the stored model
     */
    protected static ArtifactRef publishQuantize(String job, Topic<QuantizeRequested> topic, byte[] model, String method,
                                                 Recipe recipe) throws Exception {
        ArtifactRef ref = probe.putInput(job, "model.onnx", model);
        probe.publish(topic, TestJobs.quantize(job, JobInputs.newBuilder().setModel(ref).build(), method, recipe, null));
        return ref;
    }

    /** {@link #publishQuantize(String, Topic, byte[], String, Recipe)} with the model read from a file. */
    protected static ArtifactRef publishQuantize(String job, Topic<QuantizeRequested> topic, Path model, String method,
                                                 Recipe recipe) throws Exception {
        return publishQuantize(job, topic, Files.readAllBytes(model), method, recipe);
    }
}
