package dev.quantflow.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.google.protobuf.ByteString;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/**
 * Reading and building 16-bit float {@code TensorProto}s (FLOAT16 and BFLOAT16) as raw bit patterns.
 *
 * <p>ONNX keeps 16-bit floats either in {@code raw_data} (two little-endian bytes per value) or, in the typed form,
 * one value per {@code int32_data} entry holding the 16 bits in its low half. Readers accept both; builders write
 * {@code raw_data}. The bits are returned as {@code short}s; turning them into numbers is the caller's business.
 */
public final class HalfTensors {

    private HalfTensors() {
    }

    /** A FLOAT16 or BFLOAT16 tensor from its values' bit patterns. */
    public static OnnxMl.TensorProto tensor(String name, int dataType, long[] dims, short[] bits) {
        requireHalfType(name, dataType);
        if (Tensors.elementCount(dims) != bits.length) {
            throw new IllegalArgumentException("tensor '" + name + "': " + bits.length + " values for dims "
                + java.util.Arrays.toString(dims));
        }
        ByteBuffer buf = ByteBuffer.allocate(bits.length * Short.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asShortBuffer().put(bits);
        OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(dataType);
        for (long d : dims) {
            b.addDims(d);
        }
        return b.setRawData(ByteString.copyFrom(buf.array())).build();
    }

    /** Bit patterns of a FLOAT16 or BFLOAT16 tensor, from {@code raw_data} or {@code int32_data}. */
    public static short[] toBits(OnnxMl.TensorProto t) {
        requireHalfType(t.getName(), t.getDataType());
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
            throw new OnnxFormatException("tensor '" + t.getName()
                + "' keeps its data in an external file; hand over a self-contained model");
        }
        long count = Tensors.elementCount(Tensors.dims(t));
        if (count > Integer.MAX_VALUE) {
            throw new OnnxFormatException("tensor '" + t.getName() + "' has too many elements: " + count);
        }
        int n = (int) count;
        short[] out = new short[n];
        if (t.getRawData().isEmpty()) {
            if (t.getInt32DataCount() != n) {
                throw new OnnxFormatException("tensor '" + t.getName() + "' holds " + t.getInt32DataCount()
                    + " values, its dims say " + n);
            }
            for (int i = 0; i < n; i++) {
                out[i] = (short) t.getInt32Data(i);
            }
        } else {
            if (t.getRawData().size() != n * Short.BYTES) {
                throw new OnnxFormatException("tensor '" + t.getName() + "' holds " + t.getRawData().size() / 2
                    + " values, its dims say " + n);
            }
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(out);
        }
        return out;
    }

    public static boolean isHalfType(int dataType) {
        return dataType == DataType.FLOAT16_VALUE || dataType == DataType.BFLOAT16_VALUE;
    }

    private static void requireHalfType(String name, int dataType) {
        if (!isHalfType(dataType)) {
            throw new OnnxFormatException("tensor '" + name + "' is " + Tensors.typeName(dataType)
                + ", expected float16 or bfloat16");
        }
    }
}
