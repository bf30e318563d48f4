package dev.quantflow.onnx.prepare;

import com.google.protobuf.ByteString;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * Every {@code Constant} node becomes an initializer of the same name (a subgraph's, If/Loop/Scan bodies at any
 * depth, of the graph it sits in), for every value kind:
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
        int[] inBodies = {0};
        for (OnnxMl.NodeProto node : editor.nodes()) {
            OnnxMl.NodeProto rewritten = withBodies(node, inBodies);
            if (rewritten != node) {
                editor.replaceNode(node.getName(), java.util.List.of(rewritten));
            }
        }
        converted += inBodies[0];
        return new Outcome(converted == 0 ? model : editor.build(), converted);
    }

    /**
     * {@code node} with the {@code Constant} nodes of its subgraphs (If branches, Loop/Scan bodies, nested) turned into
     * initializers of the subgraph they sit in; the same node when it has none.
     */
    private static OnnxMl.NodeProto withBodies(OnnxMl.NodeProto node, int[] count) {
        OnnxMl.NodeProto.Builder nb = null;
        for (int j = 0; j < node.getAttributeCount(); j++) {
            OnnxMl.AttributeProto a = node.getAttribute(j);
            if (!a.hasG() && a.getGraphsCount() == 0) {
                continue;
            }
            OnnxMl.AttributeProto.Builder ab = a.toBuilder();
            if (a.hasG()) {
                ab.setG(body(a.getG(), count));
            }
            for (int k = 0; k < a.getGraphsCount(); k++) {
                ab.setGraphs(k, body(a.getGraphs(k), count));
            }
            if (nb == null) {
                nb = node.toBuilder();
            }
            nb.setAttribute(j, ab);
        }
        return nb == null ? node : nb.build();
    }

    private static OnnxMl.GraphProto body(OnnxMl.GraphProto g, int[] count) {
        java.util.Set<String> outputs = new java.util.HashSet<>();
        g.getOutputList().forEach(o -> outputs.add(o.getName()));
        OnnxMl.GraphProto.Builder gb = g.toBuilder().clearNode();
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            boolean constant = n.getOpType().equals("Constant") && (n.getDomain().isEmpty()
                || n.getDomain().equals("ai.onnx")) && n.getOutputCount() == 1 && n.getAttributeCount() == 1
                && !outputs.contains(n.getOutput(0));
            OnnxMl.TensorProto t = constant ? tensorOf(n.getAttribute(0), n.getOutput(0)) : null;
            if (t != null) {
                gb.addInitializer(t);
                count[0]++;
            } else {
                gb.addNode(withBodies(n, count));
            }
        }
        return gb.build();
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
