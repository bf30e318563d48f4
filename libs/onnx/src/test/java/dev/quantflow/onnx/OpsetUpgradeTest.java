package dev.quantflow.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

class OpsetUpgradeTest {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    /**
     * x [2,3,4] → Unsqueeze(axes=[0]) → Squeeze(axes=[0]) → Softmax(axis=1: normalises over 3·4 values before 13)
     * → ReduceSum(axes=[2], keepdims=0) → Split(axis=1, split=[1,2]) → a, b.
     */
    private static OnnxModel opset11Model() {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("g")
            .addInput(value("x", 2, 3, 4)).addOutput(value("a", 2, 1)).addOutput(value("b", 2, 2)).addOutput(value("s", 2, 3, 4));
        g.addNode(Nodes.create("Unsqueeze", "unsq", List.of("x"), List.of("u"), Nodes.intsAttribute("axes", 0)));
        g.addNode(Nodes.create("Squeeze", "sq", List.of("u"), List.of("q"), Nodes.intsAttribute("axes", 0)));
        g.addNode(Nodes.create("Softmax", "softmax", List.of("q"), List.of("s"), Nodes.intAttribute("axis", 1)));
        g.addNode(Nodes.create("ReduceSum", "rsum", List.of("s"), List.of("r"), Nodes.intsAttribute("axes", 2),
            Nodes.intAttribute("keepdims", 0)));
        g.addNode(Nodes.create("Split", "split", List.of("r"), List.of("a", "b"), Nodes.intAttribute("axis", 1),
            Nodes.intsAttribute("split", 1, 2)));
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(6).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(11)).build().toByteArray());
    }

    @Test
    void upgradedModelComputesTheSameInOrt() throws Exception {
        OnnxModel old = opset11Model();
        OnnxModel upgraded = OpsetUpgrade.toOpset13(old);
        assertThat(upgraded.opsetVersion()).isEqualTo(13);
        float[] x = new float[24];
        Random r = new Random(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Map<String, float[]> before = run(old.toByteArray(), Map.of("x", x), new long[] {2, 3, 4});
        Map<String, float[]> after = run(upgraded.toByteArray(), Map.of("x", x), new long[] {2, 3, 4});
        assertThat(after.keySet()).isEqualTo(before.keySet());
        before.forEach((k, v) -> assertThat(after.get(k)).as(k).containsExactly(v));
        // the old Softmax(axis=1) normalised over 12 values per batch row: check it really did
        float sum = 0;
        for (int i = 0; i < 12; i++) {
            sum += after.get("s")[i];
        }
        assertThat(sum).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void miniLmMovesTo13AndGivesTheSameStates() throws Exception {
        byte[] bytes;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            org.junit.jupiter.api.Assumptions.assumeTrue(in != null, "MiniLM jar not on the test classpath");
            bytes = in.readAllBytes();
        }
        OnnxModel old = OnnxModel.parse(bytes);
        assertThat(OpsetUpgrade.blockersForOpset13(old)).isEmpty();
        OnnxModel upgraded = OpsetUpgrade.toOpset13(old);
        long[] ids = {101, 7592, 2088, 2003, 1037, 3231, 102};
        long[] mask = {1, 1, 1, 1, 1, 1, 1};
        long[] types = new long[7];
        float[] a = runMiniLm(old.toByteArray(), ids, mask, types);
        float[] b = runMiniLm(upgraded.toByteArray(), ids, mask, types);
        for (int i = 0; i < a.length; i++) {
            assertThat(b[i]).isCloseTo(a[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void refusesOpsWhoseMeaningItDoesNotKnow() {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("g").addInput(value("x", 2))
            .addOutput(value("y", 2))
            .addNode(Nodes.create("ImageScaler", "d", List.of("x"), List.of("y"))).build();
        OnnxModel m = OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(6).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(11)).build().toByteArray());
        assertThat(OpsetUpgrade.blockersForOpset13(m)).containsExactly("ImageScaler");
        assertThatThrownBy(() -> OpsetUpgrade.toOpset13(m)).isInstanceOf(OnnxFormatException.class)
            .hasMessageContaining("ImageScaler").hasMessageContaining("opset 11");
    }

    private static Map<String, float[]> run(byte[] model, Map<String, float[]> inputs, long[] shape) throws Exception {
        try (OrtSession s = ENV.createSession(model, new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(inputs.get("x")), shape);
             OrtSession.Result r = s.run(Map.of("x", x))) {
            Map<String, float[]> out = new java.util.TreeMap<>();
            r.forEach(e -> {
                FloatBuffer b = ((OnnxTensor) e.getValue()).getFloatBuffer();
                float[] v = new float[b.remaining()];
                b.get(v);
                out.put(e.getKey(), v);
            });
            return out;
        }
    }

    private static float[] runMiniLm(byte[] model, long[] ids, long[] mask, long[] types) throws Exception {
        try (OrtSession s = ENV.createSession(model, new OrtSession.SessionOptions());
             OnnxTensor i = OnnxTensor.createTensor(ENV, new long[][] {ids});
             OnnxTensor m = OnnxTensor.createTensor(ENV, new long[][] {mask});
             OnnxTensor t = OnnxTensor.createTensor(ENV, new long[][] {types});
             OrtSession.Result r = s.run(Map.of("input_ids", i, "attention_mask", m, "token_type_ids", t))) {
            FloatBuffer b = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] v = new float[b.remaining()];
            b.get(v);
            return v;
        }
    }

    private static OnnxMl.ValueInfoProto value(String name, long... dims) {
        return ValueInfos.floatTensor(name, dims);
    }
}
