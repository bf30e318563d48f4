package dev.quantflow.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

class GraphEditorTest {

    /** x → Relu(unnamed) → a → Add(a, c) "add" → y, and a → Neg "neg" → z. */
    private static OnnxModel model() {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("g")
            .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Relu").addInput("x").addOutput("a"))
            .addNode(Nodes.create("Add", "add", List.of("a", "c"), List.of("y")))
            .addNode(Nodes.create("Neg", "neg", List.of("a"), List.of("z")))
            .addInitializer(Tensors.floatTensor("c", new long[] {3}, new float[] {1, 2, 3}))
            .addInitializer(Tensors.floatTensor("unused", new long[] {1}, new float[] {9}))
            .addInput(value("x")).addOutput(value("y")).addOutput(value("z"))
            .build();
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13)).build().toByteArray());
    }

    static OnnxMl.ValueInfoProto value(String name) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                .setShape(OnnxMl.TensorShapeProto.newBuilder()
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(3))))).build();
    }

    @Test
    void namesUnnamedNodesAndFindsProducersAndConsumers() {
        GraphEditor e = GraphEditor.of(model());
        assertThat(e.nodes()).extracting(OnnxMl.NodeProto::getName).containsExactly("Relu_0", "add", "neg");
        assertThat(e.producer("a")).map(OnnxMl.NodeProto::getName).contains("Relu_0");
        assertThat(e.producer("x")).isEmpty();
        assertThat(e.consumers("a")).extracting(OnnxMl.NodeProto::getName).containsExactly("add", "neg");
        assertThat(e.isGraphInput("x")).isTrue();
        assertThat(e.isGraphInput("c")).isFalse();
        assertThat(e.isGraphOutput("z")).isTrue();
        assertThat(e.node("neg")).isPresent();
    }

    @Test
    void uniqueNamesAvoidEveryExistingNameAndEachOther() {
        GraphEditor e = GraphEditor.of(model());
        assertThat(e.uniqueName("a")).isEqualTo("a_1");
        assertThat(e.uniqueName("a")).isEqualTo("a_2");
        assertThat(e.uniqueName("add")).isEqualTo("add_1");
        assertThat(e.uniqueName("fresh")).isEqualTo("fresh");
        assertThat(e.uniqueName("fresh")).isEqualTo("fresh_1");
    }

    @Test
    void buildSortsInsertedNodesTopologicallyAndDropsUnusedInitializers() throws Exception {
        GraphEditor e = GraphEditor.of(model());
        // Insert y2 = Mul(a, c) at the very start (before a exists): build() must move it after the Relu.
        e.insertAtStart(List.of(Nodes.create("Mul", "mul", List.of("a", "c"), List.of("m"))));
        OnnxMl.NodeProto add = e.node("add").orElseThrow();
        e.replaceNode("add", List.of(add.toBuilder().setInput(0, "m").build()));
        OnnxModel edited = e.build();
        assertThat(edited.graph().getNodeList()).extracting(OnnxMl.NodeProto::getName)
            .containsExactly("Relu_0", "mul", "add", "neg");
        assertThat(edited.initializerNames()).containsExactly("c");
        // The source model is unchanged.
        assertThat(model().graph().getNodeCount()).isEqualTo(3);

        // And ONNX Runtime runs it: y = relu(x) * c + c.
        try (OrtEnvironment env = OrtEnvironment.getEnvironment();
             OrtSession s = env.createSession(edited.toByteArray(), new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {-1f, 2f, 3f}), new long[] {3});
             OrtSession.Result r = s.run(Map.of("x", x))) {
            float[] y = ((OnnxTensor) r.get("y").orElseThrow()).getFloatBuffer().array();
            assertThat(y).containsExactly(1f, 6f, 12f);
        }
    }

    @Test
    void cycleIsReported() {
        GraphEditor e = GraphEditor.of(model());
        OnnxMl.NodeProto relu = e.node("Relu_0").orElseThrow();
        e.replaceNode("Relu_0", List.of(relu.toBuilder().setInput(0, "y").build()));
        assertThatThrownBy(e::build).isInstanceOf(OnnxFormatException.class).hasMessageContaining("cycle");
    }

    @Test
    void renamedGraphOutputAndRemovedNode() {
        GraphEditor e = GraphEditor.of(model());
        e.removeNode("neg");
        e.renameGraphOutput("z", "a");
        OnnxModel edited = e.build();
        assertThat(edited.outputs()).extracting(OnnxModel.ValueInfo::name).containsExactly("y", "a");
        assertThat(edited.graph().getNodeCount()).isEqualTo(2);
    }

    @Test
    void opsetBumpRaisesIrVersion() {
        OnnxModel old = OnnxModel.wrap(model().proto().toBuilder().setIrVersion(5)
            .setOpsetImport(0, OnnxMl.OperatorSetIdProto.newBuilder().setVersion(10)).build());
        OnnxModel bumped = old.withOpsetVersion(13);
        assertThat(bumped.opsetVersion()).isEqualTo(13);
        assertThat(bumped.proto().getIrVersion()).isEqualTo(7);
        assertThat(old.opsetVersion()).isEqualTo(10);
        assertThat(OnnxModel.minimumIrVersion(11)).isEqualTo(6);
        assertThat(OnnxModel.minimumIrVersion(17)).isEqualTo(8);
    }
}
