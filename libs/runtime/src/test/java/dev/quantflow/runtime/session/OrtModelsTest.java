package dev.quantflow.runtime.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.TestData;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import org.junit.jupiter.api.Test;

class OrtModelsTest {

    @Test
    void feedsRowsAndRunsLikeTheReference() throws Exception {
        float[] x = TestData.ramp(6 * 4);
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats("input", x, 6, 4)));
        try (OrtSession session = OrtModels.createSession(TinyModels.gemmRelu(), 1, OptLevel.BASIC_OPT);
             OrtModels.InputBatch batch = OrtModels.feed(session, data, 2, 5);
             OrtSession.Result result = session.run(batch.tensors())) {
            assertThat(batch.rows()).isEqualTo(3);
            assertThat(batch.tensors().get("input").getInfo().getShape()).containsExactly(3, 4);
            float[][] logits = (float[][]) result.get("logits").orElseThrow().getValue();
            assertThat(logits).hasNumberOfRows(3);
            for (int r = 0; r < 3; r++) {
                float[] ref = TinyModels.gemmOut(x, (2 + r) * 4);
                for (int c = 0; c < 3; c++) {
                    assertThat(logits[r][c]).isCloseTo(Math.max(0f, ref[c]), org.assertj.core.data.Offset.offset(1e-6f));
                }
            }
        }
    }

    @Test
    void feedsInt64Inputs() throws Exception {
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofLongs("ids", new long[] {3, 4, -1, 7}, 2, 2)));
        try (OrtSession session = OrtModels.createSession(TinyModels.int64Input(), 1, OptLevel.ALL_OPT);
             OrtModels.InputBatch batch = OrtModels.feed(session, data, 0, 2);
             OrtSession.Result result = session.run(batch.tensors())) {
            assertThat((float[][]) result.get(0).getValue()).isDeepEqualTo(new float[][] {{3f, 8f}, {-1f, 14f}});
        }
    }

    @Test
    void dtypeMismatchIsADatasetProblemNotASilentConversion() throws Exception {
        NpzArchive data = NpzArchive.of(List.of(NdArray.ofDoubles("input", new double[8], 2, 4)));
        try (OrtSession session = OrtModels.createSession(TinyModels.gemmRelu(), 1, OptLevel.BASIC_OPT)) {
            assertThatThrownBy(() -> OrtModels.feed(session, data, 0, 2))
                .isInstanceOf(DatasetException.class).hasMessageContaining("float64").hasMessageContaining("float");
        }
    }

    @Test
    void missingInputArrayIsADatasetProblem() throws Exception {
        NpzArchive data = NpzArchive.of(List.of(TestData.floats("a", 2, 2)));
        try (OrtSession session = OrtModels.createSession(TinyModels.twoInputs(), 1, OptLevel.BASIC_OPT)) {
            assertThatThrownBy(() -> OrtModels.feed(session, data, 0, 2))
                .isInstanceOf(DatasetException.class).hasMessageContaining("'b'");
        }
    }

    @Test
    void tensorOfOneArrayKeepsShapeAndValues() throws Exception {
        NdArray a = NdArray.ofInts("i", new int[] {1, 2, 3, 4, 5, 6}, 3, 2);
        try (OnnxTensor t = OrtModels.tensor(a, 1, 3)) {
            assertThat(t.getInfo().getShape()).containsExactly(2, 2);
            assertThat((int[][]) t.getValue()).isDeepEqualTo(new int[][] {{3, 4}, {5, 6}});
        }
    }

    @Test
    void garbageModelBytesFailWithRuntimeMessage() {
        assertThatThrownBy(() -> OrtModels.createSession(new byte[] {1, 2, 3}, 1, OptLevel.BASIC_OPT))
            .isInstanceOf(ModelRunException.class).hasMessageStartingWith("ONNX Runtime cannot load the model");
    }
}
