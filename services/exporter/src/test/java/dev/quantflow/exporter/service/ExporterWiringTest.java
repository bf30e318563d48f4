package dev.quantflow.exporter.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.contracts.Report;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.ExportRequested;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.ModelReady;
import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.StageWiringTest;
import dev.quantflow.testsupport.TestJobs;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The exporter on a real broker and S3 server: a passing attempt becomes one {@code ModelReady} with the model, report
 * and manifest stored; an export whose quantized model is not in the store fails the job with ARTIFACT_MISSING.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class ExporterWiringTest extends StageWiringTest {

    static final String METRICS = """
        {"attempt":1,"method":"static","passed":true,"verdict":"top-1 90.85%% -> 90.80%%: meets target",
         "fp32":{"sizeBytes":%d,"accuracy":0.9085},"quantized":{"sizeBytes":%d,"accuracy":0.9080}}""";

    ExportRequested export(String job, ArtifactRef fp32, ArtifactRef quantized, long quantizedBytes) throws Exception {
        ArtifactRef metrics = probe.store().put(ArtifactKeys.stage(job, 1, "validation", "metrics.json"),
            METRICS.formatted(fp32.getSize(), quantizedBytes).getBytes(), "application/json");
        Recipe recipe = Recipe.newBuilder().build();
        AttemptRecord attempt = AttemptRecord.newBuilder().setAttempt(1).setMethod("static").setRecipe(recipe)
            .setPassed(true).setVerdict("meets target").setRoute("export").setMetrics(metrics)
            .setQuantizedModel(quantized).build();
        // intake's model preparation wrote what it changed; the report carries it as its 'preparation' section
        ArtifactRef preparation = probe.store().put(ArtifactKeys.prepared(job, "preparation.json"),
            StageJson.write(ReportsTest.preparation()), "application/json");
        JobContext context = JobContext.newBuilder(TestJobs.context(JobInputs.newBuilder().setName("wiring")
            .setModel(fp32).setPreparation(preparation).build(), "static", recipe)).setHistory(List.of(attempt)).build();
        return ExportRequested.newBuilder().setHeader(JobProbe.header(job, 1)).setContext(context)
            .setQuantizedModel(quantized).setMetrics(metrics).setMeetsTarget(true).build();
    }

    @Test
    void aPassingAttemptBecomesOneModelReadyWithReportAndManifest() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef fp32 = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        // the fp32 bytes stand in for the quantized model: the exporter packages, it does not judge
        ArtifactRef quantized = probe.store().put(ArtifactKeys.stage(job, 1, "quantize", "model.int8.onnx"),
            probe.get(fp32), "application/onnx");
        probe.publish(Topics.EXPORT_REQUESTED, export(job, fp32, quantized, quantized.getSize()));

        List<ModelReady> ready = probe.awaitFirst(Topics.MODELS_READY, job, WAIT);
        assertThat(ready).hasSize(1);
        ModelReady r = ready.getFirst();
        assertThat(r.getModel().getKey()).isEqualTo(ArtifactKeys.output(job, "model.int8.onnx"));
        assertThat(r.getModel().getSha256()).isEqualTo(quantized.getSha256());
        assertThat(probe.exists(r.getManifest())).isTrue();
        Report report = StageJson.read(probe.get(r.getReport()), Report.class);
        assertThat(report.state()).isEqualTo("READY");
        assertThat(report.precision()).isEqualTo("INT8");
        assertThat(report.attempts()).singleElement().satisfies(a -> assertThat(a.precision()).isEqualTo("INT8"));
        assertThat(report.preparation()).isEqualTo(ReportsTest.preparation());
        assertThat(new String(probe.get(r.getReportHtml()))).contains("<h2>Model preparation</h2>");
        assertThat(new String(probe.get(r.getManifest()))).contains("model.int8.onnx", "report.json", "report.html");
        assertThat(probe.readFor(Topics.JOBS_FAILED, job, QUIET)).isEmpty();
    }

    @Test
    void aQuantizedModelMissingFromTheStoreFailsTheJob() throws Exception {
        String job = JobProbe.newJobId();
        ArtifactRef fp32 = probe.putInput(job, "model.onnx", Fixtures.path("fashion-cnn/model.onnx"));
        ArtifactRef gone = ArtifactRef.newBuilder(fp32).setKey(ArtifactKeys.stage(job, 1, "quantize", "model.int8.onnx"))
            .build();
        probe.publish(Topics.EXPORT_REQUESTED, export(job, fp32, gone, fp32.getSize()));

        assertJobFailed(job, ReasonCodes.ARTIFACT_MISSING, "export", Topics.MODELS_READY);
    }
}
