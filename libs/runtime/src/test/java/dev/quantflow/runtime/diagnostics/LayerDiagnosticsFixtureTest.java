package dev.quantflow.runtime.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelFixture;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.Test;

/**
 * The real fixture ({@code fixtures/fashion-cnn}: Conv-Relu-MaxPool ×2, Flatten, Gemm-Relu, Gemm): calibrated on 256
 * samples of calib.npz, quantized with every conv in INT8, compared on the first 64 samples of eval.npz. Skipped until
 * the fixture files exist.
 */
class LayerDiagnosticsFixtureTest {

    @Test
    void everyQuantizedLayerOfTheFashionCnnHasAFiniteSqnr() throws IOException {
        ModelFixture fixture = ModelFixture.load("fashion-cnn");
        byte[] model = fixture.model();
        NpzArchive calib = fixture.calib();
        NpzArchive eval = fixture.eval();
        // Every conv in INT8 (the default keeps the 1-channel stem conv fp32): this test wants a row for each.
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults().withMinConvReduction(0);
        OnnxModel fp32 = OnnxModel.parse(model);
        ActivationStatistics stats = CalibrationRunner.run(model, StaticQdqQuantizer.tensorsToCalibrate(fp32, recipe),
            calib, CalibrationOptions.defaults().withMaxSamples(256), ProgressListener.NONE);
        byte[] quantized = new StaticQdqQuantizer().quantize(fp32, stats, recipe).model().toByteArray();

        List<LayerReport> reports = LayerDiagnostics.compare(model, quantized, eval, DiagnosticsOptions.defaults());
        System.out.println("fashion-cnn, 64 eval samples:\n" + DiagnosticsFixtures.table(reports)
            + "most sensitive: " + LayerDiagnostics.mostSensitive(reports, 3));

        List<LayerReport> quantizedLayers = reports.stream().filter(LayerReport::quantized)
            .filter(LayerReport::compared).toList();
        assertThat(quantizedLayers).extracting(LayerReport::opType).contains("Conv", "Gemm");
        assertThat(quantizedLayers).extracting(LayerReport::node)
            .contains("/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm");
        for (LayerReport r : quantizedLayers) {
            assertThat(r.sqnrDb()).as(r.node()).isFinite().isBetween(10.0, 60.0);
            assertThat(r.addedErrorDb()).as(r.node()).isFinite();
        }
        assertThat(reports).filteredOn(r -> !r.compared())
            .allSatisfy(r -> assertThat(r.skipReason()).startsWith("folded into"));
        // the first Conv reads exactly representable pixels: a huge dB drop, but no more noise of its own than conv2
        LayerReport conv1 = quantizedLayers.get(0);
        assertThat(conv1.node()).isEqualTo("/conv1/Conv");
        assertThat(conv1.layerSqnrDb()).isCloseTo(conv1.sqnrDb(), org.assertj.core.data.Offset.offset(0.1));
        assertThat(LayerDiagnostics.mostSensitive(reports, 3)).isNotEmpty()
            .allSatisfy(n -> assertThat(n).matches("/conv\\d/Conv|/fc\\d/Gemm"));
    }
}
