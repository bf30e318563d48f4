package dev.quantflow.runtime.calib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.calib.MinMaxObserver;
import dev.quantflow.quant.calib.TensorRange;
import dev.quantflow.runtime.TestData;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import org.junit.jupiter.api.Test;

class CalibrationRunnerTest {

    private static final int SAMPLES = 7;
    private static final float[] X = TestData.ramp(SAMPLES * 4);
    private static final NpzArchive DATA = NpzArchive.of(List.of(NdArray.ofFloats("input", X, SAMPLES, 4)));

    /** Hand-computed min/max over the first {@code n} samples of gemm_out, Relu(gemm_out) and input. */
    private static List<TensorRange> reference(int n) {
        float gLo = Float.MAX_VALUE, gHi = -Float.MAX_VALUE, xLo = Float.MAX_VALUE, xHi = -Float.MAX_VALUE;
        for (int s = 0; s < n; s++) {
            for (float v : TinyModels.gemmOut(X, s * 4)) {
                gLo = Math.min(gLo, v);
                gHi = Math.max(gHi, v);
            }
            for (int i = 0; i < 4; i++) {
                xLo = Math.min(xLo, X[s * 4 + i]);
                xHi = Math.max(xHi, X[s * 4 + i]);
            }
        }
        return List.of(new TensorRange(gLo, gHi), new TensorRange(Math.max(0, gLo), Math.max(0, gHi)), new TensorRange(xLo, xHi));
    }

