package dev.quantflow.runtime.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.llm.LayerInputStats;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import org.junit.jupiter.api.Test;

class LlmCalibrationTest {

    private static final int WINDOWS = 5;
    private static final int SEQ = 3;
    private static final TinyLm LM = new TinyLm(7, false);
    private static final byte[] MODEL = LM.onnx(null, null);
    private static final long[] IDS = TinyLm.tokens(WINDOWS * SEQ, 11);
    private static final NpzArchive DATA = NpzArchive.of(List.of(NdArray.ofLongs("input_ids", IDS, WINDOWS, SEQ)));

    @Test
    void capturePointsAreTheInputsOfWeightMatMulsGroupedByTensor() {
        List<CapturePoint> points = LlmCalibration.capturePoints(OnnxModel.parse(MODEL));

        assertThat(points).extracting(CapturePoint::tensor).containsExactly("h0", "x");
        assertThat(points.get(0).weights()).containsExactly("Wq", "Wk", "Wv");
        assertThat(points.get(0).matMulNodes()).containsExactly("q_node", "k_node", "v_node");
        assertThat(points.get(1).weights()).containsExactly("Wout");
        assertThat(points).extracting(CapturePoint::k).containsExactly(TinyLm.D, TinyLm.D);
    }

    @Test
    void statisticsEqualAHandComputationOverAllTokens() {
        List<Integer> progress = new ArrayList<>();
        LlmCalibrationResult r = LlmCalibration.run(MODEL, DATA,
            LlmCalibrationOptions.defaults().withBatchSize(2).withMaxSampleRows(100), (done, total) -> {
                assertThat(total).isEqualTo(WINDOWS);
                progress.add(done);
            });

        TinyLm.Forward f = LM.forward(IDS, WINDOWS, SEQ);
        int n = WINDOWS * SEQ;
        assertThat(progress).containsExactly(2, 4, 5);
        assertThat(r.windows()).isEqualTo(WINDOWS);
        assertThat(r.tokens()).isEqualTo(n);
        assertThat(r.stats().keySet()).containsExactly("h0", "x");
        assertMatches(r.stats().get("h0"), f.h0(), n);
        assertMatches(r.stats().get("x"), f.x(), n);
        assertThat(r.summary()).contains("h0  k=4  -> [Wq, Wk, Wv]").contains("15 tokens");
    }

    /** Hessian 2/n·Σ x xᵀ, mean |x| per channel, and (with room for every row) the rows themselves in token order. */
    private static void assertMatches(LayerInputStats s, float[] rows, int n) {
        int d = TinyLm.D;
        assertThat(s.rows()).isEqualTo(n);
        double[] h = s.hessian();
        for (int i = 0; i < d; i++) {
            double abs = 0;
            for (int t = 0; t < n; t++) {
                abs += Math.abs(rows[t * d + i]);
            }
            assertThat((double) s.meanAbs()[i]).isCloseTo(abs / n, within(1e-5));
            for (int j = 0; j < d; j++) {
                double sum = 0;
                for (int t = 0; t < n; t++) {
                    sum += (double) rows[t * d + i] * rows[t * d + j];
                }
                assertThat(h[i * d + j]).as("H[%d,%d] of %s", i, j, s.tensor()).isCloseTo(2 * sum / n, within(1e-5));
            }
        }
        float[] sample = s.sample();
        assertThat(sample).hasSize(n * d);
        for (int i = 0; i < sample.length; i++) {
            assertThat(sample[i]).isCloseTo(rows[i], within(1e-5f));
        }
    }

    @Test
    void maxWindowsUsesOnlyTheFirstWindows() {
        LlmCalibrationResult r = LlmCalibration.run(MODEL, DATA, LlmCalibrationOptions.defaults().withMaxWindows(2),
            ProgressListener.NONE);

        long[] first = Arrays.copyOf(IDS, 2 * SEQ);
        assertThat(r.tokens()).isEqualTo(2 * SEQ);
        assertMatches(r.stats().get("h0"), LM.forward(first, 2, SEQ).h0(), 2 * SEQ);
    }

    @Test
    void aTokenStreamIsPackedIntoWholeWindows() {
        NpzArchive packed = LlmCalibration.windows(Arrays.copyOf(IDS, 14), SEQ);

        assertThat(packed.array("input_ids").shape()).containsExactly(4, SEQ);
        assertThat(packed.array("input_ids").toLongs()).containsExactly(Arrays.copyOf(IDS, 12));
        assertThatThrownBy(() -> LlmCalibration.windows(new long[2], SEQ))
            .isInstanceOf(DatasetException.class).hasMessageContaining("needs 3 tokens");
    }

    @Test
    void sameInputGivesTheSameArtifactBytesAndTheArtifactRoundTrips() throws IOException {
        LlmCalibrationOptions options = LlmCalibrationOptions.defaults().withMaxSampleRows(4);
        byte[] a = bytes(LlmCalibration.run(MODEL, DATA, options, ProgressListener.NONE).artifact());
        byte[] b = bytes(LlmCalibration.run(MODEL, DATA, options, ProgressListener.NONE).artifact());
        assertThat(a).isEqualTo(b);

        LlmCalibrationResult r = LlmCalibration.run(MODEL, DATA, options, ProgressListener.NONE);
        LlmCalibrationArtifact back = LlmCalibrationArtifact.read(new ByteArrayInputStream(a));
        assertThat(back.stats().keySet()).containsExactly("h0", "x");
        assertThat(back.weights()).isEqualTo(Map.of("h0", List.of("Wq", "Wk", "Wv"), "x", List.of("Wout")));
        for (String t : List.of("h0", "x")) {
            LayerInputStats original = r.stats().get(t);
            LayerInputStats read = back.stats().get(t);
            assertThat(read.rows()).isEqualTo(original.rows());
            assertThat(read.hessian()).isEqualTo(original.hessian());
            assertThat(read.meanAbs()).isEqualTo(original.meanAbs());
            assertThat(read.sample()).isEqualTo(original.sample()).hasSize(4 * TinyLm.D);
        }
        assertThat(bytes(back)).isEqualTo(a);
    }

