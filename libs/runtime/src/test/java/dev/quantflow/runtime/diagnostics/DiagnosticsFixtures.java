package dev.quantflow.runtime.diagnostics;

import static dev.quantflow.runtime.TinyModels.floatTensor;
import static dev.quantflow.runtime.TinyModels.intAttr;
import static dev.quantflow.runtime.TinyModels.intsAttr;
import static dev.quantflow.runtime.TinyModels.node;
import static dev.quantflow.runtime.TinyModels.valueInfo;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.TensorRange;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.TinyModels;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/** Small fp32 models with odd channel counts, seeded data, and the calibrate → quantize steps the tests share. */
final class DiagnosticsFixtures {

    private DiagnosticsFixtures() {
    }

    /**
     * {@code input [N,3,9,9] → Conv(5, 3x3, pad 1) "c1" → Relu "r1" → MaxPool(2x2) "p1" [N,5,4,4]
     * → Conv(7, 3x3, pad 1) "c2" → Relu "r2" → Flatten "f" [N,112] → Gemm(6) "logits"}. Nodes are named
     * {@code <output>_node}.
     */
    static byte[] convNet() {
        Random rnd = new Random(11);
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("diag_conv_net")
            .addInput(valueInfo("input", DataType.FLOAT, "N", 3, 9, 9))
            .addOutput(valueInfo("logits", DataType.FLOAT, "N", 6))
            .addInitializer(floatTensor("c1_w", he(rnd, 5 * 3 * 9, 3 * 9), 5, 3, 3, 3))
            .addInitializer(floatTensor("c1_b", small(rnd, 5), 5))
            .addInitializer(floatTensor("c2_w", he(rnd, 7 * 5 * 9, 5 * 9), 7, 5, 3, 3))
            .addInitializer(floatTensor("c2_b", small(rnd, 7), 7))
            .addInitializer(floatTensor("fc_w", he(rnd, 6 * 112, 112), 6, 112))
            .addInitializer(floatTensor("fc_b", small(rnd, 6), 6))
            .addNode(node("Conv", List.of("input", "c1_w", "c1_b"), List.of("c1"), intsAttr("pads", 1, 1, 1, 1)))
            .addNode(node("Relu", List.of("c1"), List.of("r1")))
            .addNode(node("MaxPool", List.of("r1"), List.of("p1"), intsAttr("kernel_shape", 2, 2),
                intsAttr("strides", 2, 2)))
            .addNode(node("Conv", List.of("p1", "c2_w", "c2_b"), List.of("c2"), intsAttr("pads", 1, 1, 1, 1)))
            .addNode(node("Relu", List.of("c2"), List.of("r2")))
            .addNode(node("Flatten", List.of("r2"), List.of("f"), intAttr("axis", 1)))
            .addNode(node("Gemm", List.of("f", "fc_w", "fc_b"), List.of("logits"), intAttr("transB", 1)))
            .build();
        return TinyModels.model(graph);
    }

    /**
     * {@code x [N,13] → MatMul(13x17) "a" → Add(bias) "b" → Relu "c" → MatMul(17x17) "d" → Add(d, c) "e"
     * → MatMul(17x5) "logits"}: a weight-bias-Relu block, then a residual Add of two activations.
     */
    static byte[] matMulNet() {
        Random rnd = new Random(23);
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("diag_matmul_net")
            .addInput(valueInfo("x", DataType.FLOAT, "N", 13))
            .addOutput(valueInfo("logits", DataType.FLOAT, "N", 5))
            .addInitializer(floatTensor("w1", he(rnd, 13 * 17, 13), 13, 17))
            .addInitializer(floatTensor("bias1", small(rnd, 17), 17))
            .addInitializer(floatTensor("w2", he(rnd, 17 * 17, 17), 17, 17))
            .addInitializer(floatTensor("w3", he(rnd, 17 * 5, 17), 17, 5))
            .addNode(node("MatMul", List.of("x", "w1"), List.of("a")))
            .addNode(node("Add", List.of("a", "bias1"), List.of("b")))
            .addNode(node("Relu", List.of("b"), List.of("c")))
            .addNode(node("MatMul", List.of("c", "w2"), List.of("d")))
            .addNode(node("Add", List.of("d", "c"), List.of("e")))
            .addNode(node("MatMul", List.of("e", "w3"), List.of("logits")))
            .build();
        return TinyModels.model(graph);
    }