    private static void assertClose(TensorRange actual, TensorRange expected) {
        assertThat(actual.min()).isCloseTo(expected.min(), org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(actual.max()).isCloseTo(expected.max(), org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void observesIntermediateOutputAndInputTensors() {
        ActivationStatistics stats = CalibrationRunner.run(TinyModels.gemmRelu(), List.of("gemm_out", "logits", "input"),
            DATA, CalibrationOptions.defaults(), ProgressListener.NONE);
        List<TensorRange> ref = reference(SAMPLES);
        assertThat(stats.calibrator()).isEqualTo("minmax");
        assertThat(stats.samples()).isEqualTo(SAMPLES);
        assertThat(stats.ranges().keySet()).containsExactly("gemm_out", "input", "logits");
        assertClose(stats.range("gemm_out").orElseThrow(), ref.get(0));
        assertClose(stats.range("logits").orElseThrow(), ref.get(1));
        assertThat(stats.range("input").orElseThrow()).isEqualTo(ref.get(2));
        assertThat(ref.get(0).min()).isNegative(); // so the Relu range really differs from gemm_out's
    }

    @Test
    void sameBytesWhateverTheBatchSize() {
        List<String> tensors = List.of("gemm_out", "logits", "input");
        byte[] one = CalibrationRunner.run(TinyModels.gemmRelu(), tensors, DATA, CalibrationOptions.defaults().withBatchSize(1),
            ProgressListener.NONE).toJson();
        for (int batch : new int[] {3, 7, 100}) {
            byte[] other = CalibrationRunner.run(TinyModels.gemmRelu(), tensors, DATA,
                CalibrationOptions.defaults().withBatchSize(batch), ProgressListener.NONE).toJson();
            assertThat(other).isEqualTo(one);
        }
    }

    @Test
    void everyCalibratorGivesTheSameBytesWhateverTheBatchSize() {
        List<String> tensors = List.of("gemm_out", "logits", "input");
        for (String recipe : List.of("minmax", "minmax-ema", "percentile:99.9", "entropy", "mse")) {
            CalibrationOptions options = CalibrationOptions.defaults().withCalibrator(recipe).withPerChannel(true)
                .withOutlierSummary(true);
            byte[] one = CalibrationRunner.run(TinyModels.gemmRelu(), tensors, DATA, options.withBatchSize(1),
                ProgressListener.NONE).toJson();
            for (int batch : new int[] {3, 7, 100}) {
                assertThat(CalibrationRunner.run(TinyModels.gemmRelu(), tensors, DATA, options.withBatchSize(batch),
                    ProgressListener.NONE).toJson()).as(recipe + " batch " + batch).isEqualTo(one);
            }
            ActivationStatistics stats = ActivationStatistics.fromJson(one);
            assertThat(stats.calibrator()).isEqualTo(recipe);
            assertThat(stats.outliers().keySet()).containsExactly("gemm_out", "input", "logits");
            assertThat(stats.channelRanges("input").orElseThrow()).hasSize(4);
            List<TensorRange> ref = reference(SAMPLES);
            TensorRange logits = stats.range("logits").orElseThrow();
            assertThat(logits.min()).isGreaterThanOrEqualTo(0f);
            assertThat(logits.max()).isLessThanOrEqualTo(ref.get(1).max() + 1e-5f);
        }
    }

    @Test
    void defaultArtifactIsByteForByteTheMinMaxObserverOne() {
        MinMaxObserver legacy = new MinMaxObserver();
        legacy.observe("input", X);
        byte[] expected = legacy.toStatistics(SAMPLES, List.of("input")).toJson();
        for (int batch : new int[] {1, 32}) {
            assertThat(CalibrationRunner.run(TinyModels.gemmRelu(), List.of("input"), DATA,
                CalibrationOptions.defaults().withBatchSize(batch), ProgressListener.NONE).toJson()).isEqualTo(expected);
        }
    }

    @Test
    void perChannelRangesOfAConvOutputCoverTheTensorRange() {
        NpzArchive data = NpzArchive.of(List.of(TestData.floats("input", 5, 1, 4, 4)));
        ActivationStatistics stats = CalibrationRunner.run(TinyModels.convNet(), List.of("conv_out", "logits"), data,
            CalibrationOptions.defaults().withBatchSize(2).withPerChannel(true), ProgressListener.NONE);
        List<TensorRange> channels = stats.channelRanges("conv_out").orElseThrow();
        assertThat(channels).hasSizeGreaterThan(1);
        TensorRange whole = stats.range("conv_out").orElseThrow();
        assertThat(channels.stream().map(TensorRange::min).min(Float::compare).orElseThrow()).isEqualTo(whole.min());
        assertThat(channels.stream().map(TensorRange::max).max(Float::compare).orElseThrow()).isEqualTo(whole.max());
        assertThat(stats.outliers()).isEmpty();
    }

    @Test
    void maxSamplesUsesTheFirstSamplesOnly() {
        ActivationStatistics stats = CalibrationRunner.run(TinyModels.gemmRelu(), List.of("gemm_out", "input"), DATA,
            CalibrationOptions.defaults().withMaxSamples(2), ProgressListener.NONE);
        assertThat(stats.samples()).isEqualTo(2);
        assertClose(stats.range("gemm_out").orElseThrow(), reference(2).get(0));
        assertThat(stats.range("input").orElseThrow()).isEqualTo(reference(2).get(2));
        assertThat(stats.range("input").orElseThrow()).isNotEqualTo(reference(SAMPLES).get(2));
    }

    @Test
    void progressIsReportedAfterEveryBatch() {
        // the first run has one row: it measures the fetched bytes per row before a whole batch is run
        List<String> calls = new ArrayList<>();
        CalibrationRunner.run(TinyModels.gemmRelu(), List.of("logits"), DATA, CalibrationOptions.defaults().withBatchSize(3),
            (done, total) -> calls.add(done + "/" + total));
        assertThat(calls).containsExactly("1/7", "4/7", "7/7");
    }

    @Test
    void fetchBudgetCutsRunsWithoutChangingTheStatistics() {
        List<String> tensors = List.of("gemm_out", "logits", "input");
        CalibrationOptions options = CalibrationOptions.defaults().withCalibrator("entropy").withPerChannel(true)
            .withOutlierSummary(true).withBatchSize(100);
        byte[] whole = CalibrationRunner.run(TinyModels.gemmRelu(), tensors, DATA, options, ProgressListener.NONE).toJson();
        List<Integer> runs = new ArrayList<>();
        byte[] cut = CalibrationRunner.run(TinyModels.gemmRelu(), tensors, DATA, options,
            (done, total) -> runs.add(done), 1).toJson();
        assertThat(cut).isEqualTo(whole);
        assertThat(runs).containsExactly(1, 2, 3, 4, 5, 6, 7); // a budget below one row's bytes: one row per run
        assertThatThrownBy(() -> CalibrationRunner.run(TinyModels.gemmRelu(), tensors, DATA, options,
            ProgressListener.NONE, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void interruptStopsBetweenBatches() {
        List<Integer> seen = new ArrayList<>();
        try {
            assertThatThrownBy(() -> CalibrationRunner.run(TinyModels.gemmRelu(), List.of("logits"), DATA,
                CalibrationOptions.defaults().withBatchSize(2), (done, total) -> {
                    seen.add(done);
                    Thread.currentThread().interrupt();
                }))
                .isInstanceOf(java.util.concurrent.CancellationException.class).hasMessageContaining("1 of 7");
        } finally {
            Thread.interrupted();
        }
        assertThat(seen).containsExactly(1);
    }

    @Test
    void unknownCalibratorIsRejectedListingTheAvailableOnes() {
        assertThatThrownBy(() -> CalibrationOptions.defaults().withCalibrator("kl"))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("'kl'")
            .hasMessageContaining("minmax, minmax-ema, percentile").hasMessageContaining("entropy, mse");
        assertThatThrownBy(() -> CalibrationOptions.defaults().withCalibrator("percentile:abc"))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("not a number");
    }

    @Test
    void unknownTensorsAreNamed() {
        assertThatThrownBy(() -> CalibrationRunner.run(TinyModels.gemmRelu(), List.of("logits", "conv9", "fc"), DATA,
            CalibrationOptions.defaults(), ProgressListener.NONE))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("[conv9, fc]");
    }

    @Test
    void weightsAreNotActivations() {
        assertThatThrownBy(() -> CalibrationRunner.run(TinyModels.gemmRelu(), List.of("W"), DATA,
            CalibrationOptions.defaults(), ProgressListener.NONE))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("'W'").hasMessageContaining("initializer");
    }

    @Test
    void nonFloatTensorIsRejectedByName() {
        NpzArchive data = NpzArchive.of(List.of(TestData.floats("input", 2, 1, 4, 4)));
        assertThatThrownBy(() -> CalibrationRunner.run(TinyModels.convNet(), List.of("relu_out", "input_shape"), data,
            CalibrationOptions.defaults(), ProgressListener.NONE))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("'input_shape'").hasMessageContaining("int64");
    }

    @Test
    void nanInsideTheGraphFailsNamingTheTensor() {
        // log(x) of a negative input is NaN: the data is finite, the activation is not.
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder()
            .addInput(TinyModels.valueInfo("input", DataType.FLOAT, "N", 2))
            .addOutput(TinyModels.valueInfo("y", DataType.FLOAT, "N", 2))
            .addNode(TinyModels.node("Log", List.of("input"), List.of("log_out")))
            .addNode(TinyModels.node("Relu", List.of("log_out"), List.of("y")))
            .build();
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("input", new float[] {1f, 2f, 3f, -1f}, 2, 2)));
        assertThatThrownBy(() -> CalibrationRunner.run(TinyModels.model(g), List.of("log_out"), data,
            CalibrationOptions.defaults(), ProgressListener.NONE))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("'log_out'").hasMessageContaining("NaN");
    }

    @Test
    void dataThatDoesNotFitTheModelIsRejectedBeforeRunning() {
        float[] x = X.clone();
        x[5] = Float.NaN;
        NpzArchive bad = NpzArchive.of(List.of(NdArray.ofFloats("input", x, SAMPLES, 4)));
        assertThatThrownBy(() -> CalibrationRunner.run(TinyModels.gemmRelu(), List.of("logits"), bad,
            CalibrationOptions.defaults(), ProgressListener.NONE))
            .isInstanceOf(DatasetException.class).hasMessageContaining("NaN");
    }

    @Test
    void allFloatActivationsListsFloatInputsAndNodeOutputsOnly() {
        assertThat(CalibrationRunner.allFloatActivations(OnnxModel.parse(TinyModels.convNet())))
            .containsExactly("input", "conv_out", "relu_out", "flat", "logits");
        assertThat(CalibrationRunner.allFloatActivations(OnnxModel.parse(TinyModels.int64Input())))
            .containsExactly("ids_f", "logits");
    }

    @Test
    void constantSubgraphsAreNotActivations() {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder()
            .addInput(TinyModels.valueInfo("input", DataType.FLOAT, "N", 2))
            .addOutput(TinyModels.valueInfo("y", DataType.FLOAT, "N", 2))
            .addInitializer(TinyModels.floatTensor("w", new float[] {1f, -2f}, 2))
            .addNode(TinyModels.node("Neg", List.of("w"), List.of("w_neg")))
            .addNode(TinyModels.node("Mul", List.of("input", "w_neg"), List.of("y")))
            .build();
        assertThat(CalibrationRunner.allFloatActivations(OnnxModel.parse(TinyModels.model(g)))).containsExactly("input", "y");
    }

    @Test
    void everyFloatActivationOfTheCnnCanBeCalibrated() {
        NpzArchive data = NpzArchive.of(List.of(TestData.floats("input", 5, 1, 4, 4)));
        List<String> tensors = CalibrationRunner.allFloatActivations(OnnxModel.parse(TinyModels.convNet()));
        ActivationStatistics stats = CalibrationRunner.run(TinyModels.convNet(), tensors, data,
            CalibrationOptions.defaults().withBatchSize(2), ProgressListener.NONE);
        assertThat(stats.ranges().keySet()).containsExactlyInAnyOrderElementsOf(tensors);
        assertThat(stats.range("relu_out").orElseThrow().min()).isZero();
        assertThat(stats.range("conv_out").orElseThrow().min()).isNegative();
        assertThat(stats.range("flat")).isEqualTo(stats.range("relu_out"));
    }
}
