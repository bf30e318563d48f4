package dev.quantflow.runtime.prepare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.quantflow.onnx.MacEstimate;
import dev.quantflow.onnx.MacEstimator;
import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.npz.NdArray;

/**
 * {@code auto} by compute on the bundled fixtures and the PaddleOCR models (prepared first, as intake will see them),
 * with every tensor shape reported by one ONNX Runtime run ({@link ModelPreparer#intermediateShapes}); and the
 * estimator's own shape propagation from the input shapes alone must count exactly the same MACs. Prints the
 * numbers quoted in docs/benchmarks.md ("method selection by compute").
 */
class MacEstimateOnRealModelsTest {

    private static final Path FIXTURES = Path.of("../../fixtures");

    @Test
    void paddleOcrDirectionClassifierIsStaticByItsConvShare() throws Exception {
        var kind = preparedAndInspected("cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx", 1, 3, 48, 192);
        assertThat(kind.family()).isEqualTo(ModelInspector.Family.VISION);
        assertThat(kind.macs().share(MacEstimator.OpFamily.CONVOLUTION)).isGreaterThan(0.9);
        assertThat(kind.macs().macs().get(MacEstimator.OpFamily.MATMUL)).isPositive(); // the head is there, and tiny
        assertThat(kind.macs().share(MacEstimator.OpFamily.MATMUL)).isLessThan(0.001);
    }

    @Test
    void paddleOcrDetectorIsStaticByItsConvShare() throws Exception {
        var kind = preparedAndInspected("det", "ch_PP-OCRv4_det_infer.onnx", 1, 3, 320, 320);
        assertThat(kind.family()).isEqualTo(ModelInspector.Family.VISION);
        assertThat(kind.macs().share(MacEstimator.OpFamily.CONVOLUTION)).isGreaterThan(0.9);
    }

    @Test
    void paddleOcrRecognizerIsStaticDespiteItsAttentionNeck() throws Exception {
        // PP-OCRv4 rec: a CNN backbone, then an SVTR neck with self-attention; the backbone does most of the work
        var kind = preparedAndInspected("rec", "ch_PP-OCRv4_rec_infer.onnx", 1, 3, 48, 320);
        assertThat(kind.family()).isEqualTo(ModelInspector.Family.VISION);
        assertThat(kind.macs().macs().get(MacEstimator.OpFamily.ATTENTION)).isPositive();
        assertThat(kind.macs().share(MacEstimator.OpFamily.CONVOLUTION)).isGreaterThan(0.8);
    }

    @Test
    void theFixturesAndMiniLm() throws Exception {
        OnnxModel cnn = OnnxModel.parse(Files.readAllBytes(FIXTURES.resolve("fashion-cnn/model.onnx")));
        var cnnKind = inspectedWithOrtShapes("fashion-cnn", cnn,
            Map.of("input", NdArray.ofFloats("input", new float[28 * 28], 1, 1, 28, 28)));
        assertThat(cnnKind.family()).isEqualTo(ModelInspector.Family.VISION);

        Path lstmPath = FIXTURES.resolve("lstm/model.onnx");
        assumeTrue(Files.exists(lstmPath), "LSTM fixture not built yet");
        long[] ids = new long[32];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1 + i % 20;
        }
        var lstmKind = inspectedWithOrtShapes("lstm", OnnxModel.parse(Files.readAllBytes(lstmPath)),
            Map.of("input_ids", NdArray.ofLongs("input_ids", ids, 1, 32)));
        assertThat(lstmKind.family()).isEqualTo(ModelInspector.Family.RECURRENT);

        try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            assumeTrue(in != null, "MiniLM jar not on the test classpath");
            OnnxModel minilm = OnnxModel.parse(in.readAllBytes());
            long[] tokens = new long[128];
            long[] ones = new long[128];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = 1000 + i;
                ones[i] = 1;
            }
            Map<String, NdArray> feed = new LinkedHashMap<>();
            feed.put("input_ids", NdArray.ofLongs("input_ids", tokens, 1, 128));
            feed.put("attention_mask", NdArray.ofLongs("attention_mask", ones, 1, 128));
            feed.put("token_type_ids", NdArray.ofLongs("token_type_ids", new long[128], 1, 128));
            var kind = inspectedWithOrtShapes("all-MiniLM-L6-v2 (seq 128)", minilm, feed);
            assertThat(kind.family()).isEqualTo(ModelInspector.Family.NLP_ENCODER);
            assertThat(kind.macs().dominant()).contains(MacEstimator.OpFamily.MATMUL);
        }
    }

    private static ModelInspector.Kind preparedAndInspected(String label, String file, long... inputShape)
        throws Exception {
        byte[] bytes = Files.readAllBytes(RealModels.paddleOcr(file));
        PreparationOptions options = PreparationOptions.defaults().withInputShape("x", inputShape).withSamples(2);
        OnnxModel original = OnnxModel.parse(bytes);
        Map<String, NdArray> input = ModelPreparer.inputs(original, null, options).get(0);
        inspectedWithOrtShapes(label + " as exported", original, input);
        PreparedModel prepared = ModelPreparer.prepare(bytes, null, options);
        return inspectedWithOrtShapes(label + " prepared", prepared.model(), input);
    }

    private static ModelInspector.Kind inspectedWithOrtShapes(String label, OnnxModel model, Map<String, NdArray> input) {
        Map<String, long[]> ortShapes = ModelPreparer.intermediateShapes(model, input, 1);
        ModelInspector.Kind kind = ModelInspector.inspect(model, ortShapes);
        System.out.println("MACs " + label + ": " + kind.family() + " — " + kind.reason());
        assertThat(kind.byCompute()).as(kind.reason()).isTrue();

        Map<String, long[]> inputShapes = new LinkedHashMap<>();
        input.forEach((name, array) -> inputShapes.put(name, array.shape()));
        MacEstimate propagated = MacEstimator.estimate(model, inputShapes);
        assertThat(propagated.macs()).as("MACs from propagated shapes vs ONNX Runtime's").isEqualTo(kind.macs().macs());
        return kind;
    }
}