    /** {@code rows} samples of standard normal values for one input of the given per-sample shape (seeded). */
    static NpzArchive gaussian(String input, int rows, long seed, long... sampleShape) {
        int per = 1;
        for (long d : sampleShape) {
            per *= (int) d;
        }
        Random rnd = new Random(seed);
        float[] v = new float[rows * per];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        long[] shape = new long[sampleShape.length + 1];
        shape[0] = rows;
        System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
        return NpzArchive.of(List.of(NdArray.ofFloats(input, v, shape)));
    }

    /** Min/max ranges of every tensor the quantizer will ask for, from all samples of {@code data}. */
    static ActivationStatistics calibrate(byte[] model, NpzArchive data, StaticQuantRecipe recipe) {
        List<String> tensors = StaticQdqQuantizer.tensorsToCalibrate(OnnxModel.parse(model), recipe);
        return CalibrationRunner.run(model, tensors, data, CalibrationOptions.defaults(), ProgressListener.NONE);
    }

    /** {@code stats} with the range of {@code tensor} divided by {@code factor} (a deliberately broken range). */
    static ActivationStatistics narrowed(ActivationStatistics stats, String tensor, float factor) {
        Map<String, TensorRange> ranges = new HashMap<>(stats.ranges());
        TensorRange r = ranges.get(tensor);
        if (r == null) {
            throw new IllegalArgumentException("no range for " + tensor + " in " + ranges.keySet());
        }
        ranges.put(tensor, new TensorRange(r.min() / factor, r.max() / factor));
        return new ActivationStatistics(stats.calibrator(), stats.samples(), ranges);
    }

    static byte[] quantize(byte[] model, ActivationStatistics stats, StaticQuantRecipe recipe) {
        return new StaticQdqQuantizer().quantize(OnnxModel.parse(model), stats, recipe).model().toByteArray();
    }

    static StaticQuantRecipe excluding(String... nodes) {
        return new StaticQuantRecipe(Set.of(nodes), true, StaticQuantRecipe.defaults().activationType());
    }

    /** The reports as an aligned table, for test logs and reports. */
    static String table(List<LayerReport> reports) {
        StringBuilder sb = new StringBuilder(String.format("%-18s %-8s %-5s %8s %8s %8s %8s  %s%n",
            "node", "op", "quant", "sqnr_dB", "input_dB", "added_dB", "layer_dB", "note"));
        for (LayerReport r : reports) {
            sb.append(String.format("%-18s %-8s %-5s %8s %8s %8s %8s  %s%n", r.node(), r.opType(),
                r.quantized() ? "yes" : "no", fmt(r.sqnrDb()), fmt(r.inputSqnrDb()), fmt(r.addedErrorDb()),
                fmt(r.layerSqnrDb()), r.skipReason() == null ? "" : r.skipReason()));
        }
        return sb.toString();
    }

    private static String fmt(Double v) {
        return v == null ? "-" : String.format("%.2f", v);
    }

    private static float[] he(Random rnd, int count, int fanIn) {
        float[] w = new float[count];
        double std = Math.sqrt(2.0 / fanIn);
        for (int i = 0; i < count; i++) {
            w[i] = (float) (rnd.nextGaussian() * std);
        }
        return w;
    }

    private static float[] small(Random rnd, int count) {
        float[] b = new float[count];
        for (int i = 0; i < count; i++) {
            b[i] = (float) (rnd.nextGaussian() * 0.1);
        }
        return b;
    }
}
