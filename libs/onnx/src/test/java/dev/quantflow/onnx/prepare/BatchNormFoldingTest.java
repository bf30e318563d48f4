package dev.quantflow.onnx.prepare;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;

class BatchNormFoldingTest {

    /** BN parameters with non-trivial values: γ in [0.5, 2], β in [-1, 1], μ in [-1, 1], σ² in [0.1, 3]. */
    private static TinyGraph bnParams(TinyGraph g, int channels, long seed) {
        return g.randomInit("gamma", seed, 0.5f, 2f, channels).randomInit("beta", seed + 1, -1f, 1f, channels)
            .randomInit("mean", seed + 2, -1f, 1f, channels).randomInit("var", seed + 3, 0.1f, 3f, channels);
    }

    private static TinyGraph bn(TinyGraph g, String in, String out) {
        return g.node("BatchNormalization", List.of(in, "gamma", "beta", "mean", "var"), List.of(out),
            Nodes.floatAttribute("epsilon", 1e-3f));
    }

    private static PreparationResult prepareAndCompare(TinyGraph g, int opset) throws Exception {
        OnnxModel model = g.model(opset);
        PreparationResult r = ModelPreparation.prepare(model);
        TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
        return r;
    }

    @Test
    void convWithoutBiasGetsOneAndTheBatchNormIsGone() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 3, 6, 6).output("y")
            .randomInit("w", 1, -1f, 1f, 4, 3, 3, 3)
            .node("Conv", List.of("x", "w"), List.of("c"), Nodes.intsAttribute("pads", 1, 1, 1, 1));
        bn(bnParams(g, 4, 10), "c", "y");
        PreparationResult r = prepareAndCompare(g, 13);
        assertThat(r.report().foldedBatchNorms()).isEqualTo(1);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("Conv");
        assertThat(r.model().graph().getNode(0).getInputCount()).isEqualTo(3);
        assertThat(r.model().graph().getNode(0).getOutput(0)).isEqualTo("y");
    }

    @Test
    void depthwiseConvWithBias() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 1, 4, 5, 5).output("y")
            .randomInit("w", 2, -1f, 1f, 4, 1, 3, 3).randomInit("b", 3, -1f, 1f, 4)
            .node("Conv", List.of("x", "w", "b"), List.of("c"), Nodes.intAttribute("group", 4));
        bn(bnParams(g, 4, 20), "c", "y");
        PreparationResult r = prepareAndCompare(g, 11);
        assertThat(r.report().foldedBatchNorms()).isEqualTo(1);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("Conv");
    }

    @Test
    void groupedConvTranspose() throws Exception {
        // W [C_in=4, M/g=3, 2, 2] with group 2 → 6 output channels; channel of W[c, j] is (c / 2) * 3 + j.
        TinyGraph g = new TinyGraph().input("x", 1, 4, 3, 3).output("y")
            .randomInit("w", 4, -1f, 1f, 4, 3, 2, 2).randomInit("b", 5, -1f, 1f, 6)
            .node("ConvTranspose", List.of("x", "w", "b"), List.of("c"), Nodes.intAttribute("group", 2),
                Nodes.intsAttribute("strides", 2, 2));
        bn(bnParams(g, 6, 30), "c", "y");
        PreparationResult r = prepareAndCompare(g, 13);
        assertThat(r.report().foldedBatchNorms()).isEqualTo(1);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("ConvTranspose");
    }

    @Test
    void gemmTransposedWithBiasAndBeta() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 3, 5).output("y")
            .randomInit("w", 6, -1f, 1f, 4, 5).randomInit("c", 7, -1f, 1f, 4)
            .node("Gemm", List.of("x", "w", "c"), List.of("g"), Nodes.intAttribute("transB", 1),
                Nodes.floatAttribute("alpha", 0.5f), Nodes.floatAttribute("beta", 2f));
        bn(bnParams(g, 4, 40), "g", "y");
        PreparationResult r = prepareAndCompare(g, 13);
        assertThat(r.report().foldedBatchNorms()).isEqualTo(1);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("Gemm");
    }

    @Test
    void gemmWithoutBias() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 3, 5).output("y")
            .randomInit("w", 8, -1f, 1f, 5, 4)
            .node("Gemm", List.of("x", "w"), List.of("g"));
        bn(bnParams(g, 4, 50), "g", "y");
        PreparationResult r = prepareAndCompare(g, 11);
        assertThat(r.report().foldedBatchNorms()).isEqualTo(1);
        assertThat(r.model().graph().getNode(0).getInputCount()).isEqualTo(3);
    }

    @Test
    void convOutputReadTwiceLeavesTheConvAndMakesMulAdd() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 1, 2, 4, 4).output("y").output("c")
            .randomInit("w", 9, -1f, 1f, 3, 2, 1, 1)
            .node("Conv", List.of("x", "w"), List.of("c")).valueInfo("c", 1, 3, 4, 4);
        bn(bnParams(g, 3, 60), "c", "y");
        PreparationResult r = prepareAndCompare(g, 13);
        assertThat(r.report().foldedBatchNorms()).isZero();
        assertThat(r.report().standaloneBatchNormsToMulAdd()).isEqualTo(1);
        assertThat(TinyGraph.opTypes(r.model())).containsExactly("Conv", "Mul", "Add");
        assertThat(r.model().initializers().values()).anySatisfy(t -> assertThat(t.getDimsList()).containsExactly(3L, 1L, 1L));
    }

    @Test
    void standaloneBatchNormNeedsTheRank() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 2, 3, 4).output("y");
        bn(bnParams(g, 3, 70), "x", "y");
        OnnxModel model = g.model(13);
        // x is a graph input with a declared shape: its rank is known, Mul+Add with [3, 1] constants
        PreparationResult r = ModelPreparation.prepare(model);
        TinyGraph.assertSameOutputs(model, r.model(), g.inputShapes());
        assertThat(r.report().standaloneBatchNormsToMulAdd()).isEqualTo(1);

        TinyGraph h = new TinyGraph().input("x", 2, 3, 4).output("y").node("Relu", List.of("x"), List.of("r"));
        bn(bnParams(h, 3, 70), "r", "y");
        PreparationResult unknown = ModelPreparation.prepare(h.model(13));
        assertThat(unknown.report().standaloneBatchNormsToMulAdd()).isZero();
        assertThat(unknown.report().notes()).anyMatch(n -> n.contains("rank of its input unknown"));
        PreparationResult known = ModelPreparation.prepare(h.model(13), Map.of("r", new long[] {2, 3, 4}));
        assertThat(known.report().standaloneBatchNormsToMulAdd()).isEqualTo(1);
        TinyGraph.assertSameOutputs(h.model(13), known.model(), h.inputShapes());
    }

    @Test
    void opset7BatchNormWithSpatialAndIsTestAttributes() throws Exception {
        TinyGraph g = new TinyGraph().input("x", 1, 2, 3, 3).output("y")
            .randomInit("w", 11, -1f, 1f, 2, 2, 1, 1).node("Conv", List.of("x", "w"), List.of("c"));
        bnParams(g, 2, 80).node("BatchNormalization", List.of("c", "gamma", "beta", "mean", "var"), List.of("y"),
            Nodes.intAttribute("spatial", 1), Nodes.floatAttribute("epsilon", 1e-5f));
        PreparationResult r = prepareAndCompare(g, 7);
        assertThat(r.report().foldedBatchNorms()).isEqualTo(1);
    }
}
