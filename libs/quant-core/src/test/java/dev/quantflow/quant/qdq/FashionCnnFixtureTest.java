package dev.quantflow.quant.qdq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.NpzTestReader;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.TensorRange;

/**
 * The real fixture (a Fashion-MNIST CNN trained by fixtures/fashion-cnn/train.py): INT8 top-1 within 0.5 points of
 * fp32 on the 2000 held-out images, and the quantized file at most 30% of the fp32 one. Skipped until the fixture
 * files exist.
 */
class FashionCnnFixtureTest {

    static final Path DIR = locate();

    private static Path locate() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("fixtures/fashion-cnn");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return Path.of("fixtures/fashion-cnn");
    }

    @Test
    void int8KeepsAccuracyAndShrinksTheModel() throws Exception {
        assumeTrue(Files.exists(DIR.resolve("model.onnx")) && Files.exists(DIR.resolve("calib.npz"))
            && Files.exists(DIR.resolve("eval.npz")), "fixture not generated yet");
        byte[] fp32Bytes = Files.readAllBytes(DIR.resolve("model.onnx"));
        OnnxModel fp32 = OnnxModel.parse(fp32Bytes);
        NpzTestReader.Array calib = NpzTestReader.read(DIR.resolve("calib.npz")).get("input");
        Map<String, NpzTestReader.Array> eval = NpzTestReader.read(DIR.resolve("eval.npz"));
        float[] evalInput = eval.get("input").floats();
        long[] labels = eval.get("labels").longs();

        StaticQuantRecipe recipe = StaticQuantRecipe.defaults();
        ActivationStatistics stats = minMaxInBatches(fp32, StaticQdqQuantizer.tensorsToCalibrate(fp32, recipe),
            calib.floats(), calib.shape(), 128);
        StaticQuantizationResult result = new StaticQdqQuantizer().quantize(fp32, stats, recipe);
        byte[] int8Bytes = result.model().toByteArray();

        double fp32Top1 = top1(fp32, evalInput, eval.get("input").shape(), labels);
        double int8Top1 = top1(result.model(), evalInput, eval.get("input").shape(), labels);
        System.out.printf("fashion-cnn: fp32 top-1 %.2f%%, int8 top-1 %.2f%%, fp32 %d bytes, int8 %d bytes (%.1f%%)%n",
            fp32Top1, int8Top1, fp32Bytes.length, int8Bytes.length, 100.0 * int8Bytes.length / fp32Bytes.length);
        System.out.println("fashion-cnn decisions: " + result.decisions());

        // conv1 (1 input channel, 3×3: K = 9) stays fp32 by default; its Relu moves behind pool1 so that ONNX Runtime
        // keeps pool1 fp32 and quantizes pool1's output for conv2.
        assertThat(result.keptFloatNodes()).extracting(NodeDecision::node)
            .containsExactly("/conv1/Conv", "/relu1/Relu", "/pool1/MaxPool");
        assertThat(result.keptFloatNodes().get(0).reason()).startsWith(StaticQdqQuantizer.SHORT_REDUCTION_REASON);
        assertThat(OrtSupport.optimizedOps(result.model())).contains("QLinearConv").containsAnyOf("QGemm", "QLinearMatMul");
        assertThat(fp32Top1 - int8Top1).isLessThanOrEqualTo(0.5);
        assertThat((double) int8Bytes.length).isLessThanOrEqualTo(0.30 * fp32Bytes.length);
    }

    static ActivationStatistics minMaxInBatches(OnnxModel fp32, List<String> tensors, float[] data, long[] shape,
                                                int batch) {
        int n = (int) shape[0];
        int per = data.length / n;
        Map<String, float[]> mm = new HashMap<>();
        OnnxModel withOutputs = fp32.withAdditionalOutputs(tensors);
        String input = fp32.inputs().get(0).name();
        for (int start = 0; start < n; start += batch) {
            int b = Math.min(batch, n - start);
            long[] s = shape.clone();
            s[0] = b;
            Map<String, float[]> out = OrtSupport.run(withOutputs, input,
                Arrays.copyOfRange(data, start * per, (start + b) * per), s);
            for (String t : tensors) {
                float[] range = mm.computeIfAbsent(t, k -> new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
                for (float v : out.get(t)) {
                    range[0] = Math.min(range[0], v);
                    range[1] = Math.max(range[1], v);
                }
            }
        }
        Map<String, TensorRange> ranges = new HashMap<>();
        mm.forEach((k, v) -> ranges.put(k, new TensorRange(v[0], v[1])));
        return new ActivationStatistics("minmax", n, ranges);
    }

    static double top1(OnnxModel model, float[] data, long[] shape, long[] labels) {
        int n = (int) shape[0];
        int per = data.length / n;
        String input = model.inputs().get(0).name();
        String output = model.outputs().get(0).name();
        int correct = 0;
        for (int start = 0; start < n; start += 500) {
            int b = Math.min(500, n - start);
            long[] s = shape.clone();
            s[0] = b;
            float[] logits = OrtSupport.run(model, input, Arrays.copyOfRange(data, start * per, (start + b) * per), s)
                .get(output);
            int classes = logits.length / b;
            for (int i = 0; i < b; i++) {
                int arg = 0;
                for (int c = 1; c < classes; c++) {
                    if (logits[i * classes + c] > logits[i * classes + arg]) {
                        arg = c;
                    }
                }
                if (arg == labels[start + i]) {
                    correct++;
                }
            }
        }
        return 100.0 * correct / n;
    }
}
