package dev.quantflow.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;

class TensorsTest {

    @Test
    void floatTensorRoundTripsThroughRawData() {
        float[] values = {1.5f, -0f, Float.MIN_VALUE, -3.25e7f, 0.1f, 7f};
        OnnxMl.TensorProto t = Tensors.floatTensor("w", new long[] {2, 3}, values);
        assertThat(t.getDataType()).isEqualTo(DataType.FLOAT_VALUE);
        assertThat(t.getRawData().size()).isEqualTo(24);
        // little-endian: 1.5f = 0x3FC00000
        assertThat(t.getRawData().byteAt(3)).isEqualTo((byte) 0x3F);
        assertThat(t.getRawData().byteAt(2)).isEqualTo((byte) 0xC0);
        assertThat(Tensors.toFloatArray(t)).containsExactly(values);
        assertThat(Tensors.dims(t)).containsExactly(2, 3);
    }

    @Test
    void floatTensorReadsTypedFloatData() {
        OnnxMl.TensorProto t = OnnxMl.TensorProto.newBuilder().setName("b").setDataType(DataType.FLOAT_VALUE)
            .addDims(3).addFloatData(1f).addFloatData(-2f).addFloatData(0.5f).build();
        assertThat(Tensors.toFloatArray(t)).containsExactly(1f, -2f, 0.5f);
    }

    @Test
    void scalarHasOneElement() {
        OnnxMl.TensorProto t = Tensors.floatTensor("s", new long[0], new float[] {4f});
        assertThat(Tensors.toFloatArray(t)).containsExactly(4f);
    }

    @Test
    void integerTensorsRoundTrip() {
        byte[] bytes = {-128, 0, 127, -1, 5};
        assertThat(Tensors.toByteArray(Tensors.int8Tensor("q", new long[] {5}, bytes))).containsExactly(bytes);
        OnnxMl.TensorProto u = Tensors.uint8Tensor("u", new long[] {5}, bytes);
        assertThat(u.getDataType()).isEqualTo(DataType.UINT8_VALUE);
        assertThat(Tensors.toByteArray(u)).containsExactly(bytes);
        int[] ints = {Integer.MIN_VALUE, -1, 0, 1, Integer.MAX_VALUE};
        assertThat(Tensors.toIntArray(Tensors.int32Tensor("i", new long[] {5}, ints))).containsExactly(ints);
        long[] longs = {Long.MIN_VALUE, -1, 0, 42, Long.MAX_VALUE};
        assertThat(Tensors.toLongArray(Tensors.int64Tensor("l", new long[] {5}, longs))).containsExactly(longs);
    }

    @Test
    void int8FromTypedInt32Data() {
        OnnxMl.TensorProto t = OnnxMl.TensorProto.newBuilder().setName("z").setDataType(DataType.UINT8_VALUE)
            .addDims(2).addInt32Data(200).addInt32Data(3).build();
        assertThat(Tensors.toByteArray(t)).containsExactly((byte) 200, (byte) 3);
    }

    @Test
    void rejectsWrongTypeCountAndExternalData() {
        OnnxMl.TensorProto ints = Tensors.int32Tensor("i", new long[] {1}, new int[] {1});
        assertThatThrownBy(() -> Tensors.toFloatArray(ints)).isInstanceOf(OnnxFormatException.class)
            .hasMessageContaining("int32");
        assertThatThrownBy(() -> Tensors.floatTensor("x", new long[] {2, 2}, new float[3]))
            .isInstanceOf(IllegalArgumentException.class);
        OnnxMl.TensorProto truncated = Tensors.floatTensor("t", new long[] {2}, new float[2]).toBuilder()
            .clearDims().addDims(3).build();
        assertThatThrownBy(() -> Tensors.toFloatArray(truncated)).isInstanceOf(OnnxFormatException.class)
            .hasMessageContaining("holds 2 values");
        OnnxMl.TensorProto external = OnnxMl.TensorProto.newBuilder().setName("e").setDataType(DataType.FLOAT_VALUE)
            .addDims(1).setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL).build();
        assertThatThrownBy(() -> Tensors.toFloatArray(external)).hasMessageContaining("external file");
    }
}
