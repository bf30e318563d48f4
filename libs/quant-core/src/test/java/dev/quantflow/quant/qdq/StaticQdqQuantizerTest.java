package dev.quantflow.quant.qdq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.QuantParams;
import dev.quantflow.quant.QuantizationException;
import dev.quantflow.quant.TestModels;
import dev.quantflow.quant.calib.ActivationStatistics;

class StaticQdqQuantizerTest {

    private static final long[] CNN_SHAPE = {16, 3, 13, 13};
    private final StaticQdqQuantizer quantizer = new StaticQdqQuantizer();

    private static float[] cnnInput(long seed) {
        return TestModels.uniform(new Random(seed), 16 * 3 * 13 * 13, -1f, 1.5f);
    }

    private static ActivationStatistics calibrate(OnnxModel fp32, StaticQuantRecipe recipe, String input,
                                                  float[] data, long[] shape) {
        return OrtSupport.minMax(fp32, StaticQdqQuantizer.tensorsToCalibrate(fp32, recipe), input, data, shape);
    }

    @Test
    void tensorsToCalibrateListsOnlyRangesTheQuantizerNeeds() {
        assertThat(StaticQdqQuantizer.tensorsToCalibrate(TestModels.cnn(1, 13), StaticQuantRecipe.defaults()))
            .containsExactly("input", "r1", "r2", "r3");
        assertThat(StaticQdqQuantizer.tensorsToCalibrate(TestModels.mlp(1), StaticQuantRecipe.defaults()))
            .containsExactly("x", "m1", "h");
    }

    @ParameterizedTest
    @EnumSource(ActivationType.class)
    void cnnIsQuantizedFusedByOnnxRuntimeAndCloseToFp32(ActivationType activations) throws Exception {
        OnnxModel fp32 = TestModels.cnn(11, 13);
        StaticQuantRecipe recipe = new StaticQuantRecipe(Set.of(), true, activations);
        float[] calib = cnnInput(1);
        ActivationStatistics stats = calibrate(fp32, recipe, "input", calib, CNN_SHAPE);
        StaticQuantizationResult result = quantizer.quantize(fp32, stats, recipe);

        assertThat(result.decisions()).extracting(NodeDecision::node).containsExactly(
            "conv1", "relu1", "pool1", "conv2", "relu2", "flatten", "fc1", "relu3", "fc2");
        assertThat(result.keptFloatNodes()).isEmpty();
        assertThat(result.decisions()).filteredOn(d -> d.opType().equals("Relu"))
            .allSatisfy(d -> assertThat(d.reason()).startsWith("absorbed into"));

        OnnxModel q = result.model();
        // Relus are gone, weights are int8 with per-channel scales, biases int32.
        assertThat(q.graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType).doesNotContain("Relu");
        Map<String, OnnxMl.TensorProto> inits = q.initializers();
        assertThat(inits.get("W1_quantized").getDataType()).isEqualTo(OnnxMl.TensorProto.DataType.INT8_VALUE);
        assertThat(inits.get("W1_scale").getDims(0)).isEqualTo(5);
        assertThat(inits.get("F1_scale").getDims(0)).isEqualTo(11);  // transB=1: axis 0 of [11,112]
        assertThat(inits.get("F2_scale").getDims(0)).isEqualTo(3);   // transB=0: axis 1 of [11,3]
        assertThat(inits.get("B2_quantized").getDataType()).isEqualTo(OnnxMl.TensorProto.DataType.INT32_VALUE);
        assertThat(inits).doesNotContainKeys("W1", "W2", "F1", "F2", "B1");
        assertThat(q.outputs()).extracting(OnnxModel.ValueInfo::name).containsExactly("logits");

        // ONNX Runtime turns the QDQ groups into integer kernels.
        List<String> ops = OrtSupport.optimizedOps(q);
        assertThat(ops).contains("QLinearConv", "QGemm", "MaxPool");
        assertThat(ops).doesNotContain("Conv", "Gemm");

        // Accuracy: the QDQ graph evaluated exactly (no fusion) stays close to fp32 on unseen data ...
        float[] test = cnnInput(2);
        float[] ref = OrtSupport.run(fp32, "input", test, CNN_SHAPE).get("logits");
        float[] simulated = OrtSupport.run(q, "input", test, CNN_SHAPE, OptLevel.NO_OPT).get("logits");
        float[] fused = OrtSupport.run(q, "input", test, CNN_SHAPE, OptLevel.ALL_OPT).get("logits");
        assertThat(relativeL2(simulated, ref)).isLessThan(0.05);
        assertThat(relativeL2(fused, ref)).isLessThan(0.05);
        // ... and the fused integer kernels compute the QDQ graph: they may differ by one requantization step of
        // fc2's input (scale s_r3) per element, i.e. at most s_r3 · ||F2[:, c]||_1 per logit.
        QuantParams r3 = QuantParams.asymmetric(stats.range("r3").orElseThrow().min(),
            stats.range("r3").orElseThrow().max(), activations.quantType());
        float[] f2 = Tensors.toFloatArray(fp32.initializers().get("F2"));
        for (int i = 0; i < fused.length; i++) {
            int c = i % 3;
            double l1 = 0;
            for (int k = 0; k < 11; k++) {
                l1 += Math.abs(f2[k * 3 + c]);
            }
            assertThat((double) Math.abs(fused[i] - simulated[i])).as("logit %d", i)
                .isLessThanOrEqualTo(r3.scale() * l1 + 1e-4);
        }
        assertThat(fused).isNotEqualTo(ref); // it really is quantized
    }

