package dev.quantflow.onnx.prepare;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.google.protobuf.ByteString;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * Computes ahead the nodes whose inputs are all initializers, where the result is exact: the data-movement ops
 * {@code Transpose}, {@code Reshape}, {@code Flatten}, {@code Squeeze}, {@code Unsqueeze}, {@code Identity} (bytes
 * moved, never recomputed, any fixed-size element type), {@code Slice} (steps 1) and {@code Concat} (how torch
 * exports reorder LSTM gates), {@code Shape} of an initializer, and {@code Cast} between
 * float, double, int32 and int64 where the value is kept exactly (integer to float only below 2^24 / 2^53, int64 to
 * int32 only in range; float to integer, which rounds, is not folded). Runs on opset ≥ 13 graphs (axes as inputs).
 * Nodes are visited in graph order, so a chain of foldable nodes folds in one pass. Anything else stays. Subgraphs
 * (If branches, Loop/Scan bodies, nested) are folded too: their constants are their own initializers and those of
 * every scope around them; a folded value becomes an initializer of the body it is computed in.
 */
final class WeightFolding {

    private static final Set<String> FOLDABLE = Set.of("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
        "Identity", "Shape", "Cast", "Slice", "Concat");
    private static final Map<Integer, Integer> ELEMENT_SIZE = Map.of(DataType.FLOAT_VALUE, 4,
        DataType.DOUBLE_VALUE, 8, DataType.INT64_VALUE, 8, DataType.INT32_VALUE, 4, DataType.INT8_VALUE, 1,
        DataType.UINT8_VALUE, 1, DataType.BOOL_VALUE, 1, DataType.INT16_VALUE, 2, DataType.FLOAT16_VALUE, 2,
        DataType.BFLOAT16_VALUE, 2);

    private WeightFolding() {
    }

    record Outcome(OnnxModel model, int folded) {
    }

    /** A dense little-endian tensor: element type, dims and raw bytes. */
    private record Dense(int type, long[] dims, byte[] bytes) {
        int elementSize() {
            return ELEMENT_SIZE.get(type);
        }

        long count() {
            return Tensors.elementCount(dims);
        }
    }

    static Outcome apply(OnnxModel model) {
        GraphEditor editor = GraphEditor.of(model);
        int folded = 0;
        for (OnnxMl.NodeProto node : editor.nodes()) {
            if (!FOLDABLE.contains(node.getOpType()) || !(node.getDomain().isEmpty()
                || node.getDomain().equals("ai.onnx")) || node.getOutputCount() != 1
                || editor.isGraphOutput(node.getOutput(0)) || node.getInputCount() == 0) {
                continue;
            }
            List<Dense> inputs = new ArrayList<>();
            boolean allConstant = true;
            for (String in : node.getInputList()) {
                if (in.isEmpty()) {
                    inputs.add(null);
                    continue;
                }
                var t = editor.initializer(in);
                Dense d = t.isPresent() ? dense(t.get()) : null;
                if (d == null) {
                    allConstant = false;
                    break;
                }
                inputs.add(d);
            }
            if (!allConstant || inputs.get(0) == null) {
                continue;
            }
            Dense out = fold(node, inputs);
            if (out == null) {
                continue;
            }
            editor.removeNode(node.getName());
            editor.putInitializer(toTensor(node.getOutput(0), out));
            folded++;
        }
        int[] inBodies = {0};
        Map<String, OnnxMl.TensorProto> scope = new java.util.HashMap<>();
        editor.build().graph().getInitializerList().forEach(t -> scope.put(t.getName(), t));
        for (OnnxMl.NodeProto node : editor.nodes()) {
            OnnxMl.NodeProto rewritten = withBodies(node, scope, inBodies);
            if (rewritten != node) {
                editor.replaceNode(node.getName(), List.of(rewritten));
            }
        }
        folded += inBodies[0];
        return new Outcome(folded == 0 ? model : editor.build(), folded);
    }

