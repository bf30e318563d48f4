package dev.quantflow.profiler.service;

import java.util.List;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.onnx.ValueInfos;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/** Tiny ONNX graphs for the profiler tests. */
final class ProfilerTestModels {

    private ProfilerTestModels() {
    }

    /**
     * A text model: {@code input_ids [N, S] int64 -> Gather(table [vocab, 4]) -> "embeddings" [N, S, 4]}, plus an
     * {@code attention_mask [N, S] int64} input that is passed through ({@code Identity -> "mask_out"}). ONNX
     * Runtime rejects ids outside [0, vocab), so running it proves the synthesized ids stay in range.
     */
    static byte[] embedding(int vocab) {
        float[] table = new float[vocab * 4];
        for (int i = 0; i < table.length; i++) {
            table[i] = i * 0.01f;
        }
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
            .setName("embedding")
            .addInput(valueInfo("input_ids", DataType.INT64, "N", "S"))
            .addInput(valueInfo("attention_mask", DataType.INT64, "N", "S"))
            .addOutput(valueInfo("embeddings", DataType.FLOAT, "N", "S", 4))
            .addOutput(valueInfo("mask_out", DataType.INT64, "N", "S"))
            .addInitializer(floatTensor("table", table, vocab, 4))
            .addNode(node("Gather", List.of("table", "input_ids"), List.of("embeddings")))
            .addNode(node("Identity", List.of("attention_mask"), List.of("mask_out")))
            .build();
        return model(graph);
    }

    /** A vision-like model with a dynamic batch: {@code input [N, 8] float -> MatMul(W [8, 3]) -> Relu -> "out"}. */
    static byte[] matMulRelu() {
        float[] w = new float[8 * 3];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % 5 - 2) * 0.1f;
        }
        return model(OnnxMl.GraphProto.newBuilder()
            .setName("matmul_relu")
            .addInput(valueInfo("input", DataType.FLOAT, "N", 8))
            .addOutput(valueInfo("out", DataType.FLOAT, "N", 3))
            .addInitializer(floatTensor("W", w, 8, 3))
            .addNode(node("MatMul", List.of("input", "W"), List.of("mm")))
            .addNode(node("Relu", List.of("mm"), List.of("out")))
            .build());
    }

    /** The same graph exported with a fixed batch of 1: {@code input [1, 8]}. */
    static byte[] fixedBatchOne() {
        float[] w = new float[8 * 3];
        return model(OnnxMl.GraphProto.newBuilder()
            .setName("fixed")
            .addInput(valueInfo("input", DataType.FLOAT, 1, 8))
            .addOutput(valueInfo("out", DataType.FLOAT, 1, 3))
            .addInitializer(floatTensor("W", w, 8, 3))
            .addNode(node("MatMul", List.of("input", "W"), List.of("out")))
            .build());
    }

    static byte[] model(OnnxMl.GraphProto graph) {
        return OnnxMl.ModelProto.newBuilder()
            .setIrVersion(8)
            .setProducerName("quantflow-profiler-tests")
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
            .setGraph(graph)
            .build().toByteArray();
    }

    static OnnxMl.ValueInfoProto valueInfo(String name, DataType type, Object... dims) {
        return ValueInfos.tensor(name, type.getNumber(), dims);
    }

    static OnnxMl.TensorProto floatTensor(String name, float[] values, long... dims) {
        return Tensors.floatTensor(name, dims, values);
    }

    static OnnxMl.NodeProto node(String op, List<String> in, List<String> out) {
        return OnnxMl.NodeProto.newBuilder().setOpType(op).setName(out.get(0) + "_node").addAllInput(in).addAllOutput(out).build();
    }
}
