package dev.quantflow.runtime.npz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * One n-dimensional array of an .npz file: a name, a NumPy dtype string, a C-order shape and the raw little-endian
 * element bytes. Immutable; accessors copy.
 *
 * <p>Supported dtypes (NumPy {@code descr} strings): {@code <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 |b1}. One-byte types are
 * also accepted with a {@code <} byte-order mark. Big-endian data, strings, objects and structured dtypes are
 * rejected when read.
 */
public final class NdArray {

    /** Supported dtypes in their canonical spelling. */
    public static final List<String> SUPPORTED_DTYPES = List.of("<f2", "<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "|b1");

    private final String name;
    private final String dtype;
    private final long[] shape;
    private final byte[] data;

    /**
     * @param name array name (the entry name without {@code .npy})
     * @param dtype one of {@link #SUPPORTED_DTYPES}
     * @param shape dimensions, C order; empty for a scalar
     * @param data little-endian element bytes, exactly {@code product(shape) * itemSize} long (not copied)
     */
    private NdArray(String name, String dtype, long[] shape, byte[] data) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
    }

    /**
     * Wraps raw little-endian bytes; the array is copied.
     *
     * @throws DatasetException for an unsupported dtype, a negative dimension or a byte count that does not match
     */
    public static NdArray of(String name, String dtype, long[] shape, byte[] littleEndianData) {
        return create(name, dtype, shape, littleEndianData.clone());
    }

    /** Validating constructor that takes ownership of {@code data}. */
    static NdArray create(String name, String dtype, long[] shape, byte[] data) {
        String canonical = canonicalDtype(dtype);
        if (canonical == null) {
            throw new DatasetException(unsupportedDtypeMessage(name, dtype));
        }
        long count = elementCount(name, shape);
        long expected = count * itemSize(canonical);
        if (data.length != expected) {
            throw new DatasetException("array '" + name + "' with shape " + Arrays.toString(shape) + " and dtype " + dtype
                + " needs " + expected + " bytes of data but has " + data.length);
        }
        return new NdArray(name, canonical, shape.clone(), data);
    }

    public static NdArray ofFloats(String name, float[] values, long... shape) {
        return encode(name, "<f4", 4L * values.length, shape, b -> b.asFloatBuffer().put(values));
    }

    public static NdArray ofDoubles(String name, double[] values, long... shape) {
        return encode(name, "<f8", 8L * values.length, shape, b -> b.asDoubleBuffer().put(values));
    }

    public static NdArray ofLongs(String name, long[] values, long... shape) {
        return encode(name, "<i8", 8L * values.length, shape, b -> b.asLongBuffer().put(values));
    }

    public static NdArray ofInts(String name, int[] values, long... shape) {
        return encode(name, "<i4", 4L * values.length, shape, b -> b.asIntBuffer().put(values));
    }

    /** An array of {@code bytes} little-endian bytes that {@code fill} writes. */
    private static NdArray encode(String name, String dtype, long bytes, long[] shape,
                                  java.util.function.Consumer<ByteBuffer> fill) {
        ByteBuffer b = le(bytes);
        fill.accept(b);
        return create(name, dtype, shape, b.array());
    }

    public String name() {
        return name;
    }

    /** Canonical NumPy dtype string, e.g. {@code <f4}. */
    public String dtype() {
        return dtype;
    }

