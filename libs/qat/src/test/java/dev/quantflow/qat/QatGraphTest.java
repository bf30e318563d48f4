package dev.quantflow.qat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

class QatGraphTest {

    @Test
    void fp32ForwardMatchesOnnxRuntimeOnTheFashionCnn() throws Exception {
        QatDataset data = FashionFixture.eval().head(100);
        float[] ort = FashionFixture.ortOutputs(FashionFixture.model(), data, 50);
        QatGraph graph = QatGraph.fromOnnx(FashionFixture.model());
        QatTensor out = graph.forward(data.inputs(), data.batchShape(100));
        assertThat(out.shape()).containsExactly(100, 10);
        for (int i = 0; i < ort.length; i++) {
            assertThat(out.data()[i]).as("logit %d", i).isCloseTo(ort[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void unsupportedOpIsRefusedBeforeTraining() {
        OnnxModel model = tinyModel(List.of(
            Nodes.create("Tanh", "squash", List.of("x"), List.of("y"))), List.of());
        assertThatThrownBy(() -> QatGraph.fromOnnx(model))
            .isInstanceOf(UnsupportedOpException.class)
            .hasMessageContaining("node squash: op Tanh has no gradient in quantflow's QAT engine; supported: Conv, Gemm");
    }

    @Test
    void usedMaxPoolIndicesAreRefused() {
        OnnxModel model = tinyModel(List.of(
            Nodes.create("MaxPool", "pool", List.of("x"), List.of("p", "idx"), Nodes.intsAttribute("kernel_shape", 2, 2)),
            Nodes.create("Cast", "cast", List.of("idx"), List.of("y"))), List.of());
        assertThatThrownBy(() -> QatGraph.fromOnnx(model)).isInstanceOf(UnsupportedOpException.class)
            .hasMessageContaining("node pool: output 1 of MaxPool");
    }

    @Test
    void batchNormIsFoldedAndTheGraphMatchesOnnxRuntime() throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        List<OnnxMl.TensorProto> inits = List.of(
            Tensors.floatTensor("w", new long[] {4, 1, 3, 3}, rand(r, 36, 0.5)),
            Tensors.floatTensor("gamma", new long[] {4}, new float[] {1.5f, 0.5f, -0.7f, 1f}),
            Tensors.floatTensor("beta", new long[] {4}, new float[] {0.1f, -0.2f, 0.3f, 0f}),
            Tensors.floatTensor("mean", new long[] {4}, new float[] {0.05f, -0.1f, 0.2f, 0f}),
            Tensors.floatTensor("var", new long[] {4}, new float[] {0.5f, 2f, 1f, 0.3f}),
            Tensors.floatTensor("fcw", new long[] {4, 3}, rand(r, 12, 1)),
            Tensors.floatTensor("fcb", new long[] {3}, rand(r, 3, 1)),
            Tensors.floatTensor("six", new long[0], new float[] {6f}),
            Tensors.floatTensor("zero", new long[0], new float[] {0f}));
        OnnxModel model = tinyModel(List.of(
            Nodes.create("Conv", "conv", List.of("x", "w"), List.of("c"), Nodes.intsAttribute("pads", 1, 1, 1, 1)),
            Nodes.create("BatchNormalization", "bn", List.of("c", "gamma", "beta", "mean", "var"), List.of("b")),
            Nodes.create("Clip", "relu6", List.of("b", "zero", "six"), List.of("a")),
            Nodes.create("AveragePool", "avg", List.of("a"), List.of("ap"), Nodes.intsAttribute("kernel_shape", 2, 2),
                Nodes.intsAttribute("strides", 2, 2)),
            Nodes.create("GlobalAveragePool", "gap", List.of("ap"), List.of("g")),
            Nodes.create("Flatten", "flat", List.of("g"), List.of("f")),
            Nodes.create("MatMul", "fc", List.of("f", "fcw"), List.of("m")),
            Nodes.create("Add", "bias", List.of("m", "fcb"), List.of("s")),
            Nodes.create("Sigmoid", "sig", List.of("s"), List.of("y"))), inits);
        QatGraph graph = QatGraph.fromOnnx(model);
        assertThat(graph.nodes()).extracting(OnnxMl.NodeProto::getOpType).doesNotContain("BatchNormalization");
        QatDataset data = new QatDataset(rand(r, 2 * 36, 2), new int[] {1, 6, 6}, null);
        float[] ort = FashionFixture.ortOutputs(model, data, 2);
        QatTensor out = graph.forward(data.inputs(), data.batchShape(2));
        for (int i = 0; i < ort.length; i++) {
            assertThat(out.data()[i]).isCloseTo(ort[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    /**
     * End-to-end backward through the graph's wiring: a tensor read by two nodes sums both gradients, and every
     * parameter's gradient matches central differences (h = 1e-2, |err| ≤ 2e-3 + 1e-2·|g|, smooth ops only).
     */
    @Test
    void graphBackwardMatchesCentralDifferences() {
        SplittableRandom r = new SplittableRandom(9);
        List<OnnxMl.TensorProto> inits = List.of(
            Tensors.floatTensor("w", new long[] {3, 1, 3, 3}, rand(r, 27, 0.5)),
            Tensors.floatTensor("b", new long[] {3}, rand(r, 3, 0.5)),
            Tensors.floatTensor("fcw", new long[] {2, 3}, rand(r, 6, 1)),
            Tensors.floatTensor("fcb", new long[] {2}, rand(r, 2, 1)));
        OnnxModel model = tinyModel(List.of(
            Nodes.create("Conv", "conv", List.of("x", "w", "b"), List.of("c"), Nodes.intsAttribute("strides", 2, 2)),
            Nodes.create("Sigmoid", "sig", List.of("c"), List.of("s")),
            Nodes.create("Mul", "square", List.of("s", "c"), List.of("m")),
            Nodes.create("GlobalAveragePool", "gap", List.of("m"), List.of("g")),
            Nodes.create("Flatten", "flat", List.of("g"), List.of("f")),
            Nodes.create("Gemm", "fc", List.of("f", "fcw", "fcb"), List.of("l"), Nodes.intAttribute("transB", 1)),
            Nodes.create("LogSoftmax", "lsm", List.of("l"), List.of("y"))), inits);
        QatGraph graph = QatGraph.fromOnnx(model);
        float[] x = rand(r, 2 * 36, 1);
        QatTensor out = graph.forward(x, 2, 1, 6, 6);
        float[] weights = rand(r, out.size(), 1);
        graph.backward(weights);
        for (QatTensor p : graph.trainableTensors()) {
            float[] analytic = java.util.Arrays.copyOf(p.grad(), p.size());
            for (int i = 0; i < p.size(); i++) {
                float keep = p.data()[i];
                p.data()[i] = keep + 1e-2f;
                double plus = dot(graph.forward(x, 2, 1, 6, 6), weights);
                p.data()[i] = keep - 1e-2f;
                double minus = dot(graph.forward(x, 2, 1, 6, 6), weights);
                p.data()[i] = keep;
                double numeric = (plus - minus) / 2e-2;
                assertThat(Math.abs(numeric - analytic[i])).as("%s[%d] %s vs %s", p.name(), i, numeric, analytic[i])
                    .isLessThanOrEqualTo(2e-3 + 1e-2 * Math.abs(numeric));
            }
        }
    }

    private static double dot(QatTensor t, float[] w) {
        double s = 0;
        for (int i = 0; i < t.size(); i++) {
            s += (double) t.data()[i] * w[i];
        }
        return s;
    }

    static float[] rand(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    /** A model with input x [N, 1, 6, 6] and output y. */
    static OnnxModel tinyModel(List<OnnxMl.NodeProto> nodes, List<OnnxMl.TensorProto> inits) {
        OnnxMl.TypeProto.Tensor.Builder in = OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1);
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder()
            .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
        for (int d : new int[] {1, 6, 6}) {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        in.setShape(shape);
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("tiny").addAllNode(nodes).addAllInitializer(inits)
            .addInput(OnnxMl.ValueInfoProto.newBuilder().setName("x").setType(OnnxMl.TypeProto.newBuilder().setTensorType(in)))
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1))))
            .build();
        return OnnxModel.wrap(OnnxMl.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).build());
    }
}