    @Test
    void readingSomethingElseOrATruncatedArtifactFails() throws IOException {
        byte[] good = bytes(LlmCalibration.run(MODEL, DATA, LlmCalibrationOptions.defaults(), ProgressListener.NONE).artifact());

        assertThatThrownBy(() -> LlmCalibrationArtifact.read(new ByteArrayInputStream(new byte[] {1, 2, 3, 4, 5, 6, 7, 8})))
            .isInstanceOf(IOException.class).hasMessageContaining("not an LLM calibration artifact");
        assertThatThrownBy(() -> LlmCalibrationArtifact.read(new ByteArrayInputStream(Arrays.copyOf(good, good.length - 9))))
            .isInstanceOf(IOException.class);
    }

    @Test
    void batchSizeDoesNotChangeTheStatisticsBeyondRounding() {
        LlmCalibrationResult one = LlmCalibration.run(MODEL, DATA, LlmCalibrationOptions.defaults().withBatchSize(1),
            ProgressListener.NONE);
        LlmCalibrationResult all = LlmCalibration.run(MODEL, DATA, LlmCalibrationOptions.defaults().withBatchSize(8),
            ProgressListener.NONE);

        double[] a = one.stats().get("x").hessian();
        double[] b = all.stats().get("x").hessian();
        for (int i = 0; i < a.length; i++) {
            assertThat(b[i]).isCloseTo(a[i], within(1e-6 * (1 + Math.abs(a[i]))));
        }
    }

    @Test
    void aModelWithAFixedBatchHasItsLastBatchPaddedButNotCounted() {
        LlmCalibrationResult r = LlmCalibration.run(LM.onnx(2, SEQ), DATA,
            LlmCalibrationOptions.defaults().withBatchSize(4).withMaxSampleRows(100), ProgressListener.NONE);

        TinyLm.Forward f = LM.forward(IDS, WINDOWS, SEQ);
        assertMatches(r.stats().get("h0"), f.h0(), WINDOWS * SEQ);
        assertMatches(r.stats().get("x"), f.x(), WINDOWS * SEQ);
    }

    @Test
    void nonFiniteActivationsAreRefusedNamingTheTensor() {
        TinyLm broken = new TinyLm(7, false);
        Arrays.fill(broken.e, (int) IDS[4] * TinyLm.D, (int) IDS[4] * TinyLm.D + TinyLm.D, Float.NaN);

        assertThatThrownBy(() -> LlmCalibration.run(broken.onnx(null, null), DATA, LlmCalibrationOptions.defaults(),
                ProgressListener.NONE))
            .isInstanceOf(CalibrationException.class).hasMessageContaining("tensor 'h0' holds NaN on windows [0, 4)");
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreRefused() {
        long[] bad = IDS.clone();
        bad[7] = TinyLm.V;
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofLongs("input_ids", bad, WINDOWS, SEQ)));

        assertThatThrownBy(() -> LlmCalibration.run(MODEL, data, LlmCalibrationOptions.defaults(), ProgressListener.NONE))
            .isInstanceOf(DatasetException.class).hasMessageContaining("token id 6").hasMessageContaining("[0, 6)");
    }

    @Test
    void windowsMustBeATwoDimensionalIntegerArrayNamedInputIds() {
        NpzArchive floats = NpzArchive.of(List.of(NdArray.ofFloats("input_ids", new float[6], 2, 3)));
        NpzArchive flat = NpzArchive.of(List.of(NdArray.ofLongs("input_ids", IDS, IDS.length)));
        NpzArchive other = NpzArchive.of(List.of(NdArray.ofLongs("tokens", IDS, WINDOWS, SEQ)));

        for (NpzArchive data : List.of(floats, flat, other)) {
            assertThatThrownBy(() -> LlmCalibration.run(MODEL, data, LlmCalibrationOptions.defaults(), ProgressListener.NONE))
                .isInstanceOf(DatasetException.class).hasMessageContaining("input_ids");
        }
    }

    @Test
    void aModelWithoutInt64InputIdsIsRefused() {
        assertThatThrownBy(() -> LlmCalibration.run(TinyModels.gemmRelu(), DATA, LlmCalibrationOptions.defaults(),
                ProgressListener.NONE))
            .isInstanceOf(ModelRunException.class).hasMessageContaining("no input 'input_ids'");

        OnnxMl.ModelProto proto = OnnxModel.parse(MODEL).proto();
        OnnxMl.GraphProto.Builder g = proto.getGraph().toBuilder()
            .setInput(0, TinyModels.valueInfo("input_ids", DataType.INT32, "batch", "seq"));
        byte[] int32Ids = proto.toBuilder().setGraph(g).build().toByteArray();
        assertThatThrownBy(() -> LlmCalibration.run(int32Ids, DATA, LlmCalibrationOptions.defaults(), ProgressListener.NONE))
            .isInstanceOf(ModelRunException.class).hasMessageContaining("int32").hasMessageContaining("int64");
    }

    private static byte[] bytes(LlmCalibrationArtifact artifact) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        artifact.write(out);
        return out.toByteArray();
    }
}