    /**
     * One Conv + Relu: every error source is bounded, so the int8 result must lie within
     * ||W_c||_1·s_x/2 + K·max|x|·s_w[c]/2 + s_b[c]/2 + 1.5·s_y of fp32 (input rounding, weight rounding, bias rounding,
     * output rounding plus one step of integer requantization), the calibration data being the test data.
     */
    @Test
    void singleConvStaysWithinTheAnalyticErrorBound() throws Exception {
        Random r = new Random(5);
        int m = 5;
        int c = 3;
        int k = c * 9;
        float[] w = TestModels.gaussian(r, m * k, 0.5f);
        float[] b = TestModels.gaussian(r, m, 0.3f);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("conv")
            .addInput(TestModels.value("x", "N", c, 9, 11)).addOutput(TestModels.value("y", "N", m, 9, 11))
            .addInitializer(Tensors.floatTensor("W", new long[] {m, c, 3, 3}, w))
            .addInitializer(Tensors.floatTensor("B", new long[] {m}, b))
            .addNode(Nodes.create("Conv", "conv", List.of("x", "W", "B"), List.of("c"),
                Nodes.intsAttribute("pads", 1, 1, 1, 1)))
            .addNode(Nodes.create("Relu", "relu", List.of("c"), List.of("y")));
        OnnxModel fp32 = TestModels.model(g, 13);
        long[] shape = {4, c, 9, 11};
        float[] x = TestModels.uniform(r, 4 * c * 99, -2f, 3f);
        ActivationStatistics stats = calibrate(fp32, StaticQuantRecipe.defaults(), "x", x, shape);
        OnnxModel q = quantizer.quantize(fp32, stats, StaticQuantRecipe.defaults()).model();
        assertThat(OrtSupport.optimizedOps(q)).contains("QLinearConv");

        float[] ref = OrtSupport.run(fp32, "x", x, shape).get("y");
        float[] got = OrtSupport.run(q, "x", x, shape).get("y");
        QuantParams sx = QuantParams.asymmetric(stats.range("x").orElseThrow().min(), stats.range("x").orElseThrow().max(),
            dev.quantflow.quant.QuantType.UINT8);
        QuantParams sy = QuantParams.asymmetric(0f, stats.range("y").orElseThrow().max(), dev.quantflow.quant.QuantType.UINT8);
        float xMax = Math.max(Math.abs(stats.range("x").orElseThrow().min()), stats.range("x").orElseThrow().max());
        float[] sw = Tensors.toFloatArray(q.initializers().get("W_scale"));
        int plane = 99;
        for (int i = 0; i < ref.length; i++) {
            int ch = (i / plane) % m;
            double l1 = 0;
            for (int j = 0; j < k; j++) {
                l1 += Math.abs(w[ch * k + j]);
            }
            double bound = l1 * sx.scale() / 2 + k * xMax * sw[ch] / 2 + sx.scale() * sw[ch] / 2 + 1.5 * sy.scale() + 1e-5;
            assertThat((double) Math.abs(got[i] - ref[i])).as("element %d", i).isLessThanOrEqualTo(bound);
        }
    }