    /** {@code node} with its subgraphs folded (weights of the scopes around them visible); itself when unchanged. */
    private static OnnxMl.NodeProto withBodies(OnnxMl.NodeProto node, Map<String, OnnxMl.TensorProto> scope,
                                               int[] count) {
        OnnxMl.NodeProto.Builder nb = null;
        int before = count[0];
        for (int j = 0; j < node.getAttributeCount(); j++) {
            OnnxMl.AttributeProto a = node.getAttribute(j);
            if (!a.hasG() && a.getGraphsCount() == 0) {
                continue;
            }
            OnnxMl.AttributeProto.Builder ab = a.toBuilder();
            if (a.hasG()) {
                ab.setG(body(a.getG(), scope, count));
            }
            for (int k = 0; k < a.getGraphsCount(); k++) {
                ab.setGraphs(k, body(a.getGraphs(k), scope, count));
            }
            if (nb == null) {
                nb = node.toBuilder();
            }
            nb.setAttribute(j, ab);
        }
        return nb == null || count[0] == before ? node : nb.build();
    }

    /**
     * A subgraph with its weight-only nodes computed ahead: a node whose inputs are all constants of this body or of
     * a scope around it becomes an initializer of this body. Body initializers nothing reads any more are dropped
     * (the outer graph's dead ones go in {@link GraphEditor#build}).
     */
    private static OnnxMl.GraphProto body(OnnxMl.GraphProto g, Map<String, OnnxMl.TensorProto> outer, int[] count) {
        Map<String, OnnxMl.TensorProto> scope = new java.util.HashMap<>(outer);
        java.util.Set<String> local = new java.util.HashSet<>();
        g.getInputList().forEach(v -> {
            scope.remove(v.getName());
            local.add(v.getName());
        });
        g.getNodeList().forEach(n -> n.getOutputList().forEach(scope::remove));
        g.getInitializerList().forEach(t -> scope.put(t.getName(), t));
        java.util.Set<String> outputs = new java.util.HashSet<>();
        g.getOutputList().forEach(o -> outputs.add(o.getName()));
        List<OnnxMl.TensorProto> added = new ArrayList<>();
        List<OnnxMl.NodeProto> nodes = new ArrayList<>();
        int before = count[0];
        for (OnnxMl.NodeProto node : g.getNodeList()) {
            Dense out = null;
            if (FOLDABLE.contains(node.getOpType()) && (node.getDomain().isEmpty()
                || node.getDomain().equals("ai.onnx")) && node.getOutputCount() == 1
                && !outputs.contains(node.getOutput(0)) && node.getInputCount() > 0 && !node.getInput(0).isEmpty()) {
                List<Dense> inputs = new ArrayList<>();
                for (String in : node.getInputList()) {
                    Dense d = in.isEmpty() ? null : scope.containsKey(in) ? dense(scope.get(in)) : null;
                    if (d == null && !in.isEmpty()) {
                        inputs = null;
                        break;
                    }
                    inputs.add(d);
                }
                out = inputs == null ? null : fold(node, inputs);
            }
            if (out != null) {
                OnnxMl.TensorProto t = toTensor(node.getOutput(0), out);
                added.add(t);
                scope.put(t.getName(), t);
                count[0]++;
            } else {
                nodes.add(withBodies(node, scope, count));
            }
        }
        if (count[0] == before) {
            return g;
        }
        java.util.Set<String> reads = new java.util.HashSet<>(outputs);
        nodes.forEach(n -> collectReads(n, reads));
        OnnxMl.GraphProto.Builder b = g.toBuilder().clearNode().addAllNode(nodes).clearInitializer();
        g.getInitializerList().stream().filter(t -> reads.contains(t.getName())).forEach(b::addInitializer);
        added.stream().filter(t -> reads.contains(t.getName())).forEach(b::addInitializer);
        return b.build();
    }

