package dev.quantflow.runtime.prepare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.ocr.OcrDataRenderer;

/** The rendered PaddleOCR data: deterministic, right shapes/ranges/labels, and what the fp32 models make of it. */
class PaddleOcrDataTest {

    private static final Path FONTS = Path.of("/usr/share/fonts/truetype/dejavu");
    private static final Path SENTENCES = Path.of("../../fixtures/text/sentences.txt");

    private static OcrDataRenderer renderer() {
        System.setProperty("java.awt.headless", "true");
        return new OcrDataRenderer(OcrDataRenderer.readSentences(SENTENCES), OcrDataRenderer.loadFonts(FONTS));
    }

    private static float[] floats(NdArray a) {
        FloatBuffer b = a.buffer().asFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Element-wise equality of two renders, failing with the count and the first differing index (AssertJ's
     * containsExactly on a million floats computes a quadratic diff when they differ, which hangs the build).
     */
    private static void assertSameValues(float[] a, float[] b) {
        assertThat(a.length).isEqualTo(b.length);
        int differing = 0;
        int first = -1;
        float maxDiff = 0;
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i])) {
                differing++;
                first = first < 0 ? i : first;
                maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            }
        }
        assertThat(differing).as("values differing between two renders of the same seed (first at %d, max |diff| %s)",
            first, maxDiff).isZero();
    }

    private static long[] longs(NdArray a) {
        var b = a.buffer().asLongBuffer();
        long[] out = new long[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void clsIsDeterministicWithShapesRangesAndBothLabels() {
        OcrDataRenderer r = renderer();
        List<NdArray> a = r.cls(40, 7);
        List<NdArray> b = r.cls(40, 7);
        List<NdArray> c = r.cls(40, 8);
        assertThat(a.get(0).name()).isEqualTo("x");
        assertThat(a.get(0).shape()).containsExactly(40, 3, 48, 192);
        assertThat(a.get(1).name()).isEqualTo("labels");
        assertThat(a.get(1).dtype()).isEqualTo("<i8");
        assertSameValues(floats(a.get(0)), floats(b.get(0)));
        assertThat(longs(a.get(1))).containsExactly(longs(b.get(1)));
        assertThat(floats(a.get(0))).isNotEqualTo(floats(c.get(0)));
        float[] x = floats(a.get(0));
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : x) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertThat(min).isGreaterThanOrEqualTo(-1f).isLessThan(-0.3f);   // dark text present
        assertThat(max).isLessThanOrEqualTo(1f).isGreaterThan(0.5f);    // light background present
        assertThat(longs(a.get(1))).contains(0L, 1L).containsOnly(0L, 1L);
    }

    @Test
    void detIsDeterministicWithImageNetNormalisation() {
        OcrDataRenderer r = renderer();
        List<NdArray> a = r.det(3, 5);
        assertThat(a).hasSize(1);
        assertThat(a.get(0).name()).isEqualTo("x");
        assertThat(a.get(0).shape()).containsExactly(3, 3, 320, 320);
        assertSameValues(floats(a.get(0)), floats(r.det(3, 5).get(0)));
        float[] x = floats(a.get(0));
        float max = -Float.MAX_VALUE;
        float min = Float.MAX_VALUE;
        for (float v : x) {
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        // (1 - 0.406) / 0.225 = 2.64 is the largest value the normalisation can give, -0.485/0.229 = -2.12 the least
        assertThat(max).isLessThanOrEqualTo(2.65f).isGreaterThan(1.2f);
        assertThat(min).isGreaterThanOrEqualTo(-2.12f).isLessThan(-1f);
        assertThat(r.page(new Random(1)).boxes()).hasSizeGreaterThanOrEqualTo(3);
    }

    @Test
    void fp32ClsModelReadsTheRenderedDirectionLabels() throws Exception {
        Path model = RealModels.paddleOcr("ch_ppocr_mobile_v2.0_cls_infer.onnx");
        List<NdArray> data = renderer().cls(200, 11);
        float[] x = floats(data.get(0));
        long[] labels = longs(data.get(1));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int correct = 0;
        try (OrtSession session = env.createSession(model.toString(), new OrtSession.SessionOptions());
             OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {200, 3, 48, 192});
             OrtSession.Result result = session.run(Map.of("x", input))) {
            float[][] probs = (float[][]) result.get(0).getValue();
            for (int i = 0; i < probs.length; i++) {
                int predicted = probs[i][1] > probs[i][0] ? 1 : 0;
                correct += predicted == labels[i] ? 1 : 0;
            }
        }
        double top1 = correct / 200.0;
        System.out.printf("fp32 cls top-1 on 200 rendered crops: %.3f%n", top1);
        assertThat(top1).isGreaterThanOrEqualTo(0.90);
    }

    @Test
    void fp32DetModelLightsUpOnTheTextBoxes() throws Exception {
        Path model = RealModels.paddleOcr("ch_PP-OCRv4_det_infer.onnx");
        OcrDataRenderer r = renderer();
        Random random = new Random(21);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double inside = 0;
        double outside = 0;
        long nIn = 0;
        long nOut = 0;
        try (OrtSession session = env.createSession(model.toString(), new OrtSession.SessionOptions())) {
            for (int p = 0; p < 4; p++) {
                OcrDataRenderer.Page page = r.page(random);
                boolean[] inBox = new boolean[320 * 320];
                for (int[] b : page.boxes()) {
                    for (int y = b[1]; y < b[3]; y++) {
                        for (int x = b[0]; x < b[2]; x++) {
                            inBox[y * 320 + x] = true;
                        }
                    }
                }
                try (OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(page.pixels()),
                         new long[] {1, 3, 320, 320});
                     OrtSession.Result result = session.run(Map.of("x", input))) {
                    float[][][][] map = (float[][][][]) result.get(0).getValue();
                    for (int y = 0; y < 320; y++) {
                        for (int x = 0; x < 320; x++) {
                            float v = map[0][0][y][x];
                            if (inBox[y * 320 + x]) {
                                inside += v;
                                nIn++;
                            } else {
                                outside += v;
                                nOut++;
                            }
                        }
                    }
                }
            }
        }
        double in = inside / nIn;
        double out = outside / nOut;
        System.out.printf("fp32 det mean probability: inside text boxes %.3f, outside %.3f%n", in, out);
        assertThat(in).isGreaterThan(0.2).isGreaterThan(20 * out);
        assertThat(out).isLessThan(0.1);
    }
}