    /**
     * Conv → Clip(0, 6) (ReLU6): the Clip is absorbed into the Conv's output quantization like a Relu (its calibrated
     * range [0, m], m &le; 6, clamps the same way), so ONNX Runtime runs one QLinearConv and no Clip.
     */
    @Test
    void convReluSixClipIsAbsorbedIntoTheOutputQuantization() throws Exception {
        Random r = new Random(7);
        int m = 4;
        int c = 3;
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("relu6")
            .addInput(TestModels.value("x", "N", c, 8, 8)).addOutput(TestModels.value("y", "N", m, 8, 8))
            .addInitializer(Tensors.floatTensor("W", new long[] {m, c, 3, 3}, TestModels.gaussian(r, m * c * 9, 0.8f)))
            .addInitializer(Tensors.floatTensor("B", new long[] {m}, TestModels.gaussian(r, m, 0.3f)))
            .addInitializer(Tensors.floatTensor("lo", new long[] {}, new float[] {0f}))
            .addInitializer(Tensors.floatTensor("hi", new long[] {}, new float[] {6f}))
            .addNode(Nodes.create("Conv", "conv", List.of("x", "W", "B"), List.of("c"),
                Nodes.intsAttribute("pads", 1, 1, 1, 1)))
            .addNode(Nodes.create("Clip", "clip", List.of("c", "lo", "hi"), List.of("y")));
        OnnxModel fp32 = TestModels.model(g, 13);
        long[] shape = {4, c, 8, 8};
        float[] x = TestModels.uniform(r, 4 * c * 64, -2f, 3f);
        ActivationStatistics stats = calibrate(fp32, StaticQuantRecipe.defaults(), "x", x, shape);
        StaticQuantizationResult result = quantizer.quantize(fp32, stats, StaticQuantRecipe.defaults());
        assertThat(result.decisions()).filteredOn(d -> d.opType().equals("Clip"))
            .singleElement().satisfies(d -> assertThat(d.reason()).startsWith("absorbed into"));
        OnnxModel q = result.model();
        assertThat(q.graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType).doesNotContain("Clip");
        assertThat(OrtSupport.optimizedOps(q)).contains("QLinearConv");
        float[] ref = OrtSupport.run(fp32, "x", x, shape).get("y");
        float[] got = OrtSupport.run(q, "x", x, shape).get("y");
        assertThat(relativeL2(got, ref)).isLessThan(0.05);
    }

