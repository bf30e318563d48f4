package dev.quantflow.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.MacEstimator.OpFamily;

/** MAC counts checked against the ONNX operator formulas, worked out by hand in each test. */
class MacEstimatorTest {

    @Test
    void convCountsOutputPositionsTimesInputChannelsTimesKernel() {
        // Y[1, 16, 32, 32] (3×3, pad 1, stride 1): 16·32·32 outputs · 3·3·3 = 442,368
        OnnxModel same = Graph.of().input("x", 1, 3, 32, 32).weight("w", 16, 3, 3, 3)
            .node("Conv", List.of("x", "w"), "y", Nodes.intsAttribute("pads", 1, 1, 1, 1)).output("y").model();
        MacEstimate e = MacEstimator.estimate(same);
        assertThat(e.macs().get(OpFamily.CONVOLUTION)).isEqualTo(442_368L);
        assertThat(e.nodes().get(OpFamily.CONVOLUTION)).isEqualTo(1);
        assertThat(e.complete()).isTrue();
        // stride 2, no pad: floor((32 − 3)/2) + 1 = 15 → 8·15·15 · 27 = 48,600
        OnnxModel strided = Graph.of().input("x", 1, 3, 32, 32).weight("w", 8, 3, 3, 3)
            .node("Conv", List.of("x", "w"), "y", Nodes.intsAttribute("strides", 2, 2)).output("y").model();
        assertThat(MacEstimator.estimate(strided).macs().get(OpFamily.CONVOLUTION)).isEqualTo(48_600L);
    }

    @Test
    void aDepthwiseConvCountsOneInputChannelPerGroup() {
        // group 32 over 32 channels: 32·16·16 outputs · (32/32)·3·3 = 73,728 (a dense conv would be 32× more)
        OnnxModel m = Graph.of().input("x", 1, 32, 16, 16).weight("w", 32, 1, 3, 3)
            .node("Conv", List.of("x", "w"), "y", Nodes.intAttribute("group", 32), Nodes.intsAttribute("pads", 1, 1, 1, 1))
            .output("y").model();
        assertThat(MacEstimator.estimate(m).macs().get(OpFamily.CONVOLUTION)).isEqualTo(73_728L);
    }

    @Test
    void convTransposeSpreadsEveryInputOverItsKernel() {
        // X[1, 8, 10, 10], W[8, 4, 2, 2]: 800 inputs · 4·2·2 = 12,800
        OnnxModel m = Graph.of().input("x", 1, 8, 10, 10).weight("w", 8, 4, 2, 2)
            .node("ConvTranspose", List.of("x", "w"), "y", Nodes.intsAttribute("strides", 2, 2)).output("y").model();
        assertThat(MacEstimator.estimate(m).macs().get(OpFamily.CONVOLUTION)).isEqualTo(12_800L);
    }

    @Test
    void gemmCountsMTimesNTimesK() {
        // A[4, 64] · W[10, 64]ᵀ: 4·10·64 = 2,560, a weight product
        OnnxModel m = Graph.of().input("a", 4, 64).weight("w", 10, 64)
            .node("Gemm", List.of("a", "w"), "y", Nodes.intAttribute("transB", 1)).output("y").model();
        MacEstimate e = MacEstimator.estimate(m);
        assertThat(e.macs().get(OpFamily.MATMUL)).isEqualTo(2_560L);
        assertThat(e.macs().get(OpFamily.ATTENTION)).isZero();
    }

    @Test
    void batchedMatMulBroadcastsAndTellsWeightsFromActivations() {
        // q[2, 8, 16, 32] · kᵀ[2, 8, 32, 16] (both activations): 2·8·16·16 · 32 = 131,072 → attention
        // q · W[32, 64] (W broadcast over the batch dims): 2·8·16·64 · 32 = 524,288 → weight MatMul
        OnnxModel m = Graph.of().input("q", 2, 8, 16, 32).input("kt", 2, 8, 32, 16).weight("w", 32, 64)
            .node("MatMul", List.of("q", "kt"), "scores").node("MatMul", List.of("q", "w"), "proj")
            .output("scores").output("proj").model();
        MacEstimate e = MacEstimator.estimate(m);
        assertThat(e.macs().get(OpFamily.ATTENTION)).isEqualTo(131_072L);
        assertThat(e.macs().get(OpFamily.MATMUL)).isEqualTo(524_288L);
        assertThat(e.dominant()).contains(OpFamily.MATMUL);
        assertThat(e.share(OpFamily.MATMUL)).isEqualTo(524_288.0 / (524_288 + 131_072));
    }

