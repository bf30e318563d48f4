package dev.quantflow.onnx.prepare;

import com.google.protobuf.ByteString;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * Every main-graph {@code Constant} node becomes an initializer of the same name, for every value kind:
 * {@code value} (a tensor), {@code value_float} / {@code value_int} (scalars), {@code value_floats} /
 * {@code value_ints} (1-D), {@code value_string} / {@code value_strings}. A {@code sparse_value} Constant, and a
 * Constant that is itself a graph output, are left as they are.
 */
final class ConstantsToInitializers {

    private ConstantsToInitializers() {
    }

    record Outcome(OnnxModel model, int converted) {
    }

    static Outcome apply(OnnxModel model) {
        GraphEditor editor = GraphEditor.of(model);
        int converted = 0;
        for (OnnxMl.NodeProto node : editor.nodes()) {
            if (!node.getOpType().equals("Constant") || !(node.getDomain().isEmpty()
                || node.getDomain().equals("ai.onnx")) || node.getOutputCount() != 1) {
                continue;
            }
            String name = node.getOutput(0);
            if (editor.isGraphOutput(name) || node.getAttributeCount() != 1) {
                continue;
            }
            OnnxMl.TensorProto tensor = tensorOf(node.getAttribute(0), name);
            if (tensor == null) {
                continue;
            }
            editor.removeNode(node.getName());
            editor.putInitializer(tensor);
            converted++;
        }
        return new Outcome(converted == 0 ? model : editor.build(), converted);
    }

    /** The attribute's value as a tensor named {@code name}; null for kinds left as a node (sparse). */
    static OnnxMl.TensorProto tensorOf(OnnxMl.AttributeProto a, String name) {
        switch (a.getName()) {
            case "value":
                return a.getT().toBuilder().setName(name).build();
            case "value_float":
                return Tensors.floatTensor(name, new long[0], new float[] {a.getF()});
            case "value_floats": {
                float[] v = new float[a.getFloatsCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = a.getFloats(i);
                }
                return Tensors.floatTensor(name, new long[] {v.length}, v);
            }
            case "value_int":
                return Tensors.int64Tensor(name, new long[0], new long[] {a.getI()});
            case "value_ints": {
                long[] v = a.getIntsList().stream().mapToLong(Long::longValue).toArray();
                return Tensors.int64Tensor(name, new long[] {v.length}, v);
            }
            case "value_string":
                return OnnxMl.TensorProto.newBuilder().setName(name).setDataType(DataType.STRING_VALUE)
                    .addStringData(a.getS()).build();
            case "value_strings": {
                OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setName(name)
                    .setDataType(DataType.STRING_VALUE).addDims(a.getStringsCount());
                for (ByteString s : a.getStringsList()) {
                    b.addStringData(s);
                }
                return b.build();
            }
            case "sparse_value":
                return null;
            default:
                throw new OnnxFormatException("Constant '" + name + "' has an unknown attribute '" + a.getName() + "'");
        }
    }
}
