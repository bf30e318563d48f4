package dev.quantflow.onnx.prepare;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * Preparation inside If branches, as Silero VAD is exported: a branch's weights are {@code Constant} nodes of the
 * branch or initializers of the graph around it, reordered by weight-only Slice/Concat (torch's LSTM gate order).
 */
class SubgraphPreparationTest {

    private static OnnxMl.AttributeProto graph(String name, OnnxMl.GraphProto g) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.GRAPH)
            .setG(g).build();
    }

    private static OnnxMl.NodeProto constant(String out, OnnxMl.TensorProto t) {
        return Nodes.create("Constant", "const_" + out, List.of(), List.of(out), TinyGraph.tensor("value", t));
    }

    /**
     * x [2, 4]; If(ReduceSum(x) > 0): then y = x · Concat(Slice(w, rows 2..4), Slice(w, rows 0..2)) with w [4, 3] an
     * initializer of the main graph and the slice bounds Constants of the branch; else y = x · v + c, v and c
     * Constants of the branch, c behind an inner If that only passes it on.
     */
    private static TinyGraph model() {
        OnnxMl.GraphProto.Builder then = OnnxMl.GraphProto.newBuilder().setName("then")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y_then"))
            .addNode(constant("s0", Tensors.int64Tensor("s0", new long[] {1}, new long[] {0})))
            .addNode(constant("s2", Tensors.int64Tensor("s2", new long[] {1}, new long[] {2})))
            .addNode(constant("s4", Tensors.int64Tensor("s4", new long[] {1}, new long[] {4})))
            .addNode(Nodes.create("Slice", "lo", List.of("w", "s0", "s2"), List.of("w_lo")))
            .addNode(Nodes.create("Slice", "hi", List.of("w", "s2", "s4"), List.of("w_hi")))
            .addNode(Nodes.create("Concat", "cat", List.of("w_hi", "w_lo"), List.of("w_re"), Nodes.intAttribute("axis", 0)))
            .addNode(Nodes.create("MatMul", "mm_then", List.of("x", "w_re"), List.of("y_then")));
        OnnxMl.GraphProto.Builder innerThen = OnnxMl.GraphProto.newBuilder().setName("inner_then")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("c_pass"))
            .addNode(Nodes.create("Identity", "pass", List.of("c"), List.of("c_pass")));
        OnnxMl.GraphProto.Builder innerElse = OnnxMl.GraphProto.newBuilder().setName("inner_else")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("c_neg"))
            .addNode(Nodes.create("Neg", "neg", List.of("c"), List.of("c_neg")));
        OnnxMl.GraphProto.Builder els = OnnxMl.GraphProto.newBuilder().setName("else")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y_else"))
            .addNode(constant("v", Tensors.floatTensor("v", new long[] {4, 3}, TinyGraph.random(5, 12, -1, 1))))
            .addNode(constant("c", Tensors.floatTensor("c", new long[] {3}, new float[] {0.5f, -1, 2})))
            .addNode(Nodes.create("If", "inner", List.of("positive"), List.of("c_out"),
                graph("then_branch", innerThen.build()), graph("else_branch", innerElse.build())))
            .addNode(Nodes.create("MatMul", "mm_else", List.of("x", "v"), List.of("xv")))
            .addNode(Nodes.create("Add", "add_else", List.of("xv", "c_out"), List.of("y_else")));
        return new TinyGraph().input("x", 2, 4).output("y")
            .randomInit("w", 3, -1, 1, 4, 3)
            .init("zero", new long[0], 0f)
            .node("ReduceSum", List.of("x"), List.of("mx"), Nodes.intAttribute("keepdims", 0))
            .node("Greater", List.of("mx", "zero"), List.of("positive"))
            .node("If", List.of("positive"), List.of("y"), graph("then_branch", then.build()),
                graph("else_branch", els.build()));
    }

    @Test
    void constantsAndWeightOnlyNodesInsideBranchesBecomeBranchInitializers() throws Exception {
        TinyGraph g = model();
        OnnxModel original = g.model(13);
        PreparationResult r = ModelPreparation.prepare(original);

        assertThat(r.report().constantsToInitializers()).isEqualTo(5); // s0, s2, s4 in then; v, c in else
        assertThat(r.report().foldedConstantNodes()).isEqualTo(3);      // Slice, Slice, Concat in then
        OnnxMl.NodeProto ifNode = r.model().graph().getNodeList().stream().filter(n -> n.getOpType().equals("If"))
            .findFirst().orElseThrow();
        OnnxMl.GraphProto then = Nodes.attribute(ifNode, "then_branch").orElseThrow().getG();
        OnnxMl.GraphProto els = Nodes.attribute(ifNode, "else_branch").orElseThrow().getG();
        assertThat(then.getNodeList()).extracting(OnnxMl.NodeProto::getOpType).containsExactly("MatMul");
        assertThat(then.getInitializerList()).extracting(OnnxMl.TensorProto::getName).containsExactly("w_re");
        float[] w = Tensors.toFloatArray(original.initializers().get("w"));
        float[] re = Tensors.toFloatArray(then.getInitializer(0));
        List<Float> expected = new ArrayList<>();
        for (int i = 6; i < 12; i++) {
            expected.add(w[i]);
        }
        for (int i = 0; i < 6; i++) {
            expected.add(w[i]);
        }
        assertThat(re).containsExactly(toArray(expected));
        // The main graph's w is read by nothing any more; the else branch keeps its Constants as its initializers.
        assertThat(r.model().initializers()).doesNotContainKey("w");
        assertThat(els.getInitializerList()).extracting(OnnxMl.TensorProto::getName).containsExactlyInAnyOrder("v", "c");
        assertThat(els.getNodeList()).extracting(OnnxMl.NodeProto::getOpType).doesNotContain("Constant");

        // Both branches compute what they did: inputs of either sign.
        TinyGraph.assertSameOutputs(original, r.model(), g.inputShapes());
        java.util.Set<Boolean> taken = new java.util.HashSet<>();
        for (long seed = 1; seed <= 8; seed++) {
            double sum = 0;
            for (float v : TinyGraph.random(seed, 8, -4, 4)) { // the inputs TinyGraph.run feeds for this seed
                sum += v;
            }
            taken.add(sum > 0);
            double[] a = TinyGraph.run(original, g.inputShapes(), seed).get("y");
            double[] b = TinyGraph.run(r.model(), g.inputShapes(), seed).get("y");
            assertThat(b).containsExactly(a, org.assertj.core.data.Offset.offset(1e-6));
        }
        assertThat(taken).as("both branches ran").containsExactlyInAnyOrder(true, false);
    }

    private static float[] toArray(List<Float> values) {
        float[] a = new float[values.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = values.get(i);
        }
        return a;
    }
}
