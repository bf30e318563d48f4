package dev.quantflow.quant;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/** An 8-bit integer type a tensor is quantized to: its saturation range and its ONNX element type. */
public enum QuantType {
    UINT8(0, 255, DataType.UINT8),
    INT8(-128, 127, DataType.INT8);

    private final int qmin;
    private final int qmax;
    private final DataType onnxType;

    QuantType(int qmin, int qmax, DataType onnxType) {
        this.qmin = qmin;
        this.qmax = qmax;
        this.onnxType = onnxType;
    }

    public int qmin() {
        return qmin;
    }

    public int qmax() {
        return qmax;
    }

    public DataType onnxType() {
        return onnxType;
    }

    /** The integer a stored byte stands for: {@code b & 0xFF} for UINT8, sign-extended for INT8. */
    public int fromByte(byte b) {
        return this == UINT8 ? b & 0xFF : b;
    }
}