    @Test
    void anEinsumContractionVisitsEveryIndexCombination() {
        // bhqd,bhkd->bhqk over q, k [2, 4, 16, 8]: 2·4·16·16·8 = 16,384 (both activations: attention);
        // the Softmax after it sees the inferred [2, 4, 16, 16]: 2,048
        OnnxModel m = Graph.of().input("q", 2, 4, 16, 8).input("k", 2, 4, 16, 8)
            .node("Einsum", List.of("q", "k"), "s", Nodes.stringAttribute("equation", "bhqd,bhkd->bhqk"))
            .node("Softmax", List.of("s"), "p").output("p").model();
        MacEstimate e = MacEstimator.estimate(m);
        assertThat(e.macs().get(OpFamily.ATTENTION)).isEqualTo(16_384L);
        assertThat(e.macs().get(OpFamily.OTHER)).isEqualTo(2_048L);
    }

    @Test
    void aBidirectionalLstmCountsFourGatesBothDirectionsEveryStep() {
        // seq 10, batch 2, input 16, hidden 8, 2 directions: 2 dirs · 4 gates · 8 · (16 + 8) · 10 · 2 = 30,720
        OnnxModel m = Graph.of().input("x", 10, 2, 16).weight("w", 2, 32, 16).weight("r", 2, 32, 8)
            .node("LSTM", List.of("x", "w", "r"), "y", Nodes.intAttribute("hidden_size", 8),
                Nodes.stringAttribute("direction", "bidirectional"))
            .node("Relu", List.of("y"), "out").output("out").model();
        MacEstimate e = MacEstimator.estimate(m);
        assertThat(e.macs().get(OpFamily.RECURRENT)).isEqualTo(30_720L);
        // Y[10, 2, 2, 8] was inferred for the Relu after it: 320 elements
        assertThat(e.macs().get(OpFamily.OTHER)).isEqualTo(320L);
    }

    @Test
    void aGruHasThreeGates() {
        // seq 5, batch 1, input 4, hidden 6, forward: 3 · 6 · (4 + 6) · 5 = 900
        OnnxModel m = Graph.of().input("x", 5, 1, 4).weight("w", 1, 18, 4).weight("r", 1, 18, 6)
            .node("GRU", List.of("x", "w", "r"), "y", Nodes.intAttribute("hidden_size", 6)).output("y").model();
        assertThat(MacEstimator.estimate(m).macs().get(OpFamily.RECURRENT)).isEqualTo(900L);
    }

    @Test
    void anUnknownShapeIsListedNotGuessedAndGivenShapesFillIt() {
        OnnxModel m = Graph.of().input("x", 1, 3, -1, -1).weight("w", 4, 3, 1, 1)
            .node("Conv", List.of("x", "w"), "y").node("Relu", List.of("y"), "z").output("z").model();
        MacEstimate e = MacEstimator.estimate(m);
        assertThat(e.complete()).isFalse();
        assertThat(e.unknown()).containsExactly("Conv 'conv_0'");
        assertThat(e.unknownOther()).isEqualTo(1);
        assertThat(e.total()).isZero();
        assertThat(e.missing()).contains("1 of 1").contains("Conv 'conv_0'");
        // with the input's dims given (as ONNX Runtime would report them): 4·8·8 · 3 = 768
        MacEstimate given = MacEstimator.estimate(m, Map.of("x", new long[] {1, 3, 8, 8}));
        assertThat(given.complete()).isTrue();
        assertThat(given.macs().get(OpFamily.CONVOLUTION)).isEqualTo(768L);
    }