    /** Readable element type: float32, int64, uint8, bool, … */
    public String dtypeName() {
        return dtypeName(dtype);
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public int itemSize() {
        return itemSize(dtype);
    }

    public boolean isFloat() {
        return dtype.charAt(1) == 'f';
    }

    /** Signed or unsigned integer (not bool). */
    public boolean isInteger() {
        return dtype.charAt(1) == 'i' || dtype.charAt(1) == 'u';
    }

    /** Number of samples: the size of axis 0. */
    public int rows() {
        if (shape.length == 0) {
            throw new DatasetException("array '" + name + "' is a scalar; data arrays need a first (sample) axis");
        }
        if (shape[0] > Integer.MAX_VALUE) {
            throw new DatasetException("array '" + name + "' has " + shape[0] + " samples, more than supported");
        }
        return (int) shape[0];
    }

    /** Elements per sample: the product of all dimensions but the first. */
    public long rowElements() {
        long n = 1;
        for (int i = 1; i < shape.length; i++) {
            n *= shape[i];
        }
        return n;
    }

    /** Read-only little-endian view of the element bytes (no copy). */
    public ByteBuffer buffer() {
        return ByteBuffer.wrap(data).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Rows {@code [from, to)} along axis 0 as a new array with the same name and dtype. */
    public NdArray slice(int from, int to) {
        int rows = rows();
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of array '" + name + "' with " + rows + " rows");
        }
        long rowBytes = rowElements() * itemSize();
        long[] s = shape.clone();
        s[0] = to - from;
        return new NdArray(name, dtype, s, Arrays.copyOfRange(data, (int) (from * rowBytes), (int) (to * rowBytes)));
    }

    /**
     * Indices {@code [from, to)} along {@code axis} as a new array with the same name and dtype (axis 0 is
     * {@link #slice(int, int)}; a state input laid out [directions, batch, hidden] is cut along axis 1).
     */
    public NdArray slice(int axis, int from, int to) {
        if (axis == 0) {
            return slice(from, to);
        }
        if (axis < 0 || axis >= shape.length) {
            throw new IndexOutOfBoundsException("axis " + axis + " of array '" + name + "' of rank " + shape.length);
        }
        long size = shape[axis];
        if (from < 0 || to > size || from > to) {
            throw new IndexOutOfBoundsException("[" + from + ", " + to + ") along axis " + axis + " of array '" + name
                + "' with " + size);
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape[i];
        }
        long inner = itemSize();
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int span = Math.toIntExact((to - from) * inner);
        byte[] out = new byte[Math.toIntExact(outer * span)];
        for (long o = 0; o < outer; o++) {
            System.arraycopy(data, Math.toIntExact((o * size + from) * inner), out, Math.toIntExact(o * span), span);
        }
        long[] s = shape.clone();
        s[axis] = to - from;
        return new NdArray(name, dtype, s, out);
    }

    /** All elements as float, converted from any supported dtype (bool as 0/1; int64 and float64 may round). */
    public float[] toFloats() {
        int n = checkedCount();
        float[] out = new float[n];
        ByteBuffer b = buffer();
        switch (dtype) {
            case "<f4" -> b.asFloatBuffer().get(out);
            case "<f8" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(i * 8);
                }
            }
            case "<f2" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(b.getShort(i * 2));
                }
            }
            default -> {
                for (int i = 0; i < n; i++) {
                    out[i] = integerAt(b, i);
                }
            }
        }
        return out;
    }

    /**
     * All elements as long; for integer and bool dtypes only.
     *
     * @throws DatasetException for a float dtype, whose values would have to be truncated
     */
    public long[] toLongs() {
        if (isFloat()) {
            throw new DatasetException("array '" + name + "' holds " + dtypeName() + " values where integers are needed; "
                + "save it as an integer array (e.g. x.astype(np.int64))");
        }
        int n = checkedCount();
        long[] out = new long[n];
        ByteBuffer b = buffer();
        for (int i = 0; i < n; i++) {
            out[i] = integerAt(b, i);
        }
        return out;
    }

    private long integerAt(ByteBuffer b, int i) {
        return switch (dtype) {
            case "|i1" -> b.get(i);
            case "|u1", "|b1" -> b.get(i) & 0xFF;
            case "<i2" -> b.getShort(i * 2);
            case "<i4" -> b.getInt(i * 4);
            case "<i8" -> b.getLong(i * 8);
            default -> throw new IllegalStateException(dtype);
        };
    }

    private int checkedCount() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new DatasetException("array '" + name + "' has " + n + " elements, too many to convert at once; slice it first");
        }
        return (int) n;
    }

    /** Raw bytes, for the writer. */
    byte[] rawData() {
        return data;
    }

    @Override
    public String toString() {
        return name + " " + dtypeName() + Arrays.toString(shape);
    }

    /** Canonical spelling of a NumPy descr string, or null if unsupported. */
    static String canonicalDtype(String descr) {
        if (descr == null || descr.length() < 3) {
            return null;
        }
        char order = descr.charAt(0);
        String kind = descr.substring(1);
        if (kind.equals("i1") || kind.equals("u1") || kind.equals("b1")) {
            return (order == '|' || order == '<' || order == '=') ? "|" + kind : null;
        }
        if (order != '<') {
            return null;
        }
        return SUPPORTED_DTYPES.contains(descr) ? descr : null;
    }

    static String unsupportedDtypeMessage(String name, String descr) {
        if (descr != null && descr.startsWith(">")) {
            return "array '" + name + "' is stored big-endian (" + descr + "); save it little-endian, e.g. "
                + "x.astype(x.dtype.newbyteorder('<'))";
        }
        return "array '" + name + "' has dtype " + descr + ", which is not supported; use one of float32, float64, "
            + "float16, int8, int16, int32, int64, uint8 or bool (e.g. x.astype(np.float32))";
    }

    static int itemSize(String canonicalDtype) {
        return Integer.parseInt(canonicalDtype.substring(2));
    }

    static String dtypeName(String canonicalDtype) {
        return switch (canonicalDtype) {
            case "|b1" -> "bool";
            case "|u1" -> "uint8";
            default -> (canonicalDtype.charAt(1) == 'f' ? "float" : "int") + (itemSize(canonicalDtype) * 8);
        };
    }

    private static long elementCount(String name, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new DatasetException("array '" + name + "' has a negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static ByteBuffer le(long bytes) {
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("array too large: " + bytes + " bytes");
        }
        return ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