    private static void collectReads(OnnxMl.NodeProto n, java.util.Set<String> into) {
        into.addAll(n.getInputList());
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            List<OnnxMl.GraphProto> graphs = new ArrayList<>(a.getGraphsList());
            if (a.hasG()) {
                graphs.add(a.getG());
            }
            for (OnnxMl.GraphProto sub : graphs) {
                sub.getNodeList().forEach(x -> collectReads(x, into));
                sub.getOutputList().forEach(o -> into.add(o.getName()));
            }
        }
    }

    private static Dense fold(OnnxMl.NodeProto node, List<Dense> in) {
        Dense x = in.get(0);
        long[] dims = x.dims();
        return switch (node.getOpType()) {
            case "Identity" -> x;
            case "Shape" -> shapeOf(node, dims);
            case "Transpose" -> transpose(x, node);
            case "Flatten" -> {
                int rank = dims.length;
                long axis = Nodes.intAttribute(node, "axis", 1);
                axis = axis < 0 ? axis + rank : axis;
                long outer = 1;
                for (int i = 0; i < axis; i++) {
                    outer *= dims[i];
                }
                yield new Dense(x.type(), new long[] {outer, x.count() / Math.max(outer, 1)}, x.bytes());
            }
            case "Reshape" -> {
                long[] shape = longs(in.size() > 1 ? in.get(1) : null);
                if (shape == null || Nodes.intAttribute(node, "allowzero", 0) != 0) {
                    yield null;
                }
                long[] out = shape.clone();
                int unknown = -1;
                long known = 1;
                for (int i = 0; i < out.length; i++) {
                    if (out[i] == 0) {
                        if (i >= dims.length) {
                            yield null;
                        }
                        out[i] = dims[i];
                    }
                    if (out[i] == -1) {
                        unknown = i;
                    } else {
                        known *= out[i];
                    }
                }
                if (unknown >= 0) {
                    if (known == 0 || x.count() % known != 0) {
                        yield null;
                    }
                    out[unknown] = x.count() / known;
                }
                yield Tensors.elementCount(out) == x.count() ? new Dense(x.type(), out, x.bytes()) : null;
            }
            case "Squeeze" -> {
                long[] axes = in.size() > 1 && in.get(1) != null ? longs(in.get(1)) : null;
                List<Long> out = new ArrayList<>();
                for (int i = 0; i < dims.length; i++) {
                    boolean drop = axes == null ? dims[i] == 1 : contains(axes, i, dims.length);
                    if (drop && dims[i] != 1) {
                        yield null;
                    }
                    if (!drop) {
                        out.add(dims[i]);
                    }
                }
                yield new Dense(x.type(), out.stream().mapToLong(Long::longValue).toArray(), x.bytes());
            }
            case "Unsqueeze" -> {
                long[] axes = in.size() > 1 ? longs(in.get(1)) : null;
                if (axes == null) {
                    yield null;
                }
                int rank = dims.length + axes.length;
                long[] out = new long[rank];
                int j = 0;
                for (int i = 0; i < rank; i++) {
                    out[i] = contains(axes, i, rank) ? 1 : dims[j++];
                }
                yield j == dims.length ? new Dense(x.type(), out, x.bytes()) : null;
            }
            case "Cast" -> cast(x, (int) Nodes.intAttribute(node, "to", 0));
            case "Slice" -> slice(x, in);
            case "Concat" -> concat(in, Nodes.intAttribute(node, "axis", 0));
            default -> null;
        };
    }

    /** Slice-10+ (starts, ends, axes, steps as inputs), steps 1 only. */
    private static Dense slice(Dense x, List<Dense> in) {
        long[] dims = x.dims();
        int rank = dims.length;
        long[] starts = in.size() > 1 ? longs(in.get(1)) : null;
        long[] ends = in.size() > 2 ? longs(in.get(2)) : null;
        if (starts == null || ends == null || starts.length != ends.length) {
            return null;
        }
        long[] axes = in.size() > 3 && in.get(3) != null ? longs(in.get(3)) : null;
        long[] steps = in.size() > 4 && in.get(4) != null ? longs(in.get(4)) : null;
        if ((in.size() > 3 && in.get(3) != null && axes == null) || (in.size() > 4 && in.get(4) != null && steps == null)) {
            return null;
        }
        long[] from = new long[rank];
        long[] to = dims.clone();
        for (int i = 0; i < starts.length; i++) {
            int axis = (int) (axes == null ? i : axes[i] < 0 ? axes[i] + rank : axes[i]);
            if (axis < 0 || axis >= rank || (steps != null && steps[i] != 1)) {
                return null;
            }
            long d = dims[axis];
            long s = starts[i] < 0 ? starts[i] + d : starts[i];
            long e = ends[i] < 0 ? ends[i] + d : ends[i];
            from[axis] = Math.max(0, Math.min(d, s));
            to[axis] = Math.max(from[axis], Math.min(d, e));
        }
        long[] outDims = new long[rank];
        for (int i = 0; i < rank; i++) {
            outDims[i] = to[i] - from[i];
        }
        int size = x.elementSize();
        int n = (int) Tensors.elementCount(outDims);
        byte[] out = new byte[n * size];
        long[] strides = strides(dims);
        long[] index = new long[rank];
        for (int o = 0; o < n; o++) {
            long src = 0;
            for (int i = 0; i < rank; i++) {
                src += (from[i] + index[i]) * strides[i];
            }
            System.arraycopy(x.bytes(), (int) src * size, out, o * size, size);
            for (int i = rank - 1; i >= 0; i--) {
                if (++index[i] < outDims[i]) {
                    break;
                }
                index[i] = 0;
            }
        }
        return new Dense(x.type(), outDims, out);
    }

    private static Dense concat(List<Dense> in, long axisAttr) {
        Dense first = in.get(0);
        int rank = first.dims().length;
        int axis = (int) (axisAttr < 0 ? axisAttr + rank : axisAttr);
        if (axis < 0 || axis >= rank) {
            return null;
        }
        long total = 0;
        for (Dense d : in) {
            if (d == null || d.type() != first.type() || d.dims().length != rank) {
                return null;
            }
            for (int i = 0; i < rank; i++) {
                if (i != axis && d.dims()[i] != first.dims()[i]) {
                    return null;
                }
            }
            total += d.dims()[axis];
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= first.dims()[i];
        }
        long inner = first.elementSize();
        for (int i = axis + 1; i < rank; i++) {
            inner *= first.dims()[i];
        }
        long[] outDims = first.dims().clone();
        outDims[axis] = total;
        byte[] out = new byte[(int) (Tensors.elementCount(outDims) * first.elementSize())];
        int pos = 0;
        for (long o = 0; o < outer; o++) {
            for (Dense d : in) {
                int span = (int) (d.dims()[axis] * inner);
                System.arraycopy(d.bytes(), (int) (o * span), out, pos, span);
                pos += span;
            }
        }
        return new Dense(first.type(), outDims, out);
    }

    private static Dense shapeOf(OnnxMl.NodeProto node, long[] dims) {
        int rank = dims.length;
        long start = Nodes.intAttribute(node, "start", 0);
        long end = Nodes.intAttribute(node, "end", rank);
        start = Math.max(0, Math.min(rank, start < 0 ? start + rank : start));
        end = Math.max(0, Math.min(rank, end < 0 ? end + rank : end));
        long[] out = end > start ? Arrays.copyOfRange(dims, (int) start, (int) end) : new long[0];
        return new Dense(DataType.INT64_VALUE, new long[] {out.length}, le(out));
    }

    private static boolean contains(long[] axes, int axis, int rank) {
        for (long a : axes) {
            if ((a < 0 ? a + rank : a) == axis) {
                return true;
            }
        }
        return false;
    }

    private static Dense transpose(Dense x, OnnxMl.NodeProto node) {
        long[] dims = x.dims();
        int rank = dims.length;
        long[] perm = Nodes.attribute(node, "perm").map(a -> a.getIntsList().stream().mapToLong(Long::longValue)
            .toArray()).orElse(null);
        if (perm == null) {
            perm = new long[rank];
            for (int i = 0; i < rank; i++) {
                perm[i] = rank - 1 - i;
            }
        }
        if (perm.length != rank) {
            return null;
        }
        long[] outDims = new long[rank];
        for (int i = 0; i < rank; i++) {
            outDims[i] = dims[(int) perm[i]];
        }
        long[] inStrides = strides(dims);
        int size = x.elementSize();
        int n = (int) x.count();
        byte[] out = new byte[n * size];
        long[] index = new long[rank];
        for (int o = 0; o < n; o++) {
            long src = 0;
            for (int i = 0; i < rank; i++) {
                src += index[i] * inStrides[(int) perm[i]];
            }
            System.arraycopy(x.bytes(), (int) src * size, out, o * size, size);
            for (int i = rank - 1; i >= 0; i--) {
                if (++index[i] < outDims[i]) {
                    break;
                }
                index[i] = 0;
            }
        }
        return new Dense(x.type(), outDims, out);
    }

    private static long[] strides(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    private static Dense cast(Dense x, int to) {
        int from = x.type();
        if (from == to) {
            return x;
        }
        ByteBuffer src = ByteBuffer.wrap(x.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) x.count();
        double[] values = new double[n];
        long[] ints = new long[n];
        boolean integral;
        switch (from) {
            case DataType.FLOAT_VALUE -> { integral = false; for (int i = 0; i < n; i++) values[i] = src.getFloat(); }
            case DataType.DOUBLE_VALUE -> { integral = false; for (int i = 0; i < n; i++) values[i] = src.getDouble(); }
            case DataType.INT32_VALUE -> { integral = true; for (int i = 0; i < n; i++) ints[i] = src.getInt(); }
            case DataType.INT64_VALUE -> { integral = true; for (int i = 0; i < n; i++) ints[i] = src.getLong(); }
            default -> { return null; }
        }
        ByteBuffer out;
        switch (to) {
            case DataType.FLOAT_VALUE -> {
                out = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    if (integral && Math.abs(ints[i]) > (1L << 24)) {
                        return null;
                    }
                    double v = integral ? ints[i] : values[i];
                    if (!integral && from == DataType.DOUBLE_VALUE && (double) (float) v != v) {
                        return null;
                    }
                    out.putFloat((float) v);
                }
            }
            case DataType.DOUBLE_VALUE -> {
                out = ByteBuffer.allocate(n * 8).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    if (integral && Math.abs(ints[i]) > (1L << 53)) {
                        return null;
                    }
                    out.putDouble(integral ? ints[i] : values[i]);
                }
            }
            case DataType.INT64_VALUE -> {
                if (!integral) {
                    return null;
                }
                out = ByteBuffer.allocate(n * 8).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    out.putLong(ints[i]);
                }
            }
            case DataType.INT32_VALUE -> {
                if (!integral) {
                    return null;
                }
                out = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    if (ints[i] != (int) ints[i]) {
                        return null;
                    }
                    out.putInt((int) ints[i]);
                }
            }
            default -> {
                return null;
            }
        }
        return new Dense(to, x.dims(), out.array());
    }

    private static long[] longs(Dense d) {
        if (d == null || d.type() != DataType.INT64_VALUE) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(d.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        long[] v = new long[(int) d.count()];
        for (int i = 0; i < v.length; i++) {
            v[i] = b.getLong();
        }
        return v;
    }

    private static byte[] le(long[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    /** The tensor as dense little-endian bytes; null for types or storage forms that are not folded. */
    private static Dense dense(OnnxMl.TensorProto t) {
        Integer size = ELEMENT_SIZE.get(t.getDataType());
        if (size == null || t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
            return null;
        }
        long[] dims = Tensors.dims(t);
        long count = Tensors.elementCount(dims);
        if (count * size > Integer.MAX_VALUE) {
            return null;
        }
        if (!t.getRawData().isEmpty()) {
            return t.getRawData().size() == count * size ? new Dense(t.getDataType(), dims, t.getRawData().toByteArray())
                : null;
        }
        ByteBuffer b = ByteBuffer.allocate((int) (count * size)).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.getDataType()) {
            case DataType.FLOAT_VALUE -> {
                if (t.getFloatDataCount() != count) {
                    return null;
                }
                t.getFloatDataList().forEach(b::putFloat);
            }
            case DataType.DOUBLE_VALUE -> {
                if (t.getDoubleDataCount() != count) {
                    return null;
                }
                t.getDoubleDataList().forEach(b::putDouble);
            }
            case DataType.INT64_VALUE -> {
                if (t.getInt64DataCount() != count) {
                    return null;
                }
                t.getInt64DataList().forEach(b::putLong);
            }
            case DataType.INT32_VALUE -> {
                if (t.getInt32DataCount() != count) {
                    return null;
                }
                t.getInt32DataList().forEach(b::putInt);
            }
            default -> {
                return null;
            }
        }
        return new Dense(t.getDataType(), dims, b.array());
    }

    private static OnnxMl.TensorProto toTensor(String name, Dense d) {
        OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(d.type());
        for (long dim : d.dims()) {
            b.addDims(dim);
        }
        return b.setRawData(ByteString.copyFrom(d.bytes())).build();
    }
}
