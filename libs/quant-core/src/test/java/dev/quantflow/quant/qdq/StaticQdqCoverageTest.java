package dev.quantflow.quant.qdq;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.TestModels;
import dev.quantflow.quant.calib.ActivationStatistics;

/**
 * The op patterns of MobileNet-style and detector models (SE blocks, depthwise convolutions, sigmoid gates,
 * Resize + Concat / Add in a feature pyramid): each one is quantized where ONNX Runtime fuses it into an integer
 * kernel, which these tests check in ORT's optimized graph, and stays close to fp32.
 */
class StaticQdqCoverageTest {

    private final StaticQdqQuantizer quantizer = new StaticQdqQuantizer();
    private final Random random = new Random(17);

    private OnnxMl.NodeProto conv(OnnxMl.GraphProto.Builder g, String name, String in, String out, int cin, int cout,
                                  int k, int group) {
        float std = (float) Math.sqrt(2.0 / (cin / group * k * k));
        g.addInitializer(Tensors.floatTensor(name + "_W", new long[] {cout, cin / group, k, k},
            TestModels.gaussian(random, cout * (cin / group) * k * k, std)));
        g.addInitializer(Tensors.floatTensor(name + "_B", new long[] {cout}, TestModels.gaussian(random, cout, 0.1f)));
        int pad = k / 2;
        OnnxMl.NodeProto n = Nodes.create("Conv", name, List.of(in, name + "_W", name + "_B"), List.of(out),
            Nodes.intsAttribute("pads", pad, pad, pad, pad), Nodes.intAttribute("group", group));
        g.addNode(n);
        return n;
    }

    private static void relu(OnnxMl.GraphProto.Builder g, String name, String in, String out) {
        g.addNode(Nodes.create("Relu", name, List.of(in), List.of(out)));
    }

    private record Quantized(OnnxModel fp32, StaticQuantizationResult result, double relativeError) {

        NodeDecision decision(String node) {
            return result.decisions().stream().filter(d -> d.node().equals(node)).findFirst().orElseThrow();
        }
    }