    @Test
    void weightsFromConstantNodesAreWeightsAndTheirOwnMathIsNotCounted() {
        // paddle2onnx style: every weight a Constant node; the MatMul weight also goes through a Transpose
        float[] w = new float[4 * 3 * 3 * 3];
        OnnxModel m = Graph.of().input("x", 1, 3, 8, 8)
            .constant("w", Tensors.floatTensor("w", new long[] {4, 3, 3, 3}, w))
            .constant("fcT", Tensors.floatTensor("fcT", new long[] {2, 4}, new float[8]))
            .node("Transpose", List.of("fcT"), "fc")
            .node("Conv", List.of("x", "w"), "c", Nodes.intsAttribute("pads", 1, 1, 1, 1))
            .node("GlobalAveragePool", List.of("c"), "g")
            .node("Flatten", List.of("g"), "f")
            .node("MatMul", List.of("f", "fc"), "logits")
            .node("Softmax", List.of("logits"), "p").output("p").model();
        MacEstimate e = MacEstimator.estimate(m);
        assertThat(e.macs().get(OpFamily.CONVOLUTION)).isEqualTo(4 * 8 * 8 * 27L);
        assertThat(e.macs().get(OpFamily.MATMUL)).isEqualTo(8L); // [1, 4] · [4, 2]
        assertThat(e.macs().get(OpFamily.ATTENTION)).isZero();
        // GlobalAveragePool reads 256 elements, Softmax writes 2; the Transpose of a weight is folded, not counted
        assertThat(e.macs().get(OpFamily.OTHER)).isEqualTo(256L + 2L);
    }

    @Test
    void aSymbolicBatchIsTakenAsOneAndSaidSo() {
        OnnxModel m = Graph.of().input("x", -1, 3, 8, 8).weight("w", 4, 3, 1, 1)
            .node("Conv", List.of("x", "w"), "y").output("y").model();
        MacEstimate e = MacEstimator.estimate(m);
        assertThat(e.batchAssumed()).isTrue();
        assertThat(e.summary()).isEqualTo("Conv 100.0% of 768 MACs per sample");
    }

    @Test
    void theFashionCnnFixtureIsMostlyConvolution() throws Exception {
        OnnxModel cnn = OnnxModel.parse(Files.readAllBytes(Path.of("../../fixtures/fashion-cnn/model.onnx")));
        MacEstimate e = MacEstimator.estimate(cnn);
        assertThat(e.complete()).isTrue();
        assertThat(e.dominant()).contains(OpFamily.CONVOLUTION);
        assertThat(e.share(OpFamily.CONVOLUTION)).isBetween(0.8, 0.99);
        assertThat(e.macs().get(OpFamily.MATMUL)).isPositive();
    }

    @Test
    void countsAreFormattedWithUnits() {
        assertThat(MacEstimate.count(786_816)).isEqualTo("786.8 k");
        assertThat(MacEstimate.count(17_300_000)).isEqualTo("17.3 M");
        assertThat(MacEstimate.count(1_451_000_000L)).isEqualTo("1.45 G");
        assertThat(MacEstimate.count(999)).isEqualTo("999");
    }

    /** A graph built in code: float inputs (-1 = symbolic), float weights, nodes in order. */
    static final class Graph {
        private final OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("g");
        private int index;

        static Graph of() {
            return new Graph();
        }

        Graph input(String name, long... dims) {
            Object[] boxed = new Object[dims.length];
            for (int i = 0; i < dims.length; i++) {
                boxed[i] = dims[i] < 0 ? (Object) ("d" + i) : (Object) dims[i];
            }
            g.addInput(ValueInfos.tensor(name, OnnxMl.TensorProto.DataType.FLOAT_VALUE, boxed));
            return this;
        }

        Graph intInput(String name, long... dims) {
            Object[] boxed = new Object[dims.length];
            for (int i = 0; i < dims.length; i++) {
                boxed[i] = dims[i] < 0 ? (Object) ("d" + i) : (Object) dims[i];
            }
            g.addInput(ValueInfos.tensor(name, OnnxMl.TensorProto.DataType.INT64_VALUE, boxed));
            return this;
        }

        Graph weight(String name, long... dims) {
            g.addInitializer(Tensors.floatTensor(name, dims, new float[(int) Tensors.elementCount(dims)]));
            return this;
        }

        Graph constant(String name, OnnxMl.TensorProto value) {
            g.addNode(Nodes.create("Constant", "constant_" + index++, List.of(), List.of(name),
                OnnxMl.AttributeProto.newBuilder().setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                    .setT(value).build()));
            return this;
        }

        Graph node(String op, List<String> inputs, String output, OnnxMl.AttributeProto... attributes) {
            g.addNode(Nodes.create(op, op.toLowerCase() + "_" + index++, inputs, List.of(output), attributes));
            return this;
        }

        Graph output(String name) {
            g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1))));
            return this;
        }

        OnnxModel model() {
            return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
        }
    }
}
