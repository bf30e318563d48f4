package dev.quantflow.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

class QuantParamsTest {

    @Test
    void asymmetricUint8CoversTheRangeWidenedToZero() {
        QuantParams p = QuantParams.asymmetric(-1f, 3f, QuantType.UINT8);
        assertThat(p.scale()).isEqualTo(4f / 255f);
        assertThat(p.zeroPoint()).isEqualTo(64); // rint(0 - (-1)/(4/255)) = rint(63.75)
        assertThat(p.quantize(0f)).isEqualTo(64);
        assertThat(p.dequantize(p.quantize(0f))).isZero();

        // A positive-only range is widened to [0, max]: zero point at qmin, 0 exact.
        QuantParams positive = QuantParams.asymmetric(2f, 6f, QuantType.UINT8);
        assertThat(positive.zeroPoint()).isZero();
        assertThat(positive.scale()).isEqualTo(6f / 255f);
        QuantParams positiveInt8 = QuantParams.asymmetric(0.5f, 6f, QuantType.INT8);
        assertThat(positiveInt8.zeroPoint()).isEqualTo(-128);
        // A negative-only range is widened to [min, 0].
        QuantParams negative = QuantParams.asymmetric(-5f, -1f, QuantType.UINT8);
        assertThat(negative.zeroPoint()).isEqualTo(255);
        assertThat(negative.dequantize(negative.quantize(-5f))).isEqualTo(-5f);
    }

    @Test
    void symmetricInt8HasZeroPointZeroAndRestrictedRange() {
        QuantParams p = QuantParams.symmetricInt8(-2f, 0.5f);
        assertThat(p.zeroPoint()).isZero();
        assertThat(p.scale()).isEqualTo(2f / 127f);
        assertThat(p.quantize(-2f)).isEqualTo(-127);
        assertThat(p.quantize(2f)).isEqualTo(127);
    }

    @Test
    void degenerateRangeKeepsZeroExact() {
        QuantParams p = QuantParams.asymmetric(0f, 0f, QuantType.INT8);
        assertThat(p.scale()).isEqualTo(1f);
        assertThat(p.dequantize(p.quantize(0f))).isZero();
        assertThat(p.dequantize(p.quantize(-3f))).isZero();
        assertThat(QuantParams.symmetricInt8(0f, 0f).scale()).isEqualTo(1f);
    }

    @Test
    void roundsHalfToEvenAndSaturates() {
        QuantParams p = new QuantParams(0.5f, 10, QuantType.UINT8);
        assertThat(p.quantize(0.25f)).isEqualTo(10);  // 0.5 → 0
        assertThat(p.quantize(0.75f)).isEqualTo(12);  // 1.5 → 2
        assertThat(p.quantize(1.25f)).isEqualTo(12);  // 2.5 → 2
        assertThat(p.quantize(-0.25f)).isEqualTo(10); // -0.5 → -0
        assertThat(p.quantize(-0.75f)).isEqualTo(8);  // -1.5 → -2
        assertThat(p.quantize(1000f)).isEqualTo(255);
        assertThat(p.quantize(-1000f)).isEqualTo(0);
        assertThat(p.quantize(Float.POSITIVE_INFINITY)).isEqualTo(255);
        assertThat(p.quantize(Float.NaN)).isEqualTo(10);
        QuantParams s = new QuantParams(0.5f, 0, QuantType.INT8);
        assertThat(s.quantize(-1000f)).isEqualTo(-128);
    }

    @Test
    void rejectsInvalidParametersAndRanges() {
        assertThatThrownBy(() -> new QuantParams(0f, 0, QuantType.UINT8)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new QuantParams(1f, 300, QuantType.UINT8)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> QuantParams.asymmetric(1f, Float.POSITIVE_INFINITY, QuantType.UINT8))
            .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * Our quantize/dequantize against ONNX Runtime's QuantizeLinear/DequantizeLinear on odd sizes, including exact
     * ties (x / s = k + 0.5) and values far outside the range. Must match bit for bit.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 13, 207, 4098})
    void matchesOnnxRuntimeExactly(int n) throws Exception {
        Random r = new Random(n);
        for (QuantType type : QuantType.values()) {
            QuantParams p = QuantParams.asymmetric(-1.3f, 2.9f, type);
            float[] x = TestModels.uniform(r, n, -2f, 4f);
            for (int i = 0; i < n; i += 3) {
                x[i] = (r.nextInt(400) - 200 + 0.5f) * p.scale(); // ties, up to float rounding
            }
            x[0] = 0f;
            byte[] ours = new byte[n];
            p.quantize(x, 0, ours, 0, n);

            OnnxModel model = qdqModel(p, n);
            Map<String, float[]> ort;
            try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                byte[] qIn = ours.clone();
                OnnxTensor qTensor = type == QuantType.UINT8
                    ? OnnxTensor.createTensor(OrtSupport.ENV, ByteBuffer.wrap(qIn), new long[] {n},
                        ai.onnxruntime.OnnxJavaType.UINT8)
                    : OnnxTensor.createTensor(OrtSupport.ENV, ByteBuffer.wrap(qIn), new long[] {n});
                ort = OrtSupport.run(model.toByteArray(), opts,
                    Map.of("x", OrtSupport.tensor(x, new long[] {n}), "q_in", qTensor));
            }
            float[] ortQ = ort.get("q");
            for (int i = 0; i < n; i++) {
                assertThat(type.fromByte(ours[i])).as("%s element %d (x=%s)", type, i, x[i]).isEqualTo((int) ortQ[i]);
            }
            float[] ourDq = new float[n];
            p.dequantize(ours, 0, ourDq, 0, n);
            assertThat(ort.get("dq")).containsExactly(ourDq);
        }
    }

    /** x → QuantizeLinear → q ; q_in → DequantizeLinear → dq. */
    private static OnnxModel qdqModel(QuantParams p, int n) {
        OnnxMl.TensorProto zp = p.type() == QuantType.UINT8
            ? Tensors.uint8Tensor("zp", new long[0], new byte[] {(byte) p.zeroPoint()})
            : Tensors.int8Tensor("zp", new long[0], new byte[] {(byte) p.zeroPoint()});
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("qdq")
            .addInitializer(Tensors.floatTensor("s", new long[0], new float[] {p.scale()}))
            .addInitializer(zp)
            .addNode(Nodes.create("QuantizeLinear", "q", List.of("x", "s", "zp"), List.of("q")))
            .addNode(Nodes.create("DequantizeLinear", "dq", List.of("q_in", "s", "zp"), List.of("dq")))
            .addInput(typed("x", OnnxMl.TensorProto.DataType.FLOAT_VALUE, n))
            .addInput(typed("q_in", p.type().onnxType().getNumber(), n))
            .addOutput(typed("q", p.type().onnxType().getNumber(), n))
            .addOutput(typed("dq", OnnxMl.TensorProto.DataType.FLOAT_VALUE, n));
        return TestModels.model(g, 13);
    }

    static OnnxMl.ValueInfoProto typed(String name, int elemType, long... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }
}
