package dev.quantflow.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.TensorRange;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.eval.EvalOptions;
import dev.quantflow.runtime.eval.EvalResult;
import dev.quantflow.runtime.eval.ModelEvaluator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real fixture: a small CNN trained on Fashion-MNIST ({@code fixtures/fashion-cnn}, made by its train.py):
 * input {@code input} float32 [N,1,28,28], output {@code logits} [N,10], eval data with int64 {@code labels}.
 * Skipped until the fixture files exist.
 */
class FashionCnnFixtureTest {

    private static ModelFixture cnn;

    @BeforeAll
    static void load() throws IOException {
        cnn = ModelFixture.load("fashion-cnn");
    }

    @Test
    void fixtureDataFitsTheModel() {
        OnnxModel m = OnnxModel.parse(cnn.model());
        assertThat(DatasetCheck.check(m, cnn.eval(), true)).isEmpty();
        assertThat(DatasetCheck.check(m, cnn.calib(), false)).isEmpty();
        assertThat(cnn.eval().array("labels").rows()).isEqualTo(cnn.eval().array("input").rows());
    }

    @Test
    void fp32AccuracyIsAboutNinetyPercent() {
        EvalResult r = ModelEvaluator.evaluate(cnn.model(), cnn.eval(), EvalOptions.defaults());
        System.out.printf("fashion-cnn fp32: size %d B, samples %d, accuracy %.4f, peak RAM %s MB%n",
            r.sizeBytes(), r.samples(), r.accuracy(), r.peakRamMb() == null ? "n/a" : String.format("%.1f", r.peakRamMb()));
        r.latency().forEach(s -> System.out.printf("  batch %d: p50 %.3f ms, p95 %.3f ms, mean %.3f ms, %.0f samples/s%n",
            s.batchSize(), s.p50Ms(), s.p95Ms(), s.meanMs(), s.samplesPerSecond()));
        assertThat(r.samples()).isEqualTo(cnn.eval().array("input").rows());
        assertThat(r.accuracy()).isBetween(0.85, 1.0);
        assertThat(r.latency()).extracting(EvalResult.LatencyStats::batchSize).containsExactly(1, 64);
        assertThat(ModelEvaluator.top1Agreement(r.predictions(), r.predictions())).isEqualTo(1.0);
    }

    @Test
    void calibratesEveryFloatActivationDeterministically() {
        List<String> tensors = CalibrationRunner.allFloatActivations(OnnxModel.parse(cnn.model()));
        assertThat(tensors).contains("input", "logits").hasSizeGreaterThan(4);
        CalibrationOptions options = CalibrationOptions.defaults().withMaxSamples(256);
        ActivationStatistics a = CalibrationRunner.run(cnn.model(), tensors, cnn.calib(), options, ProgressListener.NONE);
        ActivationStatistics b = CalibrationRunner.run(cnn.model(), tensors, cnn.calib(), options.withBatchSize(100), ProgressListener.NONE);
        assertThat(a.samples()).isEqualTo(Math.min(256, cnn.calib().array("input").rows()));
        assertThat(a.ranges().keySet()).containsExactlyInAnyOrderElementsOf(tensors);
        assertThat(b.toJson()).isEqualTo(a.toJson());
        for (TensorRange r : a.ranges().values()) {
            assertThat(Float.isFinite(r.min()) && Float.isFinite(r.max())).isTrue();
        }
        TensorRange logits = a.range("logits").orElseThrow();
        assertThat(logits.max()).isGreaterThan(logits.min());
    }
}
