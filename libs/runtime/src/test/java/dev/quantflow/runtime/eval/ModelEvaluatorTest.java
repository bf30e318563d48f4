package dev.quantflow.runtime.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.quantflow.runtime.TestData;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.Test;

class ModelEvaluatorTest {

    private static final int SAMPLES = 9;
    private static final float[] X = TestData.ramp(SAMPLES * 4);
    private static final EvalOptions QUICK = EvalOptions.defaults().withBatchSize(4)
        .withLatency(List.of(new EvalOptions.LatencyPlan(1, 1, 5), new EvalOptions.LatencyPlan(64, 1, 3)));

    /** Reference top-1 of Relu(Gemm) per sample: lowest index on ties (Relu makes exact zero ties common). */
    private static int[] referencePredictions() {
        int[] p = new int[SAMPLES];
        for (int s = 0; s < SAMPLES; s++) {
            float[] g = TinyModels.gemmOut(X, s * 4);
            int best = 0;
            for (int c = 1; c < 3; c++) {
                if (Math.max(0, g[c]) > Math.max(0, g[best])) {
                    best = c;
                }
            }
            p[s] = best;
        }
        return p;
    }

    @Test
    void predictionsAndAccuracyMatchTheReference() {
        int[] ref = referencePredictions();
        long[] labels = new long[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) {
            labels[i] = i < 6 ? ref[i] : (ref[i] + 1) % 3; // 6 of 9 right
        }
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("input", X, SAMPLES, 4), NdArray.ofLongs("labels", labels, SAMPLES)));
        byte[] model = TinyModels.gemmRelu();

        EvalResult r = ModelEvaluator.evaluate(model, data, QUICK);

        assertThat(r.predictions()).containsExactly(ref);
        assertThat(r.accuracy()).isEqualTo(6.0 / 9.0);
        assertThat(r.samples()).isEqualTo(SAMPLES);
        assertThat(r.sizeBytes()).isEqualTo(model.length);
        assertThat(java.util.Arrays.stream(ref).distinct().count()).isGreaterThan(1); // the reference is not trivial
    }

    @Test
    void noLabelsMeansNoAccuracy() {
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("input", X, SAMPLES, 4)));
        EvalResult r = ModelEvaluator.evaluate(TinyModels.gemmRelu(), data, QUICK);
        assertThat(r.accuracy()).isNull();
        assertThat(r.predictions()).containsExactly(referencePredictions());
    }

    @Test
    void latencyIsReportedPerBatchSizeCappedBySampleCount() {
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("input", X, SAMPLES, 4)));
        EvalResult r = ModelEvaluator.evaluate(TinyModels.gemmRelu(), data, QUICK);
        assertThat(r.latency()).extracting(EvalResult.LatencyStats::batchSize).containsExactly(1, SAMPLES);
        assertThat(r.latency()).extracting(EvalResult.LatencyStats::runs).containsExactly(5, 3);
        for (EvalResult.LatencyStats s : r.latency()) {
            assertThat(s.p50Ms()).isPositive().isLessThanOrEqualTo(s.p95Ms());
            assertThat(s.samplesPerSecond()).isCloseTo(s.batchSize() * 1000.0 / s.meanMs(), org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void peakRamIsMeasuredOnLinux() {
        assumeTrue(Files.isWritable(Path.of("/proc/self/clear_refs")), "needs Linux /proc/self/clear_refs");
        NpzArchive data = NpzArchive.of(List.of(TestData.floats("input", 4, 1, 4, 4)));
        EvalResult r = ModelEvaluator.evaluate(TinyModels.convNet(), data, QUICK);
        assertThat(r.peakRamMb()).isNotNull().isGreaterThanOrEqualTo(0.0);
    }

    @Test
    void outputCanBeChosenAndMustExist() {
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("input", X, SAMPLES, 4)));
        assertThat(ModelEvaluator.evaluate(TinyModels.gemmRelu(), data, QUICK.withOutputName("logits")).predictions())
            .containsExactly(referencePredictions());
        assertThatThrownBy(() -> ModelEvaluator.evaluate(TinyModels.gemmRelu(), data, QUICK.withOutputName("probs")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("probs").hasMessageContaining("[logits]");
    }

    @Test
    void dataThatDoesNotFitIsRejectedWithAllProblems() {
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofLongs("input", new long[8], 2, 4), NdArray.ofLongs("labels", new long[3], 3)));
        assertThatThrownBy(() -> ModelEvaluator.evaluate(TinyModels.gemmRelu(), data, QUICK))
            .isInstanceOf(DatasetException.class).hasMessageContaining("int64").hasMessageContaining("sample counts");
    }

    @Test
    void resultSerializesWithReportFieldNames() throws Exception {
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("input", X, SAMPLES, 4)));
        EvalResult r = ModelEvaluator.evaluate(TinyModels.gemmRelu(), data, QUICK);
        ObjectMapper json = new ObjectMapper();
        JsonNode tree = json.readTree(json.writeValueAsBytes(r));
        assertThat(tree.fieldNames()).toIterable()
            .containsExactlyInAnyOrder("sizeBytes", "samples", "accuracy", "predictions", "latency", "peakRamMb");
        assertThat(tree.get("accuracy").isNull()).isTrue();
        assertThat(tree.get("predictions")).hasSize(SAMPLES);
        assertThat(tree.get("latency").get(0).fieldNames()).toIterable()
            .containsExactly("batchSize", "runs", "p50Ms", "p95Ms", "meanMs", "samplesPerSecond");
        EvalResult back = json.readValue(json.writeValueAsBytes(r), EvalResult.class);
        assertThat(back.predictions()).containsExactly(r.predictions());
        assertThat(back.latency()).isEqualTo(r.latency());
    }

    @Test
    void top1AgreementCountsEqualPredictions() {
        assertThat(ModelEvaluator.top1Agreement(new int[] {1, 2, 3, 4}, new int[] {1, 2, 0, 4})).isEqualTo(0.75);
        assertThat(ModelEvaluator.top1Agreement(new int[] {5}, new int[] {5})).isEqualTo(1.0);
        assertThatThrownBy(() -> ModelEvaluator.top1Agreement(new int[] {1}, new int[] {1, 2}))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void argmaxTakesLowestIndexOnTiesAndSkipsNaN() {
        float[] v = {9f, 1f, 3f, 3f, Float.NaN, 2f, Float.NaN, Float.NaN};
        assertThat(ModelEvaluator.argmax(v, 1, 3)).isEqualTo(1);
        assertThat(ModelEvaluator.argmax(v, 4, 2)).isEqualTo(1);
        assertThat(ModelEvaluator.argmax(v, 6, 2)).isEqualTo(-1);
        assertThat(ModelEvaluator.argmax(new float[] {Float.NEGATIVE_INFINITY}, 0, 1)).isZero();
    }

    @Test
    void nearestRankPercentiles() {
        double[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertThat(ModelEvaluator.nearestRank(sorted, 0.5)).isEqualTo(5);
        assertThat(ModelEvaluator.nearestRank(sorted, 0.95)).isEqualTo(10);
        assertThat(ModelEvaluator.nearestRank(new double[] {4}, 0.95)).isEqualTo(4);
    }
}
