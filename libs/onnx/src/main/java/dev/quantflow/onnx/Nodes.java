package dev.quantflow.onnx;

import java.util.List;
import java.util.Optional;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.AttributeProto.AttributeType;

/** Building nodes and reading their attributes. */
public final class Nodes {

    private Nodes() {
    }

    /** A default-domain node. */
    public static OnnxMl.NodeProto create(String opType, String name, List<String> inputs, List<String> outputs,
                                          OnnxMl.AttributeProto... attributes) {
        OnnxMl.NodeProto.Builder b = OnnxMl.NodeProto.newBuilder().setOpType(opType).setName(name)
            .addAllInput(inputs).addAllOutput(outputs);
        for (OnnxMl.AttributeProto a : attributes) {
            b.addAttribute(a);
        }
        return b.build();
    }

    /** A node in {@code domain} (e.g. {@code com.microsoft} for ONNX Runtime's contrib ops). */
    public static OnnxMl.NodeProto createInDomain(String domain, String opType, String name, List<String> inputs,
                                                  List<String> outputs, OnnxMl.AttributeProto... attributes) {
        return create(opType, name, inputs, outputs, attributes).toBuilder().setDomain(domain).build();
    }

    public static OnnxMl.AttributeProto intAttribute(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(value).build();
    }

    public static OnnxMl.AttributeProto floatAttribute(String name, float value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOAT).setF(value).build();
    }

    public static OnnxMl.AttributeProto stringAttribute(String name, String value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(AttributeType.STRING)
            .setS(com.google.protobuf.ByteString.copyFromUtf8(value)).build();
    }

    public static OnnxMl.AttributeProto intsAttribute(String name, long... values) {
        OnnxMl.AttributeProto.Builder b = OnnxMl.AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (long v : values) {
            b.addInts(v);
        }
        return b.build();
    }

    public static Optional<OnnxMl.AttributeProto> attribute(OnnxMl.NodeProto node, String name) {
        return node.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst();
    }

    public static long intAttribute(OnnxMl.NodeProto node, String name, long defaultValue) {
        return attribute(node, name).map(OnnxMl.AttributeProto::getI).orElse(defaultValue);
    }

    public static float floatAttribute(OnnxMl.NodeProto node, String name, float defaultValue) {
        return attribute(node, name).map(OnnxMl.AttributeProto::getF).orElse(defaultValue);
    }

    /** The node's input at {@code index}, or "" when absent (ONNX marks a skipped optional input with ""). */
    public static String input(OnnxMl.NodeProto node, int index) {
        return index < node.getInputCount() ? node.getInput(index) : "";
    }
}
