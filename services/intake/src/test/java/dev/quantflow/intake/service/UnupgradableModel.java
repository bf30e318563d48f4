package dev.quantflow.intake.service;

import java.util.List;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.ValueInfos;
import dev.quantflow.runtime.npz.NdArray;

/**
 * A model the preparation cannot upgrade: an opset-9 ImageScaler (an experimental op, gone from opset 10), which has
 * no opset-17 form; the submit and the REST wiring tests both expect its refusal.
 */
public final class UnupgradableModel {

    private UnupgradableModel() {
    }

    /** The model's bytes: x[1, 3, 2, 2] → ImageScaler → y. */
    public static byte[] onnx() {
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder().setName("old")
            .addInput(ValueInfos.floatTensor("x", 1, 3, 2, 2)).addOutput(ValueInfos.floatTensor("y", 1, 3, 2, 2))
            .addNode(Nodes.create("ImageScaler", "scale", List.of("x"), List.of("y"), Nodes.floatAttribute("scale", 2f),
                OnnxMl.AttributeProto.newBuilder().setName("bias").setType(OnnxMl.AttributeProto.AttributeType.FLOATS)
                    .addFloats(0f).addFloats(0f).addFloats(0f).build()))
            .build();
        return OnnxMl.ModelProto.newBuilder().setIrVersion(4)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(9)).setGraph(graph).build().toByteArray();
    }

    /** Two samples of its input. */
    public static NdArray input() {
        return NdArray.ofFloats("x", new float[2 * 12], 2, 1, 3, 2, 2);
    }
}