    /**
     * Full-range weights (codes up to ±127) are exact only on CPUs whose u8·s8 kernels do not saturate, or with ONNX
     * Runtime's {@code session.x64quantprecision=1}; with that option the fused run equals the exact QDQ semantics.
     */
    @Test
    void fullRangeWeightsAreExactWithX64QuantPrecision() throws Exception {
        Random r = new Random(5);
        OnnxModel fp32 = TestModels.cnn(11, 13);
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults().withReduceRangeWeights(false);
        ActivationStatistics stats = calibrate(fp32, recipe, "input", cnnInput(1), CNN_SHAPE);
        OnnxModel q = quantizer.quantize(fp32, stats, recipe).model();
        assertThat(Tensors.toByteArray(q.initializers().get("W1_quantized"))).contains((byte) 127);
        float[] test = cnnInput(2);
        float[] simulated = OrtSupport.run(q, "input", test, CNN_SHAPE, OptLevel.NO_OPT).get("logits");
        float[] fused;
        try (ai.onnxruntime.OrtSession.SessionOptions opts = new ai.onnxruntime.OrtSession.SessionOptions()) {
            opts.addConfigEntry("session.x64quantprecision", "1");
            fused = OrtSupport.run(q.toByteArray(), opts, Map.of("input", OrtSupport.tensor(test, CNN_SHAPE))).get("logits");
        }
        for (int i = 0; i < fused.length; i++) {
            assertThat(fused[i]).as("logit %d", i).isCloseTo(simulated[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
        float[] ref = OrtSupport.run(fp32, "input", test, CNN_SHAPE).get("logits");
        assertThat(relativeL2(fused, ref)).isLessThan(0.05);
    }

    @Test
    void reducedRangeWeightsAreExactInTheFusedKernels() throws Exception {
        OnnxModel fp32 = TestModels.cnn(11, 13);
        ActivationStatistics stats = calibrate(fp32, StaticQuantRecipe.defaults(), "input", cnnInput(1), CNN_SHAPE);
        OnnxModel q = quantizer.quantize(fp32, stats, StaticQuantRecipe.defaults()).model();
        byte[] w = Tensors.toByteArray(q.initializers().get("W2_quantized"));
        int maxAbs = 0;
        for (byte b : w) {
            maxAbs = Math.max(maxAbs, Math.abs(b));
        }
        assertThat(maxAbs).isEqualTo(64);
        float[] test = cnnInput(2);
        float[] simulated = OrtSupport.run(q, "input", test, CNN_SHAPE, OptLevel.NO_OPT).get("logits");
        float[] fused = OrtSupport.run(q, "input", test, CNN_SHAPE, OptLevel.ALL_OPT).get("logits");
        for (int i = 0; i < fused.length; i++) {
            assertThat(fused[i]).as("logit %d", i).isCloseTo(simulated[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void matMulAddReluBecomesIntegerKernels() throws Exception {
        OnnxModel fp32 = TestModels.mlp(3);
        long[] shape = {32, 17};
        float[] x = TestModels.gaussian(new Random(4), 32 * 17, 1f);
        ActivationStatistics stats = calibrate(fp32, StaticQuantRecipe.defaults(), "x", x, shape);
        StaticQuantizationResult result = quantizer.quantize(fp32, stats, StaticQuantRecipe.defaults());
        assertThat(result.keptFloatNodes()).isEmpty();
        assertThat(result.model().initializers().get("M1_scale").getDims(0)).isEqualTo(9); // axis 1 of [17, 9]

        List<String> ops = OrtSupport.optimizedOps(result.model());
        assertThat(ops).contains("QLinearMatMul", "QLinearAdd");
        assertThat(ops).doesNotContain("Relu");

        float[] test = TestModels.gaussian(new Random(5), 32 * 17, 1f);
        float[] ref = OrtSupport.run(fp32, "x", test, shape).get("y");
        float[] got = OrtSupport.run(result.model(), "x", test, shape).get("y");
        assertThat(relativeL2(got, ref)).isLessThan(0.05);
    }

    @Test
    void excludedNodeStaysFp32BehindDequantizeLinear() throws Exception {
        OnnxModel fp32 = TestModels.cnn(11, 13);
        StaticQuantRecipe recipe = new StaticQuantRecipe(Set.of("conv2"), true, ActivationType.UINT8);
        float[] calib = cnnInput(1);
        ActivationStatistics stats = calibrate(fp32, recipe, "input", calib, CNN_SHAPE);
        StaticQuantizationResult result = quantizer.quantize(fp32, stats, recipe);

        assertThat(result.keptFloatNodes()).extracting(NodeDecision::node, NodeDecision::reason).containsExactly(
            org.assertj.core.groups.Tuple.tuple("conv2", "excluded by recipe"),
            org.assertj.core.groups.Tuple.tuple("relu2", "input not quantized (nothing to pass through)"),
            org.assertj.core.groups.Tuple.tuple("flatten", "input not quantized (nothing to pass through)"));
        OnnxMl.NodeProto conv2 = result.model().graph().getNodeList().stream()
            .filter(n -> n.getName().equals("conv2")).findFirst().orElseThrow();
        assertThat(conv2.getInput(1)).isEqualTo("W2");                 // original float weights
        assertThat(result.model().initializers().get("W2").getDataType()).isEqualTo(OnnxMl.TensorProto.DataType.FLOAT_VALUE);
        // conv2 reads the dequantized pool1 output: the boundary out of the integer region is a DequantizeLinear.
        OnnxMl.NodeProto feeding = result.model().graph().getNodeList().stream()
            .filter(n -> n.getOutputList().contains(conv2.getInput(0))).findFirst().orElseThrow();
        assertThat(feeding.getOpType()).isEqualTo("DequantizeLinear");

        List<String> ops = OrtSupport.optimizedOps(result.model());
        assertThat(ops).contains("QLinearConv", "QGemm");
        assertThat(ops).containsAnyOf("Conv", "FusedConv"); // conv2 (+ its Relu) in fp32

        float[] test = cnnInput(2);
        float[] ref = OrtSupport.run(fp32, "input", test, CNN_SHAPE).get("logits");
        float[] got = OrtSupport.run(result.model(), "input", test, CNN_SHAPE).get("logits");
        assertThat(relativeL2(got, ref)).isLessThan(0.05);
    }

    @Test
    void shortReductionConvStaysFp32AndItsPoolQuantizesAfterTheMaxPool() throws Exception {
        OnnxModel fp32 = TestModels.cnn(11, 13);  // conv1: W1 [5, 3, 3, 3], K = 27
        assertThat(StaticQuantRecipe.defaults().minConvReduction()).isEqualTo(27);
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults().withMinConvReduction(28);
        assertThat(StaticQdqQuantizer.tensorsToCalibrate(fp32, recipe)).containsExactly("p1", "r2", "r3");
        ActivationStatistics stats = calibrate(fp32, recipe, "input", cnnInput(1), CNN_SHAPE);
        StaticQuantizationResult result = quantizer.quantize(fp32, stats, recipe);

        assertThat(result.keptFloatNodes()).extracting(NodeDecision::node).containsExactly("conv1", "relu1", "pool1");
        assertThat(result.keptFloatNodes().get(0).reason())
            .isEqualTo("reduction too short for integer kernels to pay off (C/group·kh·kw = 27 < 28)");
        assertThat(result.keptFloatNodes().get(1).reason()).startsWith("kept fp32, moved behind pool1");
        assertThat(result.quantizedNodes()).extracting(NodeDecision::node).contains("conv2", "fc1", "fc2");

        // conv1 → pool1 → relu1 → QuantizeLinear(p1): the Relu now sits between the MaxPool and the Q.
        List<OnnxMl.NodeProto> nodes = result.model().graph().getNodeList();
        assertThat(nodes.subList(0, 4)).extracting(OnnxMl.NodeProto::getOpType)
            .containsExactly("Conv", "MaxPool", "Relu", "QuantizeLinear");
        assertThat(nodes.get(1).getInput(0)).isEqualTo("c1");
        assertThat(nodes.get(2).getOutput(0)).isEqualTo("p1");
        assertThat(nodes.get(3).getInput(0)).isEqualTo("p1");
        assertThat(result.model().initializers().get("W1").getDataType()).isEqualTo(OnnxMl.TensorProto.DataType.FLOAT_VALUE);

        // ONNX Runtime keeps the first QuantizeLinear after the fp32 MaxPool (no 8-bit NCHW MaxPool) and still fuses
        // the rest into integer kernels.
        for (OptLevel level : List.of(OptLevel.EXTENDED_OPT, OptLevel.ALL_OPT)) {
            OnnxMl.GraphProto optimized = optimizedGraph(result.model(), level);
            OnnxMl.NodeProto firstQ = optimized.getNodeList().stream()
                .filter(n -> n.getOpType().equals("QuantizeLinear")).findFirst().orElseThrow();
            OnnxMl.NodeProto beforeQ = producerOf(optimized, firstQ.getInput(0));
            if (beforeQ.getOpType().equals("ReorderOutput")) { // NCHWc → NCHW after an NCHWc MaxPool
                beforeQ = producerOf(optimized, beforeQ.getInput(0));
            }
            assertThat(beforeQ.getOpType()).as("producer of the first QuantizeLinear at %s", level).isEqualTo("MaxPool");
            assertThat(optimized.getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
                .contains("QLinearConv", "QGemm").doesNotContain("Relu");
        }

        float[] test = cnnInput(2);
        float[] ref = OrtSupport.run(fp32, "input", test, CNN_SHAPE).get("logits");
        float[] simulated = OrtSupport.run(result.model(), "input", test, CNN_SHAPE, OptLevel.NO_OPT).get("logits");
        float[] fused = OrtSupport.run(result.model(), "input", test, CNN_SHAPE, OptLevel.ALL_OPT).get("logits");
        assertThat(relativeL2(simulated, ref)).isLessThan(0.05);
        assertThat(relativeL2(fused, ref)).isLessThan(0.05);
    }

    /**
     * A torch export's ReLU6: fp32 conv1 → Clip(0, 6) → MaxPool → quantized conv2. The Clip moves behind the pool like
     * a Relu, so ONNX Runtime keeps that MaxPool in fp32 (without the swap it propagates the QuantizeLinear above the
     * pool and runs it as 8-bit NCHW: 22 of 31 ms at batch 256 on the BN-kept fixture CNN).
     */
    @Test
    void reluSixClipBeforeAPoolOfAnFp32ConvMovesBehindThePool() throws Exception {
        OnnxModel relu = TestModels.cnn(11, 13);
        OnnxMl.GraphProto.Builder g = relu.graph().toBuilder()
            .addInitializer(Tensors.floatTensor("lo", new long[] {}, new float[] {0f}))
            .addInitializer(Tensors.floatTensor("hi", new long[] {}, new float[] {6f}));
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getName().equals("relu1")) {
                g.setNode(i, g.getNode(i).toBuilder().setOpType("Clip").addInput("lo").addInput("hi"));
            }
        }
        OnnxModel fp32 = TestModels.model(g, 13);
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults().withMinConvReduction(28);
        ActivationStatistics stats = calibrate(fp32, recipe, "input", cnnInput(1), CNN_SHAPE);
        StaticQuantizationResult result = quantizer.quantize(fp32, stats, recipe);

        assertThat(result.keptFloatNodes()).extracting(NodeDecision::node).containsExactly("conv1", "relu1", "pool1");
        assertThat(result.keptFloatNodes().get(1).reason()).startsWith("kept fp32, moved behind pool1");
        List<OnnxMl.NodeProto> nodes = result.model().graph().getNodeList();
        assertThat(nodes.subList(0, 4)).extracting(OnnxMl.NodeProto::getOpType)
            .containsExactly("Conv", "MaxPool", "Clip", "QuantizeLinear");
        assertThat(nodes.get(2).getInputList()).containsExactly(nodes.get(1).getOutput(0), "lo", "hi");
        OnnxMl.GraphProto optimized = optimizedGraph(result.model(), OptLevel.ALL_OPT);
        OnnxMl.NodeProto firstQ = optimized.getNodeList().stream()
            .filter(n -> n.getOpType().equals("QuantizeLinear")).findFirst().orElseThrow();
        OnnxMl.NodeProto beforeQ = producerOf(optimized, firstQ.getInput(0));
        if (beforeQ.getOpType().equals("ReorderOutput")) {
            beforeQ = producerOf(optimized, beforeQ.getInput(0));
        }
        assertThat(beforeQ.getOpType()).isIn("MaxPool", "Clip");

        float[] test = cnnInput(2);
        float[] ref = OrtSupport.run(fp32, "input", test, CNN_SHAPE).get("logits");
        float[] simulated = OrtSupport.run(result.model(), "input", test, CNN_SHAPE, OptLevel.NO_OPT).get("logits");
        assertThat(relativeL2(simulated, ref)).isLessThan(0.05);
    }

    @Test
    void reluPoolSwapIsExact() throws Exception {
        // relu(maxpool(c1)) in the quantized graph equals maxpool(relu(c1)) of the fp32 graph bit for bit.
        OnnxModel fp32 = TestModels.cnn(11, 13);
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults().withMinConvReduction(28);
        ActivationStatistics stats = calibrate(fp32, recipe, "input", cnnInput(1), CNN_SHAPE);
        OnnxModel swapped = quantizer.quantize(fp32, stats, recipe).model();
        float[] test = cnnInput(3);
        float[] p1Fp32 = OrtSupport.run(fp32.withAdditionalOutputs(List.of("p1")), "input", test, CNN_SHAPE,
            OptLevel.NO_OPT).get("p1");
        float[] p1Swapped = OrtSupport.run(swapped.withAdditionalOutputs(List.of("p1")), "input", test, CNN_SHAPE,
            OptLevel.NO_OPT).get("p1");
        assertThat(p1Swapped).containsExactly(p1Fp32);
    }

    @Test
    void minConvReductionZeroQuantizesEveryConvAndRecipeChecksIt() {
        OnnxModel fp32 = TestModels.cnn(11, 13);
        StaticQuantRecipe all = StaticQuantRecipe.defaults().withMinConvReduction(0);
        ActivationStatistics stats = calibrate(fp32, all, "input", cnnInput(1), CNN_SHAPE);
        assertThat(quantizer.quantize(fp32, stats, all).keptFloatNodes()).isEmpty();
        assertThat(new StaticQuantRecipe(Set.of(), true, ActivationType.INT8, false).minConvReduction())
            .isEqualTo(StaticQuantRecipe.DEFAULT_MIN_CONV_REDUCTION);
        assertThat(all.withActivationType(ActivationType.INT8).withReduceRangeWeights(false).minConvReduction())
            .isZero();
        assertThatThrownBy(() -> StaticQuantRecipe.defaults().withMinConvReduction(-1))
            .isInstanceOf(IllegalArgumentException.class);
    }

    private static OnnxMl.GraphProto optimizedGraph(OnnxModel model, OptLevel level) throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("optimized", ".onnx");
        try (ai.onnxruntime.OrtSession.SessionOptions opts = new ai.onnxruntime.OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(level);
            opts.setOptimizedModelFilePath(file.toString());
            try (ai.onnxruntime.OrtSession ignored = OrtSupport.ENV.createSession(model.toByteArray(), opts)) {
                // creating the session writes the optimized graph
            }
            return OnnxMl.ModelProto.parseFrom(java.nio.file.Files.readAllBytes(file)).getGraph();
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    private static OnnxMl.NodeProto producerOf(OnnxMl.GraphProto graph, String tensor) {
        return graph.getNodeList().stream().filter(n -> n.getOutputList().contains(tensor)).findFirst().orElseThrow();
    }

    @Test
    void missingRangeKeepsNodeFp32WithReason() {
        OnnxModel fp32 = TestModels.cnn(11, 13);
        ActivationStatistics full = calibrate(fp32, StaticQuantRecipe.defaults(), "input", cnnInput(1), CNN_SHAPE);
        Map<String, dev.quantflow.quant.calib.TensorRange> ranges = new java.util.HashMap<>(full.ranges());
        ranges.remove("r3");
        StaticQuantizationResult result = quantizer.quantize(fp32, new ActivationStatistics("minmax", 16, ranges),
            StaticQuantRecipe.defaults());
        assertThat(result.keptFloatNodes()).extracting(NodeDecision::node, NodeDecision::reason)
            .contains(org.assertj.core.groups.Tuple.tuple("fc1", "no calibration range for tensor 'r3'"));
        float[] ref = OrtSupport.run(fp32, "input", cnnInput(2), CNN_SHAPE).get("logits");
        float[] got = OrtSupport.run(result.model(), "input", cnnInput(2), CNN_SHAPE).get("logits");
        assertThat(relativeL2(got, ref)).isLessThan(0.05);
    }

    @Test
    void sameInputGivesSameBytes() {
        OnnxModel fp32 = TestModels.cnn(11, 13);
        ActivationStatistics stats = calibrate(fp32, StaticQuantRecipe.defaults(), "input", cnnInput(1), CNN_SHAPE);
        byte[] a = quantizer.quantize(fp32, stats, StaticQuantRecipe.defaults()).model().toByteArray();
        byte[] b = new StaticQdqQuantizer().quantize(OnnxModel.parse(fp32.toByteArray()),
            ActivationStatistics.fromJson(stats.toJson()), StaticQuantRecipe.defaults()).model().toByteArray();
        assertThat(b).isEqualTo(a);
    }

    @Test
    void oldOpsetIsMovedTo13ForPerChannelWeights() throws Exception {
        OnnxModel fp32 = TestModels.cnn(11, 11);
        ActivationStatistics stats = calibrate(fp32, StaticQuantRecipe.defaults(), "input", cnnInput(1), CNN_SHAPE);
        OnnxModel q = quantizer.quantize(fp32, stats, StaticQuantRecipe.defaults()).model();
        assertThat(q.opsetVersion()).isEqualTo(13);
        assertThat(q.initializers().get("W1_scale").getDimsCount()).isEqualTo(1);
        assertThat(OrtSupport.optimizedOps(q)).contains("QLinearConv");
    }

    @Test
    void opsetThatCannotMoveFallsBackToPerTensorWeights() throws Exception {
        OnnxModel base = TestModels.cnn(11, 11);
        // Softmax changed meaning at opset 13, so the model must stay at 11.
        OnnxMl.GraphProto.Builder g = base.graph().toBuilder();
        g.addNode(Nodes.create("Softmax", "softmax", List.of("logits"), List.of("probs"), Nodes.intAttribute("axis", 1)));
        g.setOutput(0, TestModels.value("probs", "N", 3));
        OnnxModel fp32 = TestModels.model(g, 11);
        ActivationStatistics stats = calibrate(fp32, StaticQuantRecipe.defaults(), "input", cnnInput(1), CNN_SHAPE);
        StaticQuantizationResult result = quantizer.quantize(fp32, stats, StaticQuantRecipe.defaults());
        OnnxModel q = result.model();
        assertThat(q.opsetVersion()).isEqualTo(11);
        assertThat(q.initializers().get("W1_scale").getDimsCount()).isZero();
        assertThat(result.keptFloatNodes()).extracting(NodeDecision::node, NodeDecision::reason)
            .containsExactly(org.assertj.core.groups.Tuple.tuple("softmax", "op not supported"));
        assertThat(OrtSupport.optimizedOps(q)).contains("QLinearConv");
        float[] ref = OrtSupport.run(fp32, "input", cnnInput(2), CNN_SHAPE).get("probs");
        float[] got = OrtSupport.run(q, "input", cnnInput(2), CNN_SHAPE).get("probs");
        assertThat(relativeL2(got, ref)).isLessThan(0.05);
    }

    @Test
    void unquantizableModelsFailWithAClearMessage() {
        OnnxModel fp32 = TestModels.cnn(11, 13);
        ActivationStatistics stats = calibrate(fp32, StaticQuantRecipe.defaults(), "input", cnnInput(1), CNN_SHAPE);
        OnnxModel quantized = quantizer.quantize(fp32, stats, StaticQuantRecipe.defaults()).model();
        assertThatThrownBy(() -> quantizer.quantize(quantized, stats, StaticQuantRecipe.defaults()))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("already contains quantized operators");

        OnnxModel opset9 = OnnxModel.wrap(fp32.proto().toBuilder()
            .setOpsetImport(0, OnnxMl.OperatorSetIdProto.newBuilder().setVersion(9)).build());
        assertThatThrownBy(() -> quantizer.quantize(opset9, stats, StaticQuantRecipe.defaults()))
            .isInstanceOf(QuantizationException.class).hasMessageContaining("opset 9");

        Set<String> all = Set.of("conv1", "relu1", "pool1", "conv2", "relu2", "flatten", "fc1", "relu3", "fc2");
        assertThatThrownBy(() -> quantizer.quantize(fp32, stats, new StaticQuantRecipe(all, true, ActivationType.UINT8)))
            .isInstanceOf(QuantizationException.class)
            .hasMessageContaining("no node of the model could be quantized").hasMessageContaining("excluded by recipe");
    }

    static double relativeL2(float[] got, float[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (got[i] - ref[i]) * (double) (got[i] - ref[i]);
            den += ref[i] * (double) ref[i];
        }
        return Math.sqrt(num / den);
    }
}