    private Quantized quantize(OnnxMl.GraphProto.Builder g, long[] shape) {
        OnnxModel fp32 = TestModels.model(g, 13);
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] calib = TestModels.uniform(new Random(1), n, -1f, 1f);
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults();
        ActivationStatistics stats = OrtSupport.minMax(fp32, StaticQdqQuantizer.tensorsToCalibrate(fp32, recipe), "x",
            calib, shape);
        StaticQuantizationResult result = quantizer.quantize(fp32, stats, recipe);
        float[] test = TestModels.uniform(new Random(2), n, -1f, 1f);
        float[] ref = OrtSupport.run(fp32, "x", test, shape).get("y");
        float[] got = OrtSupport.run(result.model(), "x", test, shape).get("y");
        return new Quantized(fp32, result, StaticQdqQuantizerTest.relativeL2(got, ref));
    }

    /** x → conv → relu → [GAP → conv → relu → conv → HardSigmoid] → Mul(relu, gate) → conv: MobileNetV3's SE block. */
    @Test
    void squeezeExcitationRunsAsQLinearGlobalAveragePoolAndQLinearMul() throws Exception {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("se")
            .addInput(TestModels.value("x", "N", 8, 12, 12)).addOutput(TestModels.value("y", "N", 32, 12, 12));
        conv(g, "expand", "x", "e", 8, 32, 3, 1);
        relu(g, "expand_relu", "e", "r");
        g.addNode(Nodes.create("GlobalAveragePool", "squeeze", List.of("r"), List.of("s")));
        conv(g, "fc1", "s", "f1", 32, 32, 1, 1);
        relu(g, "fc1_relu", "f1", "f1r");
        conv(g, "fc2", "f1r", "f2", 32, 32, 1, 1);
        g.addNode(Nodes.create("HardSigmoid", "gate", List.of("f2"), List.of("h"),
            Nodes.floatAttribute("alpha", 1f / 6), Nodes.floatAttribute("beta", 0.5f)));
        g.addNode(Nodes.create("Mul", "excite", List.of("r", "h"), List.of("m")));
        conv(g, "project", "m", "y", 32, 32, 1, 1);

        Quantized q = quantize(g, new long[] {4, 8, 12, 12});

        assertThat(q.decision("squeeze").quantized()).isTrue();
        assertThat(q.decision("excite").quantized()).isTrue();
        assertThat(q.decision("gate").quantized()).isFalse();
        assertThat(q.decision("gate").reason()).startsWith("no integer kernel");
        List<String> ops = OrtSupport.optimizedOps(q.result().model());
        assertThat(ops).contains("QLinearGlobalAveragePool", "QLinearMul", "QLinearConv", "HardSigmoid");
        assertThat(ops).doesNotContain("GlobalAveragePool", "Mul", "Conv");
        assertThat(q.relativeError()).isLessThan(0.05);
    }

    /** HardSwish / HardSigmoid between DequantizeLinear and QuantizeLinear stay fp32 ops in ORT: no fusion exists. */
    @Test
    void onnxRuntimeHasNoIntegerHardSwishOrHardSigmoid() throws Exception {
        for (String op : List.of("HardSwish", "HardSigmoid")) {
            OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("hs")
                .addInput(TestModels.value("x", "N", 4)).addOutput(TestModels.value("y", "N", 4))
                .addInitializer(Tensors.floatTensor("s", new long[0], new float[] {0.05f}))
                .addInitializer(Tensors.uint8Tensor("z", new long[0], new byte[] {(byte) 128}))
                .addNode(Nodes.create("QuantizeLinear", "q0", List.of("x", "s", "z"), List.of("xq")))
                .addNode(Nodes.create("DequantizeLinear", "dq0", List.of("xq", "s", "z"), List.of("xd")))
                .addNode(Nodes.create(op, "act", List.of("xd"), List.of("a")))
                .addNode(Nodes.create("QuantizeLinear", "q1", List.of("a", "s", "z"), List.of("aq")))
                .addNode(Nodes.create("DequantizeLinear", "dq1", List.of("aq", "s", "z"), List.of("y")));
            List<String> ops = OrtSupport.optimizedOps(TestModels.model(g, 14));
            // ORT may decompose HardSwish into HardSigmoid · x, but never into an integer kernel
            assertThat(ops).as(op).contains("HardSigmoid", "QuantizeLinear", "DequantizeLinear")
                .noneMatch(o -> o.startsWith("QLinear"));
        }
    }

    /** conv → Sigmoid → conv: QLinearSigmoid (a 256-entry lookup table) between the two QLinearConvs. */
    @Test
    void sigmoidAfterAQuantizedConvRunsAsQLinearSigmoid() throws Exception {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("sig")
            .addInput(TestModels.value("x", "N", 8, 10, 10)).addOutput(TestModels.value("y", "N", 16, 10, 10));
        conv(g, "c1", "x", "c", 8, 16, 3, 1);
        g.addNode(Nodes.create("Sigmoid", "sig", List.of("c"), List.of("s")));
        conv(g, "c2", "s", "y", 16, 16, 3, 1);

        Quantized q = quantize(g, new long[] {4, 8, 10, 10});

        assertThat(q.decision("sig").quantized()).isTrue();
        List<String> ops = OrtSupport.optimizedOps(q.result().model());
        assertThat(ops).contains("QLinearSigmoid", "QLinearConv").doesNotContain("Sigmoid", "Conv");
        assertThat(q.relativeError()).isLessThan(0.05);
    }

    /**
     * conv → relu → depthwise 3×3 (K = 9, below minConvReduction) → relu → 1×1 conv: the depthwise conv reads an
     * 8-bit input, so it is quantized (ORT's u8 depthwise kernel) instead of adding a boundary; the same depthwise
     * conv on the fp32 graph input stays fp32.
     */
    @Test
    void depthwiseConvIsQuantizedWhenItsInputIsAlready8Bit() throws Exception {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("dw")
            .addInput(TestModels.value("x", "N", 32, 12, 12)).addOutput(TestModels.value("y", "N", 32, 12, 12));
        conv(g, "dw0", "x", "d0", 32, 32, 3, 32);
        relu(g, "dw0_relu", "d0", "d0r");
        conv(g, "expand", "d0r", "e", 32, 32, 1, 1);
        relu(g, "expand_relu", "e", "er");
        conv(g, "dw1", "er", "d1", 32, 32, 3, 32);
        relu(g, "dw1_relu", "d1", "d1r");
        conv(g, "project", "d1r", "y", 32, 32, 1, 1);

        Quantized q = quantize(g, new long[] {4, 32, 12, 12});

        assertThat(q.decision("dw0").quantized()).isFalse();
        assertThat(q.decision("dw0").reason()).contains("= 9 < 27").contains("depthwise with an fp32 input");
        assertThat(q.decision("dw1").quantized()).as(q.decision("dw1").reason()).isTrue();
        List<String> ops = OrtSupport.optimizedOps(q.result().model());
        assertThat(ops).contains("QLinearConv");
        long qlinear = countOptimized(q.result().model(), "QLinearConv");
        assertThat(qlinear).isEqualTo(3); // expand, dw1, project
        assertThat(q.relativeError()).isLessThan(0.05);
    }

    /**
     * A feature-pyramid merge: Add(Resize(conv_a), conv_b) and Concat of both, with no value_info for any
     * intermediate tensor (so the Add's inputs are known to be float only through Resize), → QLinearAdd,
     * QLinearConcat, and an 8-bit Resize.
     */
    @Test
    void resizeAddAndConcatOfAFeaturePyramidAreQuantized() throws Exception {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("fpn")
            .addInput(TestModels.value("x", "N", 8, 8, 8)).addOutput(TestModels.value("y", "N", 16, 8, 8))
            .addInitializer(Tensors.floatTensor("scales", new long[] {4}, new float[] {1, 1, 2, 2}));
        conv(g, "down", "x", "d", 8, 16, 3, 1);
        g.addNode(Nodes.create("MaxPool", "pool", List.of("d"), List.of("p"),
            Nodes.intsAttribute("kernel_shape", 2, 2), Nodes.intsAttribute("strides", 2, 2)));
        conv(g, "low", "p", "l", 16, 16, 3, 1);
        g.addNode(Nodes.create("Resize", "up", List.of("l", "", "scales"), List.of("u")));
        g.addNode(Nodes.create("Add", "merge", List.of("u", "d"), List.of("a")));
        g.addNode(Nodes.create("Concat", "cat", List.of("a", "u"), List.of("c"), Nodes.intAttribute("axis", 1)));
        conv(g, "head", "c", "y", 32, 16, 3, 1);

        Quantized q = quantize(g, new long[] {4, 8, 8, 8});

        for (String node : List.of("up", "merge", "cat")) {
            assertThat(q.decision(node).quantized()).as(node + ": " + q.decision(node).reason()).isTrue();
        }
        List<String> ops = OrtSupport.optimizedOps(q.result().model());
        assertThat(ops).contains("QLinearAdd", "QLinearConcat", "Resize", "QLinearConv")
            .doesNotContain("Add", "Concat", "Conv");
        // the only fp32 tensor left is the graph output: one DequantizeLinear, no QuantizeLinear but the input's
        assertThat(countOptimized(q.result().model(), "DequantizeLinear")).isEqualTo(1);
        assertThat(countOptimized(q.result().model(), "QuantizeLinear")).isEqualTo(1);
        assertThat(q.relativeError()).isLessThan(0.05);
    }

    /**
     * A detector's upsampling head: ORT 1.29's CPU provider has no QLinearConvTranspose, so a hand-written
     * DQ → ConvTranspose (int8 weights) → Q group stays an fp32 ConvTranspose; the quantizer keeps it fp32 with that
     * reason instead of adding the boundary.
     */
    @Test
    void convTransposeHasNoIntegerKernelAndStaysFp32() throws Exception {
        OnnxMl.GraphProto.Builder qdq = OnnxMl.GraphProto.newBuilder().setName("ct")
            .addInput(TestModels.value("x", "N", 4, 3, 3)).addOutput(TestModels.value("y", "N", 2, 6, 6))
            .addInitializer(Tensors.floatTensor("s", new long[0], new float[] {0.05f}))
            .addInitializer(Tensors.uint8Tensor("z", new long[0], new byte[] {(byte) 128}))
            .addInitializer(Tensors.int8Tensor("Wq", new long[] {4, 2, 2, 2}, new byte[32]))
            .addInitializer(Tensors.floatTensor("ws", new long[0], new float[] {0.01f}))
            .addInitializer(Tensors.int8Tensor("wz", new long[0], new byte[1]))
            .addNode(Nodes.create("QuantizeLinear", "q0", List.of("x", "s", "z"), List.of("xq")))
            .addNode(Nodes.create("DequantizeLinear", "dq0", List.of("xq", "s", "z"), List.of("xd")))
            .addNode(Nodes.create("DequantizeLinear", "dqw", List.of("Wq", "ws", "wz"), List.of("wd")))
            .addNode(Nodes.create("ConvTranspose", "up", List.of("xd", "wd"), List.of("t"),
                Nodes.intsAttribute("strides", 2, 2), Nodes.intsAttribute("kernel_shape", 2, 2)))
            .addNode(Nodes.create("QuantizeLinear", "q1", List.of("t", "s", "z"), List.of("tq")))
            .addNode(Nodes.create("DequantizeLinear", "dq1", List.of("tq", "s", "z"), List.of("y")));
        assertThat(OrtSupport.optimizedOps(TestModels.model(qdq, 13))).contains("ConvTranspose")
            .noneMatch(o -> o.startsWith("QLinear"));

        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("up")
            .addInput(TestModels.value("x", "N", 8, 6, 6)).addOutput(TestModels.value("y", "N", 16, 12, 12));
        conv(g, "c1", "x", "c", 8, 32, 3, 1);
        relu(g, "c1_relu", "c", "r");
        g.addInitializer(Tensors.floatTensor("T_W", new long[] {32, 16, 2, 2},
            TestModels.gaussian(random, 32 * 16 * 4, 0.25f)));
        g.addNode(Nodes.create("ConvTranspose", "up", List.of("r", "T_W"), List.of("t"),
            Nodes.intsAttribute("strides", 2, 2), Nodes.intsAttribute("kernel_shape", 2, 2)));
        relu(g, "up_relu", "t", "tr");
        conv(g, "c2", "tr", "y", 16, 16, 3, 1);
        Quantized q = quantize(g, new long[] {4, 8, 6, 6});
        assertThat(q.decision("up").quantized()).isFalse();
        assertThat(q.decision("up").reason()).startsWith("no integer kernel");
        assertThat(q.decision("c2").quantized()).isTrue();
        assertThat(q.relativeError()).isLessThan(0.05);
    }

    private static long countOptimized(OnnxModel model, String op) throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("optimized", ".onnx");
        try (ai.onnxruntime.OrtSession.SessionOptions opts = new ai.onnxruntime.OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(ai.onnxruntime.OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
            opts.setOptimizedModelFilePath(file.toString());
            try (ai.onnxruntime.OrtSession ignored = OrtSupport.ENV.createSession(model.toByteArray(), opts)) {
                // writes the optimized graph
            }
            OnnxMl.ModelProto optimized = OnnxMl.ModelProto.parseFrom(java.nio.file.Files.readAllBytes(file));
            List<String> ops = new ArrayList<>();
            optimized.getGraph().getNodeList().forEach(n -> ops.add(n.getOpType()));
            return ops.stream().filter(op::equals).count();
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }
}
