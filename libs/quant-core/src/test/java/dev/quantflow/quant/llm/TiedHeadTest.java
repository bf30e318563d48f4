package dev.quantflow.quant.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.TestModels;

/** A head tied to the token embedding: {@code MatMul(h, Transpose(E))} with E also read by a Gather. */
class TiedHeadTest {

    static final int V = 40;
    static final int D = 48;

    /** x [B, 48] → MatMul(x, Transpose(E)) → logits [B, 40]; ids [B] → Gather(E, ids) → emb [B, 48]. */
    static OnnxModel tied(long seed) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("tied");
        g.addInput(TestModels.value("x", "B", D));
        g.addInput(OnnxMl.ValueInfoProto.newBuilder().setName("ids").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE)
                .setShape(OnnxMl.TensorShapeProto.newBuilder().addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder()
                    .setDimParam("B"))))).build());
        g.addOutput(TestModels.value("logits", "B", V)).addOutput(TestModels.value("emb", "B", D));
        g.addInitializer(Tensors.floatTensor("E", new long[] {V, D}, LlmTestData.gaussian(r, V * D, 0.3f)));
        g.addNode(Nodes.create("Gather", "tok", List.of("E", "ids"), List.of("emb")));
        g.addNode(Nodes.create("Transpose", "head_t", List.of("E"), List.of("Et"), Nodes.intsAttribute("perm", 1, 0)));
        g.addNode(Nodes.create("MatMul", "head", List.of("x", "Et"), List.of("logits")));
        return TestModels.model(g, 17);
    }

    @Test
    void theHeadGetsItsOwnFourBitCopyAndTheGatherKeepsTheFp32Matrix() throws Exception {
        OnnxModel fp32 = tied(1);
        LlmQuantizationResult result = new LlmWeightQuantizer().quantize(fp32, Map.of(),
            LlmQuantRecipe.of(LlmQuantRecipe.Method.RTN).withBlockSize(16).withAccuracyLevel(0));
        assertThat(result.decisions()).singleElement().satisfies(d -> {
            assertThat(d.node()).isEqualTo("head");
            assertThat(d.weight()).isEqualTo("E");
            assertThat(d.k()).isEqualTo(D);
            assertThat(d.n()).isEqualTo(V);
            assertThat(d.quantized()).isTrue();
        });
        List<String> ops = result.model().graph().getNodeList().stream().map(OnnxMl.NodeProto::getOpType).toList();
        assertThat(ops).containsExactlyInAnyOrder("Gather", "MatMulNBits");
        assertThat(result.model().initializers()).containsKey("E");
        assertThat(Tensors.toFloatArray(result.model().initializers().get("E")))
            .containsExactly(Tensors.toFloatArray(fp32.initializers().get("E")));

        // the 4-bit head computes x · RTN(Eᵀ)
        float[] e = Tensors.toFloatArray(fp32.initializers().get("E"));
        float[] et = new float[D * V];
        for (int v = 0; v < V; v++) {
            for (int d = 0; d < D; d++) {
                et[d * V + v] = e[v * D + d];
            }
        }
        float[] q = new RtnQuantizer(new BlockQuantGrid(4, false), 16).quantize(et, D, V).dequantize();
        int rows = 5;
        float[] x = LlmTestData.gaussian(new Random(2), rows * D, 1f);
        Map<String, float[]> out;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            out = OrtSupport.run(result.model().toByteArray(), opts, Map.of(
                "x", OnnxTensor.createTensor(OrtSupport.ENV, java.nio.FloatBuffer.wrap(x), new long[] {rows, D}),
                "ids", OnnxTensor.createTensor(OrtSupport.ENV, java.nio.LongBuffer.wrap(new long[] {0, 3, 39, 7, 7}),
                    new long[] {rows})));
        }
        double[] expected = LlmTestData.matmul(x, rows, D, q, V);
        float[] logits = out.get("logits");
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) logits[i]).isCloseTo(expected[i], org.assertj.core.api.Assertions.within(1e-3));
        }
        // the Gather still reads exact fp32 rows
        float[] emb = out.get("emb");
        for (int d = 0; d < D; d++) {
            assertThat(emb[2 * D + d]).isEqualTo(e[39 * D + d]);
        }
    }
}
