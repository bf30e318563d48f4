package dev.quantflow.onnx;

import ai.onnx.proto.OnnxMl;

/** Value infos (a graph input's, output's or intermediate's name, element type and shape) for graphs built in code. */
public final class ValueInfos {

    private ValueInfos() {
    }

    /**
     * @param elemType an {@code OnnxMl.TensorProto.DataType} number
     * @param dims     each a {@link Number} (a fixed size) or a {@link String} (a symbolic one, e.g. {@code "N"})
     */
    public static OnnxMl.ValueInfoProto tensor(String name, int elemType, Object... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            var dim = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String symbol) {
                dim.setDimParam(symbol);
            } else if (d instanceof Number size) {
                dim.setDimValue(size.longValue());
            } else {
                throw new IllegalArgumentException("a dim is a Number or a String, not " + d);
            }
            shape.addDim(dim);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
            .setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
            .build();
    }

    /** A float tensor of fixed shape. */
    public static OnnxMl.ValueInfoProto floatTensor(String name, long... dims) {
        Object[] boxed = new Object[dims.length];
        for (int i = 0; i < dims.length; i++) {
            boxed[i] = dims[i];
        }
        return tensor(name, OnnxMl.TensorProto.DataType.FLOAT_VALUE, boxed);
    }
}
