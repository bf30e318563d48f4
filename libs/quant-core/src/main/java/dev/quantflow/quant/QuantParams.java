package dev.quantflow.quant;

/**
 * Affine (scale, zero point) quantization of a real tensor to 8-bit integers, as ONNX QuantizeLinear /
 * DequantizeLinear define it.
 *
 * <h2>Mapping</h2>
 * <pre>
 *   q = saturate(roundHalfToEven(x / s) + z)        saturate clamps to [qmin, qmax] of the type
 *   x' = (q - z) * s
 * </pre>
 * {@code x / s} is computed in single precision, as ONNX Runtime does, so that a quantized initializer written here
 * equals what QuantizeLinear would produce for the same float input. NaN maps to {@code z} (dequantizes to 0).
 *
 * <h2>Choosing s and z from an observed range [rmin, rmax]</h2>
 * The range is first widened to contain 0: {@code rmin' = min(rmin, 0)}, {@code rmax' = max(rmax, 0)}. Zero must
 * be exactly representable because padding (Conv, MaxPool), Relu and zero-initialised values all produce exact
 * zeros; with 0 on the grid they incur no error.
 * <ul>
 *   <li><b>Asymmetric</b> (activations, UINT8 or INT8): {@code s = (rmax' - rmin') / (qmax - qmin)},
 *       {@code z = saturate(roundHalfToEven(qmin - rmin' / s))}. The whole code range covers the observed range.
 *   <li><b>Symmetric INT8</b> (weights): {@code a = max(|rmin'|, |rmax'|)}, {@code s = a / 127}, {@code z = 0};
 *       codes stay in [-127, 127] (the restricted range: -128 is never produced, so negating a code cannot
 *       overflow and the u8·s8 dot products of integer kernels keep their headroom).
 * </ul>
 * A degenerate range ({@code rmin' = rmax' = 0}, e.g. a tensor that was always zero) gets {@code s = 1} and, when
 * asymmetric, {@code z = qmin}: 0 stays exact and, as for any range with {@code rmin' = 0}, {@code z = qmin}.
 */
public record QuantParams(float scale, int zeroPoint, QuantType type) {

    public QuantParams {
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("scale must be positive and finite, was " + scale);
        }
        if (zeroPoint < type.qmin() || zeroPoint > type.qmax()) {
            throw new IllegalArgumentException("zero point " + zeroPoint + " outside " + type);
        }
    }

    /** Asymmetric parameters covering [min, max] widened to include 0. */
    public static QuantParams asymmetric(float min, float max, QuantType type) {
        checkRange(min, max);
        float rmin = Math.min(min, 0f);
        float rmax = Math.max(max, 0f);
        if (rmax == rmin) {
            return new QuantParams(1f, type.qmin(), type);
        }
        float scale = (rmax - rmin) / (float) (type.qmax() - type.qmin());
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("range [" + min + ", " + max + "] gives no usable scale");
        }
        double zp = Math.rint(type.qmin() - rmin / scale);
        int zeroPoint = (int) Math.max(type.qmin(), Math.min(type.qmax(), zp));
        return new QuantParams(scale, zeroPoint, type);
    }

    /** Symmetric INT8 parameters (z = 0, codes in [-127, 127]) covering [-a, a], a = max(|min|, |max|). */
    public static QuantParams symmetricInt8(float min, float max) {
        checkRange(min, max);
        float a = Math.max(Math.abs(min), Math.abs(max));
        if (a == 0f) {
            return new QuantParams(1f, 0, QuantType.INT8);
        }
        float scale = a / 127f;
        if (!(scale > 0)) {
            throw new IllegalArgumentException("range [" + min + ", " + max + "] gives no usable scale");
        }
        return new QuantParams(scale, 0, QuantType.INT8);
    }

    /** Quantizes one value (see class doc). */
    public int quantize(float x) {
        return quantize(x, scale, zeroPoint, type.qmin(), type.qmax());
    }

    public float dequantize(int q) {
        return (q - zeroPoint) * scale;
    }

    /** Quantizes {@code src[srcOff .. srcOff+len)} into {@code dst} (values stored as their low 8 bits). */
    public void quantize(float[] src, int srcOff, byte[] dst, int dstOff, int len) {
        int qmin = type.qmin();
        int qmax = type.qmax();
        for (int i = 0; i < len; i++) {
            dst[dstOff + i] = (byte) quantize(src[srcOff + i], scale, zeroPoint, qmin, qmax);
        }
    }

    /** Dequantizes {@code src[srcOff .. srcOff+len)} into {@code dst}. */
    public void dequantize(byte[] src, int srcOff, float[] dst, int dstOff, int len) {
        for (int i = 0; i < len; i++) {
            dst[dstOff + i] = (type.fromByte(src[srcOff + i]) - zeroPoint) * scale;
        }
    }

    /** {@code saturate(roundHalfToEven(x / scale) + zeroPoint)} to [qmin, qmax]; NaN gives the zero point. */
    static int quantize(float x, float scale, int zeroPoint, int qmin, int qmax) {
        float v = x / scale;
        if (Float.isNaN(v)) {
            return zeroPoint;
        }
        double q = Math.rint(v) + zeroPoint;
        return (int) Math.max(qmin, Math.min(qmax, q));
    }

    private static void checkRange(float min, float max) {
        if (Float.isNaN(min) || Float.isNaN(max) || Float.isInfinite(min) || Float.isInfinite(max) || min > max) {
            throw new IllegalArgumentException("invalid range [" + min + ", " + max + "]");
        }
    }
}
