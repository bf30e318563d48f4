package dev.quantflow.quant.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.TestModels;

class LlmWeightQuantizerTest {

    static final int K1 = 80;
    static final int N1 = 48;
    static final int N2 = 24;

    /** x [B, 80] → mm1 (80→48) → add1 (+bias) → relu → mm2 (48→24) → y. */
    static OnnxModel twoMatMuls(long seed, int opset) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("two");
        g.addInput(TestModels.value("x", "B", K1)).addOutput(TestModels.value("y", "B", N2));
        g.addInitializer(Tensors.floatTensor("W1", new long[] {K1, N1}, LlmTestData.gaussian(r, K1 * N1, 0.2f)));
        g.addInitializer(Tensors.floatTensor("b1", new long[] {N1}, LlmTestData.gaussian(r, N1, 0.1f)));
        g.addInitializer(Tensors.floatTensor("W2", new long[] {N1, N2}, LlmTestData.gaussian(r, N1 * N2, 0.2f)));
        g.addNode(Nodes.create("MatMul", "mm1", List.of("x", "W1"), List.of("m1")));
        g.addNode(Nodes.create("Add", "add1", List.of("m1", "b1"), List.of("a1")));
        g.addNode(Nodes.create("Relu", "relu", List.of("a1"), List.of("h")));
        g.addNode(Nodes.create("MatMul", "mm2", List.of("h", "W2"), List.of("y")));
        return TestModels.model(g, opset);
    }

    /** The same network in Java with the given (dequantized) weights. */
    static double[] forward(float[] x, int rows, float[] w1, float[] b1, float[] w2) {
        double[] m1 = LlmTestData.matmul(x, rows, K1, w1, N1);
        float[] h = new float[rows * N1];
        for (int i = 0; i < h.length; i++) {
            float v = (float) m1[i] + b1[i % N1];
            h[i] = Math.max(v, 0f);
        }
        return LlmTestData.matmul(h, rows, N1, w2, N2);
    }

    static float[] init(OnnxModel m, String name) {
        return Tensors.toFloatArray(m.initializers().get(name));
    }

    static double relativeDiff(float[] actual, double[] expected) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < actual.length; i++) {
            num += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            den += expected[i] * expected[i];
        }
        return Math.sqrt(num / den);
    }

    private static float[] ortRun(OnnxModel m, float[] x, int rows, int k) {
        return ortRun(m, x, rows, k, OrtSession.SessionOptions.OptLevel.ALL_OPT);
    }

    private static float[] ortRun(OnnxModel m, float[] x, int rows, int k, OrtSession.SessionOptions.OptLevel level) {
        return OrtSupport.run(m, "x", x, new long[] {rows, k}, level).get("y");
    }

    @ParameterizedTest
    @CsvSource({"4,32,false,MATMUL_NBITS", "4,32,true,MATMUL_NBITS", "4,16,false,MATMUL_NBITS",
        "4,128,false,MATMUL_NBITS", "8,32,false,MATMUL_NBITS", "2,64,true,MATMUL_NBITS", "4,32,false,QDQ_BLOCKED",
        "4,64,true,QDQ_BLOCKED", "8,16,false,QDQ_BLOCKED"})
    void rtnOutputInOrtEqualsTheDequantizedWeightProduct(int bits, int blockSize, boolean symmetric,
                                                          LlmQuantRecipe.Format format) throws Exception {
        OnnxModel fp32 = twoMatMuls(1, 17);
        LlmQuantRecipe recipe = LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBits(bits).withBlockSize(blockSize)
            .withSymmetric(symmetric).withFormat(format).withAccuracyLevel(0);
        LlmQuantizationResult result = new LlmWeightQuantizer().quantize(fp32, Map.of(), recipe);

        float[] w1 = init(fp32, "W1");
        float[] w2 = init(fp32, "W2");
        BlockQuantGrid grid = new BlockQuantGrid(bits, symmetric);
        float[] q1 = new RtnQuantizer(grid, blockSize).quantize(w1, K1, N1).dequantize();
        float[] q2 = new RtnQuantizer(grid, blockSize).quantize(w2, N1, N2).dequantize();
        Random r = new Random(2);
        int rows = 9;
        float[] x = LlmTestData.gaussian(r, rows * K1, 1f);
        // ORT's extended optimizer rewrites DequantizeLinear→MatMul into MatMulNBits with accuracy_level 4 (int8
        // activations, ~0.5% off); basic optimization keeps the QDQ graph's exact semantics
        float[] y = ortRun(result.model(), x, rows, K1, format == LlmQuantRecipe.Format.QDQ_BLOCKED
            ? OrtSession.SessionOptions.OptLevel.BASIC_OPT : OrtSession.SessionOptions.OptLevel.ALL_OPT);
        double[] expected = forward(x, rows, q1, init(fp32, "b1"), q2);
        assertThat(relativeDiff(y, expected)).isLessThan(1e-4);
        // and the quantization did something
        assertThat(relativeDiff(y, forward(x, rows, w1, init(fp32, "b1"), w2))).isGreaterThan(1e-4);

        Set<String> ops = new TreeSet<>();
        result.model().graph().getNodeList().forEach(n -> ops.add(n.getOpType()));
        if (format == LlmQuantRecipe.Format.MATMUL_NBITS) {
            assertThat(ops).containsExactly("Add", "MatMulNBits", "Relu");
        } else {
            assertThat(ops).containsExactly("Add", "DequantizeLinear", "MatMul", "Relu");
            assertThat(result.model().opsetVersion()).isEqualTo(21);
            if (bits == 4) {
                assertThat(OrtSupport.optimizedOpTypes(result.model(), OrtSession.SessionOptions.OptLevel.ALL_OPT))
                    .as("ORT fuses blocked DequantizeLinear→MatMul").contains("com.microsoft:MatMulNBits");
            }
        }
        assertThat(result.decisions()).extracting(LlmNodeDecision::node).containsExactly("mm1", "mm2");
        assertThat(result.decisions()).allMatch(LlmNodeDecision::quantized);
        assertThat(result.decisions().get(0).relativeError()).isCloseTo(
            ReconstructionError.relative(w1, q1, K1, N1, null), org.assertj.core.api.Assertions.within(1e-12));
    }

    @Test
    void fourBitModelIsAboutASeventhOfFp32() {
        Random r = new Random(4);
        int k = 512;
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("big");
        g.addInput(TestModels.value("x", "B", k)).addOutput(TestModels.value("y", "B", k));
        g.addInitializer(Tensors.floatTensor("Wa", new long[] {k, k}, LlmTestData.gaussian(r, k * k, 0.05f)));
        g.addInitializer(Tensors.floatTensor("Wb", new long[] {k, k}, LlmTestData.gaussian(r, k * k, 0.05f)));
        g.addNode(Nodes.create("MatMul", "a", List.of("x", "Wa"), List.of("h")));
        g.addNode(Nodes.create("MatMul", "b", List.of("h", "Wb"), List.of("y")));
        OnnxModel fp32 = TestModels.model(g, 17);
        OnnxModel q4 = new LlmWeightQuantizer().quantize(fp32, Map.of(),
            LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBlockSize(64)).model();
        double ratio = (double) q4.toByteArray().length / fp32.toByteArray().length;
        // 4 bits + (fp32 scale + 4-bit zero) / 64 weights = 0.570 bytes per weight vs 4
        assertThat(ratio).isBetween(0.135, 0.150);
    }

    @Test
    void keptNodesLmHeadAndEightBitNodesAreReported() {
        OnnxModel fp32 = twoMatMuls(3, 17);
        LlmQuantizationResult lmKept = new LlmWeightQuantizer().quantize(fp32, Map.of(),
            LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withQuantizeLmHead(false).withEightBitNodes(Set.of("mm1")));
        assertThat(lmKept.decisions().get(0).bits()).isEqualTo(8);
        assertThat(lmKept.decisions().get(1).quantized()).isFalse();
        assertThat(lmKept.decisions().get(1).keptFp32Reason()).contains("LM head");
        assertThat(lmKept.model().graph().getNodeList()).filteredOn(n -> n.getName().equals("mm2"))
            .singleElement().extracting(OnnxMl.NodeProto::getOpType).isEqualTo("MatMul");
        assertThat(lmKept.model().graph().getNodeList()).filteredOn(n -> n.getName().equals("mm1"))
            .singleElement().satisfies(n -> assertThat(Nodes.intAttribute(n, "bits", 0)).isEqualTo(8));

        LlmQuantizationResult kept = new LlmWeightQuantizer().quantize(fp32, Map.of(),
            LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withKeepFp32(Set.of("mm1")));
        assertThat(kept.decisions().get(0).keptFp32Reason()).contains("recipe");
        assertThat(kept.decisions().get(1).quantized()).isTrue();
        assertThat(kept.decisions().get(1).toNodeDecision().quantized()).isTrue();
    }

    @Test
    void clearErrorsForMissingStatsAndUnsupportedSettings() {
        OnnxModel fp32 = twoMatMuls(3, 17);
        LlmWeightQuantizer q = new LlmWeightQuantizer();
        assertThatThrownBy(() -> q.quantize(fp32, Map.of(), LlmQuantRecipe.of(LlmQuantRecipe.Method.GPTQ)))
            .isInstanceOf(QuantizationException.class)
            .hasMessageContaining("GPTQ needs calibration statistics for 'x'").hasMessageContaining("mm1");
        assertThatThrownBy(() -> q.quantize(fp32, Map.of(), LlmQuantRecipe.of(LlmQuantRecipe.Method.AWQ)))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("AWQ needs calibration statistics");
        assertThatThrownBy(() -> q.quantize(fp32, Map.of(), LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBits(3)))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("3-bit weights cannot be written");
        assertThatThrownBy(() -> q.quantize(fp32, Map.of(), LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBits(2)
            .withFormat(LlmQuantRecipe.Format.QDQ_BLOCKED))).isInstanceOf(QuantizationException.class)
            .hasMessageContaining("QDQ_BLOCKED");
        assertThatThrownBy(() -> LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBlockSize(24))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("power of two");
        assertThatThrownBy(() -> LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBits(9))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("bits");
        LayerInputStats wrongK = new LayerInputStats("x", 7, 0, 1);
        wrongK.accumulate(new float[7], 0, 1);
        assertThatThrownBy(() -> q.quantize(fp32, Map.of("x", wrongK), LlmQuantRecipe.of(LlmQuantRecipe.Method.GPTQ)))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("7 channels");
    }

    @Test
    void gptqThroughTheGraphPassBeatsRtnAndRunsInOrt() {
        OnnxModel fp32 = twoMatMuls(5, 17);
        Random r = new Random(6);
        int rows = 512;
        float[] x = LlmTestData.correlated(r, rows, K1);
        // the statistics of mm2's input h come from running the fp32 model
        float[] h = OrtSupport.run(fp32.withAdditionalOutputs(List.of("h")), "x", x, new long[] {rows, K1}).get("h");
        Map<String, LayerInputStats> stats = Map.of("x", LlmTestData.stats("x", x, rows, K1, 64),
            "h", LlmTestData.stats("h", h, rows, N1, 64));
        LlmQuantizationResult rtn = new LlmWeightQuantizer().quantize(fp32, stats,
            LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBlockSize(16).withBits(4));
        LlmQuantizationResult gptq = new LlmWeightQuantizer().quantize(fp32, stats,
            LlmQuantRecipe.of(LlmQuantRecipe.Method.GPTQ).withBlockSize(16).withActOrder(true));
        for (int i = 0; i < 2; i++) {
            assertThat(gptq.decisions().get(i).relativeError()).isLessThan(rtn.decisions().get(i).relativeError());
            assertThat(gptq.decisions().get(i).method()).isEqualTo("GPTQ");
        }
        float[] ref = ortRun(fp32, x, rows, K1);
        float[] yr = ortRun(rtn.model(), x, rows, K1);
        float[] yg = ortRun(gptq.model(), x, rows, K1);
        double[] refD = new double[ref.length];
        for (int i = 0; i < ref.length; i++) {
            refD[i] = ref[i];
        }
        assertThat(relativeDiff(yg, refD)).isLessThan(relativeDiff(yr, refD));
    }
}
