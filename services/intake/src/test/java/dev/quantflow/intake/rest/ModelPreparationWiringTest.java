package dev.quantflow.intake.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.contracts.Preparation;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.intake.IntakeRestWiringTest;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.JobInputs;
import dev.quantflow.intake.service.MethodSelection;
import dev.quantflow.intake.service.UnupgradableModel;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.prepare.ModelPreparer;
import dev.quantflow.runtime.npz.NpzWriter;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Model preparation through intake's REST API on a real broker and S3 server: an opset-9 export with its weights as
 * {@code Constant} nodes starts a job whose every stage gets the prepared model (stored under
 * {@code jobs/<job>/prepared/}, the upload kept as {@code originalModel}), chosen by auto on the prepared graph; a
 * model the preparation cannot upgrade is refused with 422 naming the op, and no job starts.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class ModelPreparationWiringTest extends IntakeRestWiringTest {

    private static final Map<String, Object> AUTO = Map.of("name", "legacy", "method", "auto");

    @Test
    void anOpset9ExportWithConstantWeightsRunsAsThePreparedModel() throws Exception {
        Inputs in = storeInputs(Fixtures.path("legacy/cnn_bn_opset9_constants.onnx"));

        String job = acceptedJobId(submitByReference(in, AUTO));

        List<CalibrationRequested> started = probe.awaitFirst(Topics.CALIBRATION_REQUESTED, job, WAIT);
        assertThat(started).hasSize(1);
        JobInputs inputs = started.getFirst().getContext().getInputs();
        assertThat(inputs.getModel().getKey()).isEqualTo(ArtifactKeys.prepared(job, "model.onnx"));
        assertThat(inputs.getOriginalModel().getKey()).isEqualTo(in.model().getKey());
        OnnxModel prepared = OnnxModel.parse(probe.get(inputs.getModel()));
        assertThat(prepared.opsetVersion()).isGreaterThanOrEqualTo(13);
        assertThat(prepared.graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .doesNotContain("Constant", "BatchNormalization").contains("Conv");

        // auto decided on the prepared graph (BatchNormalization folded away), not on the upload
        String reason = started.getFirst().getContext().getPlan().getMethodReason();
        MethodSelection.Inputs given = new MethodSelection.Inputs(true, false, false);
        assertThat(started.getFirst().getContext().getPlan().getMethod()).isEqualTo("static");
        var shapes = ModelPreparer.intermediateShapes(prepared, Map.of("input",
            NpzArchive.read(Fixtures.path("fashion-cnn/calib.npz")).array("input").slice(0, 1)), 1);
        assertThat(reason).contains("Conv").isEqualTo(MethodSelection.choose("auto", prepared, given, shapes).reason())
            .isNotEqualTo(MethodSelection.choose("auto", OnnxModel.parse(probe.get(in.model())), given, shapes).reason());

        Preparation section = StageJson.read(probe.get(inputs.getPreparation()), Preparation.class);
        assertThat(section.changed()).isTrue();
        assertThat(section.opsetFrom()).isEqualTo(9);
        assertThat(section.constantsToInitializers()).isPositive();
        assertThat(section.foldedBatchNorms()).isEqualTo(3);
        assertThat(section.checkedFromData()).isEqualTo(32);
        assertThat(section.originalModelKey()).isEqualTo(in.model().getKey());
        assertThat(section.preparedModelKey()).isEqualTo(inputs.getModel().getKey());
    }

    @Test
    void aModelThePreparationCannotUpgradeIsRefusedWithTheOpAndNothingStarts() throws Exception {
        byte[] onnx = UnupgradableModel.onnx();
        java.io.ByteArrayOutputStream npz = new java.io.ByteArrayOutputStream();
        NpzWriter.write(npz, List.of(UnupgradableModel.input()), false);

        String upload = TestTokens.upload();
        ArtifactRef model = probe.putInput(upload, "model.onnx", onnx);
        ArtifactRef data = probe.putInput(upload, "data.npz", npz.toByteArray());
        HttpResponse<String> r = submitByReference(new Inputs(model, data, data), AUTO);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        JsonNode error = JSON.readTree(r.body());
        assertThat(error.path("error").asText()).isEqualTo("INVALID_MODEL");
        assertThat(error.path("reason").asText()).contains("ImageScaler").contains("opset 9")
            .doesNotContain("\tat ", "Exception");
        assertThat(error.has("jobId")).isFalse();
    }
}
