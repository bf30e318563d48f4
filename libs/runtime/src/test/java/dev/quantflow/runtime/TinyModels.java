package dev.quantflow.runtime;

import java.util.List;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.onnx.ValueInfos;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/** Small ONNX graphs built in code, with their math spelled out so tests can compute expected outputs by hand. */
public final class TinyModels {

    private TinyModels() {
    }

    /** Gemm weights for {@link #gemmRelu}: W is [3, 4] (used transposed), b is [3]. */
    public static final float[] GEMM_W = {
        1f, 0f, 0f, 0f,
        0f, 1f, -1f, 0f,
        0.5f, 0.5f, 0.5f, 0.5f,
    };
    public static final float[] GEMM_B = {0f, 0.25f, -1f};

    /**
     * {@code input [N,4] float -> Gemm(W^T, b) -> "gemm_out" [N,3] -> Relu -> "logits" [N,3]}.
     * Batch dimension is symbolic ("N").
     */
    public static byte[] gemmRelu() {
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("gemm_relu")
            .addInput(valueInfo("input", DataType.FLOAT, "N", 4))
            .addOutput(valueInfo("logits", DataType.FLOAT, "N", 3))
            .addInitializer(floatTensor("W", GEMM_W, 3, 4))
            .addInitializer(floatTensor("b", GEMM_B, 3))
            .addNode(node("Gemm", List.of("input", "W", "b"), List.of("gemm_out"), intAttr("transB", 1)))
            .addNode(node("Relu", List.of("gemm_out"), List.of("logits")))
            .build();
        return model(graph);
    }

    /** Reference for {@link #gemmRelu}: gemm_out (before Relu) for one sample x[4]. */
    public static float[] gemmOut(float[] x, int offset) {
        float[] out = new float[3];
        for (int o = 0; o < 3; o++) {
            float s = GEMM_B[o];
            for (int i = 0; i < 4; i++) {
                s += GEMM_W[o * 4 + i] * x[offset + i];
            }
            out[o] = s;
        }
        return out;
    }

    /**
     * A small CNN: {@code input [N,1,4,4] -> Conv(2 filters 3x3, pad 1) -> "conv_out" -> Relu -> "relu_out"
     * -> Flatten -> "flat" [N,32] -> Gemm -> "logits" [N,3]}, plus a dangling {@code Shape(input) -> "input_shape"}
     * (int64) so that the float-activation listing has a non-float tensor to leave out.
     */
    public static byte[] convNet() {
        float[] convW = new float[2 * 9];
        for (int i = 0; i < convW.length; i++) {
            convW[i] = (i % 5 - 2) * 0.25f;
        }
        float[] fcW = new float[3 * 32];
        for (int i = 0; i < fcW.length; i++) {
            fcW[i] = ((i * 7) % 11 - 5) * 0.1f;
        }
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("conv_net")
            .addInput(valueInfo("input", DataType.FLOAT, "N", 1, 4, 4))
            .addOutput(valueInfo("logits", DataType.FLOAT, "N", 3))
            .addInitializer(floatTensor("conv_w", convW, 2, 1, 3, 3))
            .addInitializer(floatTensor("conv_b", new float[] {0.1f, -0.1f}, 2))
            .addInitializer(floatTensor("fc_w", fcW, 3, 32))
            .addInitializer(floatTensor("fc_b", new float[] {0f, 0f, 0f}, 3))
            .addNode(node("Conv", List.of("input", "conv_w", "conv_b"), List.of("conv_out"), intsAttr("pads", 1, 1, 1, 1)))
            .addNode(node("Relu", List.of("conv_out"), List.of("relu_out")))
            .addNode(node("Flatten", List.of("relu_out"), List.of("flat"), intAttr("axis", 1)))
            .addNode(node("Gemm", List.of("flat", "fc_w", "fc_b"), List.of("logits"), intAttr("transB", 1)))
            .addNode(node("Shape", List.of("input"), List.of("input_shape")))
            .build();
        return model(graph);
    }

    /** {@code ids [N,2] int64 -> Cast(float) -> "ids_f" -> Gemm(identity-ish) -> "logits" [N,2]}. */
    public static byte[] int64Input() {
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("int_input")
            .addInput(valueInfo("ids", DataType.INT64, "N", 2))
            .addOutput(valueInfo("logits", DataType.FLOAT, "N", 2))
            .addInitializer(floatTensor("W", new float[] {1f, 0f, 0f, 2f}, 2, 2))
            .addNode(node("Cast", List.of("ids"), List.of("ids_f"), intAttr("to", DataType.FLOAT.getNumber())))
            .addNode(node("MatMul", List.of("ids_f", "W"), List.of("logits")))
            .build();
        return model(graph);
    }

    /** {@code a [N,2] float, b [N,3] float -> Concat(axis 1) -> "logits" [N,5]}: a model with two inputs. */
    public static byte[] twoInputs() {
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("two_inputs")
            .addInput(valueInfo("a", DataType.FLOAT, "N", 2))
            .addInput(valueInfo("b", DataType.FLOAT, "N", 3))
            .addOutput(valueInfo("logits", DataType.FLOAT, "N", 5))
            .addNode(node("Concat", List.of("a", "b"), List.of("logits"), intAttr("axis", 1)))
            .build();
        return model(graph);
    }

    public static byte[] model(OnnxMl.GraphProto graph) {
        return OnnxMl.ModelProto.newBuilder()
            .setIrVersion(8)
            .setProducerName("quantflow-tests")
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
            .setGraph(graph)
            .build().toByteArray();
    }

    /** Value info; an {@code Object} dim is a String (symbolic) or an Integer (fixed). */
    public static OnnxMl.ValueInfoProto valueInfo(String name, DataType type, Object... dims) {
        return ValueInfos.tensor(name, type.getNumber(), dims);
    }

    public static OnnxMl.TensorProto floatTensor(String name, float[] values, long... dims) {
        return Tensors.floatTensor(name, dims, values);
    }

    public static OnnxMl.NodeProto node(String op, List<String> in, List<String> out, OnnxMl.AttributeProto... attrs) {
        OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(op).setName(out.get(0) + "_node")
            .addAllInput(in).addAllOutput(out);
        for (OnnxMl.AttributeProto a : attrs) {
            n.addAttribute(a);
        }
        return n.build();
    }

    public static OnnxMl.AttributeProto intAttr(String name, long v) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT).setI(v).build();
    }

    public static OnnxMl.AttributeProto intsAttr(String name, long... v) {
        OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name)
            .setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }
}
