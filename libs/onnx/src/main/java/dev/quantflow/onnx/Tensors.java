package dev.quantflow.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.google.protobuf.ByteString;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/**
 * Reading and building ONNX {@code TensorProto}s.
 *
 * <p>ONNX stores tensor payloads either in the typed repeated fields ({@code float_data}, {@code int32_data},
 * {@code int64_data}) or in {@code raw_data}, which the spec fixes as little-endian, densely packed, row-major.
 * Readers here accept both; builders always write {@code raw_data} (what exporters write, and the compact form).
 * Tensors whose payload lives in an external file ({@code data_location = EXTERNAL}) are rejected with a clear
 * message: this platform takes self-contained models.
 */
public final class Tensors {

    private Tensors() {
    }

    /** Number of elements implied by {@code dims} (1 for a scalar). */
    public static long elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new OnnxFormatException("negative dimension " + d);
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public static long[] dims(OnnxMl.TensorProto t) {
        return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** Values of a FLOAT tensor, from {@code float_data} or little-endian {@code raw_data}. */
    public static float[] toFloatArray(OnnxMl.TensorProto t) {
        requireType(t, DataType.FLOAT);
        int n = checkedCount(t);
        float[] out = new float[n];
        if (t.getRawData().isEmpty()) {
            requireLength(t, t.getFloatDataCount(), n);
            for (int i = 0; i < n; i++) {
                out[i] = t.getFloatData(i);
            }
        } else {
            requireLength(t, t.getRawData().size() / Float.BYTES, n);
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        }
        return out;
    }

    /** Values of an INT64 tensor, from {@code int64_data} or little-endian {@code raw_data}. */
    public static long[] toLongArray(OnnxMl.TensorProto t) {
        requireType(t, DataType.INT64);
        int n = checkedCount(t);
        long[] out = new long[n];
        if (t.getRawData().isEmpty()) {
            requireLength(t, t.getInt64DataCount(), n);
            for (int i = 0; i < n; i++) {
                out[i] = t.getInt64Data(i);
            }
        } else {
            requireLength(t, t.getRawData().size() / Long.BYTES, n);
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
        }
        return out;
    }

    /** Values of an INT32 tensor, from {@code int32_data} or little-endian {@code raw_data}. */
    public static int[] toIntArray(OnnxMl.TensorProto t) {
        requireType(t, DataType.INT32);
        int n = checkedCount(t);
        int[] out = new int[n];
        if (t.getRawData().isEmpty()) {
            requireLength(t, t.getInt32DataCount(), n);
            for (int i = 0; i < n; i++) {
                out[i] = t.getInt32Data(i);
            }
        } else {
            requireLength(t, t.getRawData().size() / Integer.BYTES, n);
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
        }
        return out;
    }

    /**
     * Raw bytes of an INT8 or UINT8 tensor (uint8 values are to be read as {@code b & 0xFF}). The typed form stores
     * 8-bit values widened in {@code int32_data}.
     */
    public static byte[] toByteArray(OnnxMl.TensorProto t) {
        int type = t.getDataType();
        if (type != DataType.INT8_VALUE && type != DataType.UINT8_VALUE) {
            throw new OnnxFormatException("tensor '" + t.getName() + "' is " + typeName(type) + ", expected int8 or uint8");
        }
        rejectExternal(t);
        int n = checkedCount(t);
        if (t.getRawData().isEmpty()) {
            requireLength(t, t.getInt32DataCount(), n);
            byte[] out = new byte[n];
            for (int i = 0; i < n; i++) {
                out[i] = (byte) t.getInt32Data(i);
            }
            return out;
        }
        requireLength(t, t.getRawData().size(), n);
        return t.getRawData().toByteArray();
    }

    public static OnnxMl.TensorProto floatTensor(String name, long[] dims, float[] data) {
        requireCount(name, dims, data.length);
        ByteBuffer buf = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(data);
        return build(name, DataType.FLOAT, dims, buf.array());
    }

    public static OnnxMl.TensorProto int8Tensor(String name, long[] dims, byte[] data) {
        requireCount(name, dims, data.length);
        return build(name, DataType.INT8, dims, data.clone());
    }

    /** A UINT8 tensor; {@code data} holds the values' low 8 bits. */
    public static OnnxMl.TensorProto uint8Tensor(String name, long[] dims, byte[] data) {
        requireCount(name, dims, data.length);
        return build(name, DataType.UINT8, dims, data.clone());
    }

    public static OnnxMl.TensorProto int32Tensor(String name, long[] dims, int[] data) {
        requireCount(name, dims, data.length);
        ByteBuffer buf = ByteBuffer.allocate(data.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asIntBuffer().put(data);
        return build(name, DataType.INT32, dims, buf.array());
    }

    public static OnnxMl.TensorProto int64Tensor(String name, long[] dims, long[] data) {
        requireCount(name, dims, data.length);
        ByteBuffer buf = ByteBuffer.allocate(data.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asLongBuffer().put(data);
        return build(name, DataType.INT64, dims, buf.array());
    }

    /** ONNX element type as a short lower-case name (float, int8, …). */
    public static String typeName(int dataType) {
        DataType t = DataType.forNumber(dataType);
        return t == null ? "type" + dataType : t.name().toLowerCase();
    }

    private static OnnxMl.TensorProto build(String name, DataType type, long[] dims, byte[] raw) {
        OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(type.getNumber());
        for (long d : dims) {
            b.addDims(d);
        }
        return b.setRawData(ByteString.copyFrom(raw)).build();
    }

    private static void requireCount(String name, long[] dims, int length) {
        if (elementCount(dims) != length) {
            throw new IllegalArgumentException("tensor '" + name + "': " + length + " values for dims "
                + java.util.Arrays.toString(dims));
        }
    }

    private static void requireType(OnnxMl.TensorProto t, DataType expected) {
        if (t.getDataType() != expected.getNumber()) {
            throw new OnnxFormatException("tensor '" + t.getName() + "' is " + typeName(t.getDataType())
                + ", expected " + typeName(expected.getNumber()));
        }
        rejectExternal(t);
    }

    private static void rejectExternal(OnnxMl.TensorProto t) {
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
            throw new OnnxFormatException("tensor '" + t.getName()
                + "' keeps its data in an external file; hand over a self-contained model");
        }
    }

    private static int checkedCount(OnnxMl.TensorProto t) {
        long n = elementCount(dims(t));
        if (n > Integer.MAX_VALUE) {
            throw new OnnxFormatException("tensor '" + t.getName() + "' has too many elements: " + n);
        }
        return (int) n;
    }

    private static void requireLength(OnnxMl.TensorProto t, int actual, int expected) {
        if (actual != expected) {
            throw new OnnxFormatException("tensor '" + t.getName() + "' holds " + actual + " values, its dims say "
                + expected);
        }
    }
}
