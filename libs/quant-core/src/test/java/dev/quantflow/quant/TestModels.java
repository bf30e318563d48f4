package dev.quantflow.quant;

import java.util.List;
import java.util.Random;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/** Small fp32 models built in code, with seeded random weights. */
public final class TestModels {

    private TestModels() {
    }

    /**
     * input [N,3,13,13] → conv1 (5 filters 3×3, pad 1) → relu1 → pool1 (2×2) → conv2 (7 filters 3×3) → relu2
     * → flatten → fc1 (Gemm transB=1, 112→11) → relu3 → fc2 (Gemm transB=0, 11→3) → logits. Odd channel counts.
     */
    public static OnnxModel cnn(long seed, int opset) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("cnn");
        g.addInput(value("input", "N", 3, 13, 13)).addOutput(value("logits", "N", 3));
        g.addInitializer(Tensors.floatTensor("W1", new long[] {5, 3, 3, 3}, gaussian(r, 135, 0.3f)));
        g.addInitializer(Tensors.floatTensor("B1", new long[] {5}, gaussian(r, 5, 0.1f)));
        g.addInitializer(Tensors.floatTensor("W2", new long[] {7, 5, 3, 3}, gaussian(r, 315, 0.2f)));
        g.addInitializer(Tensors.floatTensor("B2", new long[] {7}, gaussian(r, 7, 0.1f)));
        g.addInitializer(Tensors.floatTensor("F1", new long[] {11, 112}, gaussian(r, 11 * 112, 0.1f)));
        g.addInitializer(Tensors.floatTensor("C1", new long[] {11}, gaussian(r, 11, 0.1f)));
        g.addInitializer(Tensors.floatTensor("F2", new long[] {11, 3}, gaussian(r, 33, 0.3f)));
        g.addInitializer(Tensors.floatTensor("C2", new long[] {3}, gaussian(r, 3, 0.1f)));
        g.addNode(Nodes.create("Conv", "conv1", List.of("input", "W1", "B1"), List.of("c1"),
            Nodes.intsAttribute("pads", 1, 1, 1, 1), Nodes.intsAttribute("kernel_shape", 3, 3)));
        g.addNode(Nodes.create("Relu", "relu1", List.of("c1"), List.of("r1")));
        g.addNode(Nodes.create("MaxPool", "pool1", List.of("r1"), List.of("p1"),
            Nodes.intsAttribute("kernel_shape", 2, 2), Nodes.intsAttribute("strides", 2, 2)));
        g.addNode(Nodes.create("Conv", "conv2", List.of("p1", "W2", "B2"), List.of("c2"),
            Nodes.intsAttribute("kernel_shape", 3, 3)));
        g.addNode(Nodes.create("Relu", "relu2", List.of("c2"), List.of("r2")));
        g.addNode(Nodes.create("Flatten", "flatten", List.of("r2"), List.of("f"), Nodes.intAttribute("axis", 1)));
        g.addNode(Nodes.create("Gemm", "fc1", List.of("f", "F1", "C1"), List.of("g1"), Nodes.intAttribute("transB", 1)));
        g.addNode(Nodes.create("Relu", "relu3", List.of("g1"), List.of("r3")));
        g.addNode(Nodes.create("Gemm", "fc2", List.of("r3", "F2", "C2"), List.of("logits")));
        return model(g, opset);
    }

    /** x [N,17] → mm1 (MatMul 17→9) → add1 (+ bias) → relu → mm2 (MatMul 9→5) → y. */
    public static OnnxModel mlp(long seed) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("mlp");
        g.addInput(value("x", "N", 17)).addOutput(value("y", "N", 5));
        g.addInitializer(Tensors.floatTensor("M1", new long[] {17, 9}, gaussian(r, 17 * 9, 0.3f)));
        g.addInitializer(Tensors.floatTensor("bias", new long[] {9}, gaussian(r, 9, 0.2f)));
        g.addInitializer(Tensors.floatTensor("M2", new long[] {9, 5}, gaussian(r, 45, 0.3f)));
        g.addNode(Nodes.create("MatMul", "mm1", List.of("x", "M1"), List.of("m1")));
        g.addNode(Nodes.create("Add", "add1", List.of("m1", "bias"), List.of("a1")));
        g.addNode(Nodes.create("Relu", "relu", List.of("a1"), List.of("h")));
        g.addNode(Nodes.create("MatMul", "mm2", List.of("h", "M2"), List.of("y")));
        return model(g, 13);
    }

    public static OnnxModel model(OnnxMl.GraphProto.Builder g, int opset) {
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(opset >= 13 ? 7 : 6)
            .setProducerName("quantflow-tests").setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(opset)).build().toByteArray());
    }

    public static float[] gaussian(Random r, int n, float std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian() * std;
        }
        return a;
    }

    public static float[] uniform(Random r, int n, float lo, float hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = lo + r.nextFloat() * (hi - lo);
        }
        return a;
    }

    public static OnnxMl.ValueInfoProto value(String name, String batchDim, long... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder()
            .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(batchDim));
        for (long d : dims) {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                .setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }
}
