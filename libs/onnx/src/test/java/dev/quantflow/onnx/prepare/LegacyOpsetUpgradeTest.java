package dev.quantflow.onnx.prepare;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.OpsetUpgrade;

/** Opset 7..12 ops moved to 17 by {@link OpsetUpgrade}, each checked in ONNX Runtime against the original. */
class LegacyOpsetUpgradeTest {

    private static OpsetUpgrade.Result upgradeAndCompare(TinyGraph g, int opset, Map<String, long[]> shapes)
        throws Exception {
        OnnxModel model = g.model(opset);
        OpsetUpgrade.Result r = OpsetUpgrade.upgrade(model, 17, shapes);
        assertThat(r.model().opsetVersion()).isEqualTo(17);
        assertThat(r.opsetFrom()).isEqualTo(opset);
        TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
        return r;
    }

    @Test
    void softmaxAxis1OnRank4AtOpset11WithoutShapesIsWrittenOut() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 3, 4, 5).output("y")
            .node("Softmax", List.of("x"), List.of("y"), Nodes.intAttribute("axis", 1));
        OpsetUpgrade.Result r = upgradeAndCompare(g, 11, Map.of());
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("Flatten", "Softmax", "Shape", "Reshape");
        // old meaning: normalised over 3·4·5 = 60 values per batch row
        Map<String, double[]> out = TinyGraph.run(r.model(), g.inputShapes(), 1);
        double sum = 0;
        for (int i = 0; i < 60; i++) {
            sum += out.get("y")[i];
        }
        assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void softmaxWithAKnownShapeStaysOneNode() throws Exception {
        // [2, 3, 1, 1] at axis 1: only dim 1 is not 1 from the axis on → Softmax(axis=-3), one node
        TinyGraph g = new TinyGraph().input("x", 2, 3, 1, 1).output("y")
            .node("LogSoftmax", List.of("x"), List.of("y"), Nodes.intAttribute("axis", 1));
        OpsetUpgrade.Result r = upgradeAndCompare(g, 11, Map.of("x", new long[] {2, 3, 1, 1}));
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("LogSoftmax");
        assertThat(Nodes.intAttribute(r.model().graph().getNode(0), "axis", 99)).isEqualTo(-3);
        // [2, 3, 4, 5] at axis 1 needs the written-out form even with the shape known
        TinyGraph h = new TinyGraph().input("x", 2, 3, 4, 5).output("y")
            .node("Hardmax", List.of("x"), List.of("y"), Nodes.intAttribute("axis", 2));
        OpsetUpgrade.Result rh = upgradeAndCompare(h, 9, Map.of("x", new long[] {2, 3, 4, 5}));
        assertThat(TinyGraph.opTypes(rh.model())).contains("Flatten", "Hardmax", "Reshape");
    }

    @Test
    void clipAtOpset9WithAttributesAndOnlyAMax() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 3, 4).output("y").output("z")
            .node("Clip", List.of("x"), List.of("y"), Nodes.floatAttribute("min", -1f), Nodes.floatAttribute("max", 2f))
            .node("Clip", List.of("x"), List.of("z"), Nodes.floatAttribute("max", 0.5f));
        OpsetUpgrade.Result r = upgradeAndCompare(g, 9, Map.of());
        assertThat(r.upgradedOps()).containsEntry("Clip", 2);
        OnnxMl.NodeProto onlyMax = r.model().graph().getNode(1);
        assertThat(onlyMax.getInputList()).hasSize(3);
        assertThat(onlyMax.getInput(1)).isEmpty();
        assertThat(onlyMax.getAttributeCount()).isZero();
    }

    @Test
    void padAndSliceAttributesBecomeInputs() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 3, 4).output("p").output("s").output("e")
            .node("Pad", List.of("x"), List.of("p"), Nodes.intsAttribute("pads", 0, 1, 2, 0, 2, 1),
                Nodes.floatAttribute("value", 1.5f))
            .node("Pad", List.of("x"), List.of("e"), Nodes.intsAttribute("pads", 0, 0, 1, 0, 0, 1),
                Nodes.stringAttribute("mode", "edge"))
            .node("Slice", List.of("x"), List.of("s"), Nodes.intsAttribute("starts", 1, -3),
                Nodes.intsAttribute("ends", 3, 1000), Nodes.intsAttribute("axes", 1, 2));
        OpsetUpgrade.Result r = upgradeAndCompare(g, 9, Map.of());
        assertThat(r.upgradedOps()).containsEntry("Pad", 2).containsEntry("Slice", 1);
    }

    @Test
    void upsampleAtOpset7And9AndResizeAt10BecomeResize13() throws Exception {
        TinyGraph g7 = new TinyGraph().input("x", 1, 2, 3, 3).output("n").output("l")
            .node("Upsample", List.of("x"), List.of("n"), TinyGraph.floats("scales", 1, 1, 2, 3))
            .node("Upsample", List.of("x"), List.of("l"), TinyGraph.floats("scales", 1, 1, 2, 2),
                Nodes.stringAttribute("mode", "linear"));
        OpsetUpgrade.Result r7 = upgradeAndCompare(g7, 7, Map.of());
        assertThat(TinyGraph.opTypes(r7.model())).containsExactly("Resize", "Resize");

        TinyGraph g9 = new TinyGraph().input("x", 1, 2, 3, 3).output("n")
            .init("sc", new long[] {4}, 1, 1, 2, 2)
            .node("Upsample", List.of("x", "sc"), List.of("n"), Nodes.stringAttribute("mode", "nearest"));
        assertThat(TinyGraph.opTypes(upgradeAndCompare(g9, 9, Map.of()).model())).containsExactly("Resize");

        TinyGraph g10 = new TinyGraph().input("x", 1, 2, 3, 3).output("n").output("l")
            .init("sc", new long[] {4}, 1, 1, 1.5f, 2.5f)
            .node("Resize", List.of("x", "sc"), List.of("n"), Nodes.stringAttribute("mode", "nearest"))
            .node("Resize", List.of("x", "sc"), List.of("l"), Nodes.stringAttribute("mode", "linear"));
        OpsetUpgrade.Result r10 = upgradeAndCompare(g10, 10, Map.of());
        assertThat(r10.upgradedOps()).containsEntry("Resize", 2);
        assertThat(r10.model().graph().getNode(0).getInputList()).containsExactly("x", "", "sc");
    }

    @Test
    void resize11ModesMeanTheSameAt17() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 1, 2, 3, 4).output("a").output("b").output("c")
            .init("roi", new long[] {0}).init("sc", new long[] {4}, 1, 1, 2, 1.5f).init("none", new long[] {0})
            .initLongs("sizes", new long[] {4}, 1, 2, 5, 7)
            .node("Resize", List.of("x", "roi", "sc"), List.of("a"), Nodes.stringAttribute("mode", "nearest"),
                Nodes.stringAttribute("coordinate_transformation_mode", "tf_half_pixel_for_nn"))
            .node("Resize", List.of("x", "roi", "none", "sizes"), List.of("b"), Nodes.stringAttribute("mode", "linear"),
                Nodes.stringAttribute("coordinate_transformation_mode", "align_corners"))
            .node("Resize", List.of("x", "roi", "sc"), List.of("c"), Nodes.stringAttribute("mode", "cubic"),
                Nodes.stringAttribute("coordinate_transformation_mode", "pytorch_half_pixel"));
        OpsetUpgrade.Result r = upgradeAndCompare(g, 11, Map.of());
        assertThat(r.upgradedOps()).isEmpty();
    }

    @Test
    void axesSplitAndTopKAttributesBecomeInputs() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 1, 6).output("a").output("b").output("r").output("v")
            .output("i", 7)
            .node("Squeeze", List.of("x"), List.of("sq"), Nodes.intsAttribute("axes", 1))
            .node("Split", List.of("sq"), List.of("a", "b"), Nodes.intAttribute("axis", 1),
                Nodes.intsAttribute("split", 2, 4))
            .node("Unsqueeze", List.of("sq"), List.of("u"), Nodes.intsAttribute("axes", 0))
            .node("ReduceSum", List.of("u"), List.of("r"), Nodes.intsAttribute("axes", 2),
                Nodes.intAttribute("keepdims", 0))
            .node("TopK", List.of("sq"), List.of("v", "i"), Nodes.intAttribute("k", 3));
        OpsetUpgrade.Result r = upgradeAndCompare(g, 9, Map.of());
        assertThat(r.upgradedOps()).containsOnlyKeys("Squeeze", "Split", "Unsqueeze", "ReduceSum", "TopK");
        assertThat(r.model().graph().getNodeList()).allSatisfy(n -> assertThat(n.getAttributeList())
            .extracting(OnnxMl.AttributeProto::getName).doesNotContain("axes", "split", "k"));
    }

    @Test
    void refusalNamesTheOpAndTheOpset() {
        TinyGraph g = new TinyGraph().input("x", 1, 3, 2, 2).output("y")
            .node("ImageScaler", List.of("x"), List.of("y"), Nodes.floatAttribute("scale", 2f));
        assertThatThrownBy(() -> ModelPreparation.prepare(g.model(9))).isInstanceOf(OnnxFormatException.class)
            .hasMessageContaining("ImageScaler").hasMessageContaining("opset 9");
        TinyGraph old = new TinyGraph().input("x", 2).output("y").node("Relu", List.of("x"), List.of("y"));
        assertThatThrownBy(() -> ModelPreparation.prepare(old.model(6))).isInstanceOf(OnnxFormatException.class)
            .hasMessageContaining("opset 6");
    }

    @Test
    void aModernModelWithAnotherDomainKeepsItsOpsetInsteadOfBeingRefused() {
        TinyGraph g = new TinyGraph().input("x", 2, 3).output("y").node("Relu", List.of("x"), List.of("r"));
        OnnxModel base = g.model(13);
        OnnxMl.ModelProto.Builder p = base.proto().toBuilder();
        p.getGraphBuilder().addNode(Nodes.createInDomain("com.microsoft", "FastGelu", "gelu", List.of("r"),
            List.of("y")));
        p.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1));
        PreparationResult r = ModelPreparation.prepare(OnnxModel.wrap(p.build()));
        assertThat(r.report().opsetTo()).isEqualTo(13);
        assertThat(r.report().notes()).anyMatch(n -> n.contains("com.microsoft:FastGelu"));
        OnnxMl.ModelProto.Builder old = p.clone();
        old.setOpsetImport(0, OnnxMl.OperatorSetIdProto.newBuilder().setVersion(11));
        assertThatThrownBy(() -> ModelPreparation.prepare(OnnxModel.wrap(old.build())))
            .isInstanceOf(OnnxFormatException.class).hasMessageContaining("com.microsoft:FastGelu");
    }

    @Test
    void batchNormWithSpatialZeroIsRefused() {
        TinyGraph g = new TinyGraph().input("x", 1, 2, 2, 2).output("y")
            .randomInit("s", 1, 1, 2, 2, 2, 2).randomInit("b", 2, 1, 2, 2, 2, 2)
            .randomInit("m", 3, 1, 2, 2, 2, 2).randomInit("v", 4, 1, 2, 2, 2, 2)
            .node("BatchNormalization", List.of("x", "s", "b", "m", "v"), List.of("y"), Nodes.intAttribute("spatial", 0));
        assertThatThrownBy(() -> OpsetUpgrade.upgrade(g.model(7), 17, Map.of())).isInstanceOf(OnnxFormatException.class)
            .hasMessageContaining("spatial=0");
    }
}
