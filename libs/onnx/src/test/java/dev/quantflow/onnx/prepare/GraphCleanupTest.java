package dev.quantflow.onnx.prepare;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/** Constant → initializer, Identity / Dropout removal, weight folding, activation patterns. */
class GraphCleanupTest {

    private static OnnxMl.AttributeProto attr(String name, OnnxMl.AttributeProto.AttributeType type) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(type).build();
    }

    @Test
    void everyConstantValueKindBecomesAnInitializerAndOneFeedingTwoConsumersStaysOne() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 3).output("y").output("n")
            .node("Constant", List.of(), List.of("t"), TinyGraph.tensor("value",
                Tensors.floatTensor("ignored", new long[] {3}, new float[] {1, 2, 3})))
            .node("Constant", List.of(), List.of("f"), attr("value_float", OnnxMl.AttributeProto.AttributeType.FLOAT)
                .toBuilder().setF(0.5f).build())
            .node("Constant", List.of(), List.of("fs"), TinyGraph.floats("value_floats", -1, 0, 1))
            .node("Constant", List.of(), List.of("i"), Nodes.intAttribute("value_int", 3).toBuilder()
                .setName("value_int").build())
            .node("Constant", List.of(), List.of("is"), Nodes.intsAttribute("value_ints", 3, 2))
            .node("Add", List.of("x", "t"), List.of("a"))
            .node("Mul", List.of("a", "t"), List.of("m"))        // t read by two nodes
            .node("Mul", List.of("m", "f"), List.of("m2"))
            .node("Add", List.of("m2", "fs"), List.of("a2"))
            .node("Reshape", List.of("a2", "is"), List.of("y"))
            .node("Cast", List.of("i"), List.of("ci"), Nodes.intAttribute("to", 1))
            .node("Mul", List.of("x", "ci"), List.of("n"));
        OnnxModel model = g.model(13);
        PreparationResult r = ModelPreparation.prepare(model);
        assertThat(r.report().constantsToInitializers()).isEqualTo(5);
        assertThat(TinyGraph.opTypes(r.model())).doesNotContain("Constant", "Cast");
        assertThat(r.report().foldedConstantNodes()).isEqualTo(1); // Cast(int64 3) → float 3
        assertThat(r.model().initializers().get("f").getDimsCount()).isZero();
        assertThat(Tensors.toLongArray(r.model().initializers().get("is"))).containsExactly(3, 2);
        assertThat(Tensors.toFloatArray(r.model().initializers().get("ci"))).containsExactly(3f);
        TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
    }

    @Test
    void identitiesGoAndAGraphOutputProducedByAnIdentityKeepsItsName() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 4).output("y").output("z")
            .node("Identity", List.of("x"), List.of("x1"))
            .node("Relu", List.of("x1"), List.of("r"))
            .node("Identity", List.of("r"), List.of("y"))       // graph output through an Identity
            .node("Neg", List.of("r"), List.of("z"));
        OnnxModel model = g.model(13);
        PreparationResult r = ModelPreparation.prepare(model);
        assertThat(r.report().removedIdentities()).isEqualTo(2);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("Relu", "Neg");
        assertThat(r.model().outputs()).extracting(OnnxModel.ValueInfo::name).containsExactly("y", "z");
        assertThat(r.model().graph().getNode(0).getInput(0)).isEqualTo("x");
        TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
    }

    @Test
    void identityFromGraphInputToGraphOutputStays() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 4).output("y").output("r")
            .node("Identity", List.of("x"), List.of("y")).node("Relu", List.of("x"), List.of("r"));
        PreparationResult r = ModelPreparation.prepare(g.model(13));
        assertThat(r.report().removedIdentities()).isZero();
        assertThat(TinyGraph.opTypes(r.model())).contains("Identity");
    }

    @Test
    void dropoutWithUnusedMaskIsRemovedAtOpset9And12() throws Exception {
        for (int opset : new int[] {9, 12}) {
            TinyGraph g = new TinyGraph().input("x", 2, 4).output("y")
                .node("Dropout", List.of("x"), List.of("d", "mask"), Nodes.floatAttribute("ratio", 0.3f))
                .node("Relu", List.of("d"), List.of("y"));
            if (opset == 12) {
                g = new TinyGraph().input("x", 2, 4).output("y").init("ratio", new long[0], 0.3f)
                    .node("Dropout", List.of("x", "ratio"), List.of("d", "mask"))
                    .node("Relu", List.of("d"), List.of("y"));
            }
            OnnxModel model = g.model(opset);
            PreparationResult r = ModelPreparation.prepare(model);
            assertThat(r.report().removedDropouts()).as("opset " + opset).isEqualTo(1);
            assertThat(TinyGraph.opTypes(r.model())).containsExactly("Relu");
            TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
        }
    }

    @Test
    void dropoutWhoseMaskIsAnOutputStaysAndIsUpgraded() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 4).output("y").output("mask", 9)
            .node("Dropout", List.of("x"), List.of("y", "mask"), Nodes.floatAttribute("ratio", 0.3f));
        OnnxModel model = g.model(11);
        PreparationResult r = ModelPreparation.prepare(model);
        assertThat(r.report().removedDropouts()).isZero();
        assertThat(r.report().upgradedOps()).containsEntry("Dropout", 1);
        OnnxMl.NodeProto d = r.model().graph().getNode(0);
        assertThat(d.getInputCount()).isEqualTo(2);
        assertThat(Tensors.toFloatArray(r.model().initializers().get(d.getInput(1)))).containsExactly(0.3f);
        assertThat(r.model().opsetVersion()).isEqualTo(17);
    }

    @Test
    void weightOnlyChainsFoldButOpsOnActivationsStay() throws Exception {
        // w [2,3] → Transpose → [3,2] → Unsqueeze(0) → [1,3,2] → Reshape([3,2]) → MatMul(x, ·)
        TinyGraph g = new TinyGraph().input("x", 4, 3).output("y")
            .init("w", new long[] {2, 3}, 1, 2, 3, 4, 5, 6)
            .initLongs("axes0", new long[] {1}, 0).initLongs("shape", new long[] {2}, 3, 2)
            .node("Transpose", List.of("w"), List.of("wt"), Nodes.intsAttribute("perm", 1, 0))
            .node("Unsqueeze", List.of("wt", "axes0"), List.of("wu"))
            .node("Reshape", List.of("wu", "shape"), List.of("wr"))
            .node("MatMul", List.of("x", "wr"), List.of("mm"))
            .node("Transpose", List.of("mm"), List.of("y"), Nodes.intsAttribute("perm", 1, 0));
        OnnxModel model = g.model(13);
        PreparationResult r = ModelPreparation.prepare(model);
        assertThat(r.report().foldedConstantNodes()).isEqualTo(3);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("MatMul", "Transpose");
        String weight = r.model().graph().getNode(0).getInput(1);
        assertThat(Tensors.toFloatArray(r.model().initializers().get(weight))).containsExactly(1, 4, 2, 5, 3, 6);
        TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
    }

    @Test
    void hardSigmoidTimesInputBecomesHardSwishButTheSeGateDoesNot() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 8).input("gate", 2, 8).output("y").output("se")
            .node("HardSigmoid", List.of("x"), List.of("h"), Nodes.floatAttribute("alpha", 0.1666667f),
                Nodes.floatAttribute("beta", 0.5f))
            .node("Mul", List.of("x", "h"), List.of("y"))
            .node("HardSigmoid", List.of("gate"), List.of("hg"), Nodes.floatAttribute("alpha", 0.1666667f))
            .node("Mul", List.of("x", "hg"), List.of("se"));    // x · HardSigmoid(other): a gate, not HardSwish
        OnnxModel model = g.model(11);
        PreparationResult r = ModelPreparation.prepare(model);
        assertThat(r.report().recognizedHardSwish()).isEqualTo(1);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("HardSwish", "HardSigmoid", "Mul");
        TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
    }

    @Test
    void hardSigmoidWithAlphaPointTwoIsNotHardSwish() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 8).output("y")
            .node("HardSigmoid", List.of("x"), List.of("h"), Nodes.floatAttribute("alpha", 0.2f))
            .node("Mul", List.of("h", "x"), List.of("y"));
        assertThat(ModelPreparation.prepare(g.model(13)).report().recognizedHardSwish()).isZero();
    }

    @Test
    void clipSpelledHardSwishAtOpset9AndReluSixCounted() throws Exception {
        // y = x · Clip(x + 3, 0, 6) / 6 (paddle2onnx's hard_swish at opset 9); r = Clip(x, 0, 6) stays, counted
        TinyGraph g = new TinyGraph().input("x", 3, 5).output("y").output("r")
            .init("three", new long[0], 3f).init("six", new long[0], 6f)
            .node("Add", List.of("x", "three"), List.of("a"))
            .node("Clip", List.of("a"), List.of("c"), Nodes.floatAttribute("min", 0f), Nodes.floatAttribute("max", 6f))
            .node("Mul", List.of("x", "c"), List.of("m"))
            .node("Div", List.of("m", "six"), List.of("y"))
            .node("Clip", List.of("x"), List.of("r"), Nodes.floatAttribute("min", 0f), Nodes.floatAttribute("max", 6f));
        OnnxModel model = g.model(9);
        PreparationResult r = ModelPreparation.prepare(model);
        assertThat(r.report().recognizedHardSwish()).isEqualTo(1);
        assertThat(r.report().recognizedRelu6()).isEqualTo(1);
        assertThat(r.report().upgradedOps()).containsEntry("Clip", 2);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("HardSwish", "Clip");
        TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
    }

    @Test
    void clipPatternWithItsIntermediateReadElsewhereIsLeft() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 3, 5).output("y").output("c")
            .init("three", new long[0], 3f).init("six", new long[0], 6f).init("zero", new long[0], 0f)
            .node("Add", List.of("x", "three"), List.of("a"))
            .node("Clip", List.of("a", "zero", "six"), List.of("c"))
            .node("Mul", List.of("x", "c"), List.of("m"))
            .node("Div", List.of("m", "six"), List.of("y"));
        PreparationResult r = ModelPreparation.prepare(g.model(13));
        assertThat(r.report().recognizedHardSwish()).isZero();
        assertThat(r.report().recognizedRelu6()).isEqualTo(1);
    }
}
