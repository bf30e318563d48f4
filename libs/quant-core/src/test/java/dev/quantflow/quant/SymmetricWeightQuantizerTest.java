package dev.quantflow.quant;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.Tensors;

class SymmetricWeightQuantizerTest {

    /** Straightforward reference: explicit loops over a 4-D [M, C, kh, kw] tensor, channel = first index. */
    @Test
    void perChannelAxis0MatchesNestedLoopReference() {
        int m = 7;
        int c = 3;
        int kh = 5;
        int kw = 1;
        Random r = new Random(7);
        float[] w = TestModels.gaussian(r, m * c * kh * kw, 0.4f);
        for (int i = 2 * c * kh * kw; i < 3 * c * kh * kw; i++) {
            w[i] = 0f; // an all-zero filter
        }
        QuantizedWeights q = SymmetricWeightQuantizer.perChannel(w, new long[] {m, c, kh, kw}, 0);
        assertThat(q.axis()).isZero();
        assertThat(q.scales()).hasSize(m);
        for (int o = 0; o < m; o++) {
            float absMax = 0;
            for (int i = 0; i < c * kh * kw; i++) {
                absMax = Math.max(absMax, Math.abs(w[o * c * kh * kw + i]));
            }
            float scale = absMax == 0 ? 1f : absMax / 127f;
            assertThat(q.scales()[o]).isEqualTo(scale);
            for (int i = 0; i < c * kh * kw; i++) {
                int idx = o * c * kh * kw + i;
                long expected = Math.round(Math.rint(w[idx] / scale));
                assertThat((int) q.values()[idx]).isEqualTo((int) expected).isBetween(-127, 127);
                assertThat(Math.abs(q.values()[idx] * scale - w[idx])).isLessThanOrEqualTo(scale / 2 + 1e-7f);
            }
        }
        // Each non-zero channel uses its full code range.
        assertThat(q.values()).contains((byte) 127);
    }

    /** 2-D [K, N] with channel = column (MatMul weights): reference by explicit column loop. */
    @Test
    void perChannelAxis1MatchesColumnReference() {
        int k = 13;
        int n = 9;
        float[] w = TestModels.gaussian(new Random(3), k * n, 1f);
        QuantizedWeights q = SymmetricWeightQuantizer.perChannel(w, new long[] {k, n}, 1);
        for (int col = 0; col < n; col++) {
            float absMax = 0;
            for (int row = 0; row < k; row++) {
                absMax = Math.max(absMax, Math.abs(w[row * n + col]));
            }
            assertThat(q.scales()[col]).isEqualTo(absMax / 127f);
            for (int row = 0; row < k; row++) {
                assertThat((int) q.values()[row * n + col]).isEqualTo((int) Math.rint(w[row * n + col] / (absMax / 127f)));
            }
        }
    }

    @Test
    void perTensorUsesOneScale() {
        float[] w = {0.5f, -2f, 1f, 0f};
        QuantizedWeights q = SymmetricWeightQuantizer.perTensor(w);
        assertThat(q.perChannel()).isFalse();
        assertThat(q.scales()).containsExactly(2f / 127f);
        assertThat(q.values()).containsExactly((byte) 32, (byte) -127, (byte) 64, (byte) 0);
    }

    /** ONNX Runtime's per-axis DequantizeLinear of our codes equals q · s[c] computed here, on odd sizes. */
    @Test
    void perAxisDequantizationAgreesWithOnnxRuntime() throws Exception {
        for (int m : new int[] {1, 13, 207}) {
            int inner = 5;
            float[] w = TestModels.gaussian(new Random(m), m * inner, 0.7f);
            QuantizedWeights q = SymmetricWeightQuantizer.perChannel(w, new long[] {m, inner}, 0);
            OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("dq")
                .addInitializer(Tensors.floatTensor("s", new long[] {m}, q.scales()))
                .addInitializer(Tensors.int8Tensor("z", new long[] {m}, new byte[m]))
                .addNode(Nodes.create("DequantizeLinear", "dq", List.of("q", "s", "z"), List.of("w"),
                    Nodes.intAttribute("axis", 0)))
                .addInput(QuantParamsTest.typed("q", OnnxMl.TensorProto.DataType.INT8_VALUE, m, inner))
                .addOutput(QuantParamsTest.typed("w", OnnxMl.TensorProto.DataType.FLOAT_VALUE, m, inner));
            Map<String, float[]> out;
            try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                out = OrtSupport.run(TestModels.model(g, 13).toByteArray(), opts, Map.of("q",
                    OnnxTensor.createTensor(OrtSupport.ENV, ByteBuffer.wrap(q.values().clone()), new long[] {m, inner})));
            }
            float[] expected = new float[m * inner];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = q.values()[i] * q.scales()[i / inner];
            }
            assertThat(out.get("w")).containsExactly(expected);
        }
    }

    @Test
    void biasUsesInputTimesWeightScale() {
        float[] bias = {0.1f, -0.37f, 1e9f};
        float[] weightScales = {0.01f, 0.02f, 0.001f};
        BiasQuantizer.QuantizedBias q = BiasQuantizer.quantize(bias, 0.5f, weightScales);
        assertThat(q.scales()).containsExactly(0.5f * 0.01f, 0.5f * 0.02f, 0.5f * 0.001f);
        assertThat(q.values()[0]).isEqualTo(20);
        assertThat(q.values()[1]).isEqualTo(-37);
        assertThat(q.values()[2]).isEqualTo(Integer.MAX_VALUE); // saturates
        BiasQuantizer.QuantizedBias broadcast = BiasQuantizer.quantize(new float[] {1f, 2f}, 0.5f, new float[] {0.1f});
        assertThat(broadcast.values()).containsExactly(20, 40);
    }
}
