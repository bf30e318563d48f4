package dev.quantflow.onnx;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import ai.onnx.proto.OnnxMl;

/**
 * Counts the multiply-accumulates (MACs) of one forward pass of a graph, per op family, from tensor shapes: what
 * {@code --method auto} weighs to tell a CNN with a small classifier head from a transformer.
 *
 * <p><b>Per op</b> (shapes as in the ONNX operator definitions; {@code prod} of an empty list is 1):
 * <ul>
 *   <li>{@code Conv} X[N, Cin, …], W[Cout, Cin/group, k…], Y[N, Cout, out…]:
 *       {@code N·Cout·prod(out)·(Cin/group)·prod(k) = prod(Y)·prod(W[1:])} — grouped and depthwise convolutions
 *       included, since W's second dim already is Cin/group. → CONVOLUTION</li>
 *   <li>{@code ConvTranspose} W[Cin, Cout/group, k…]: every input element is spread over (Cout/group)·prod(k)
 *       outputs: {@code prod(X)·prod(W[1:])}. → CONVOLUTION</li>
 *   <li>{@code MatMul} A[…, M, K] · B[…, K, N] → Y[…, M, N]: {@code prod(Y)·K} (batch dims broadcast);
 *       {@code Gemm} A[M, K] (or [K, M] with transA): {@code M·N·K = prod(Y)·K}. → MATMUL when either operand is
 *       a weight (an initializer, a {@code Constant}, or computed from those only), ATTENTION when both are
 *       activations (Q·Kᵀ, scores·V).</li>
 *   <li>{@code Einsum} (explicit equation, no ellipsis): the product of the sizes of all its index letters, e.g.
 *       {@code bhqd,bhkd->bhqk} is {@code b·h·q·k·d}; MATMUL or ATTENTION as for MatMul.</li>
 *   <li>{@code LSTM}, {@code GRU}, {@code RNN} X[seq, batch, input] (layout 0; [batch, seq, input] with layout 1),
 *       W[dirs, gates·H, input], R[dirs, gates·H, H]: {@code seq·batch·(prod(W) + prod(R)) =
 *       seq·batch·dirs·gates·H·(input + H)} — gates 4 for LSTM, 3 for GRU, 1 for RNN, dirs 2 when bidirectional.
 *       → RECURRENT</li>
 *   <li>ONNX Runtime's {@code Attention} (X[B, S, in], W[in, 3·hidden]): {@code B·S·prod(W) + 2·B·S·S·hidden};
 *       {@code MultiHeadAttention} (Q[B, S, D], K[B, L, D]): {@code 2·B·S·L·D}. → ATTENTION</li>
 *   <li>Elementwise arithmetic, normalizations, Softmax: one per output element; pools: {@code prod(Y)·prod(kernel)};
 *       global pools and reductions: one per input element. → OTHER. Data movement (Reshape, Transpose, Concat,
 *       Gather, Slice, …) counts 0.</li>
 * </ul>
 *
 * <p><b>Shapes.</b> Known shapes are, in increasing precedence: initializer and {@code Constant} dims, static
 * value_info / graph outputs, graph inputs, and the caller's map (e.g. every intermediate shape reported by one
 * ONNX Runtime run). A graph input whose only symbolic dimension is the first is taken with batch 1 (the counts are
 * then per sample, and the estimate says so). Shapes not given are propagated in graph order through the common ops
 * (Conv and pools, MatMul/Gemm, elementwise with broadcasting, Flatten, Reshape with a constant shape, Transpose,
 * Squeeze/Unsqueeze, Concat, Gather, the recurrent ops, …). A compute-family node whose shape stays unknown is listed
 * in {@link MacEstimate#unknown()}; nothing here throws on a graph it cannot size. Nodes inside If/Loop/Scan
 * subgraphs are not counted.
 */
public final class MacEstimator {

    /** Op families MACs are counted for. */
    public enum OpFamily {
        CONVOLUTION("Conv"),
        MATMUL("MatMul/Gemm"),
        ATTENTION("attention"),
        RECURRENT("recurrent"),
        OTHER("other");

        private final String label;

        OpFamily(String label) {
            this.label = label;
        }

        /** Short name for reasons ("Conv 94.2% of …"). */
        public String label() {
            return label;
        }
    }

    private static final Set<String> SAME_SHAPE = Set.of("Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish",
        "Tanh", "Clip", "Elu", "Selu", "Celu", "Gelu", "FastGelu", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs",
        "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Softplus", "Softsign", "Mish", "Sin", "Cos", "Not",
        "Softmax", "LogSoftmax", "Hardmax", "Dropout", "Identity", "BatchNormalization", "InstanceNormalization",
        "LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization", "LpNormalization",
        "LRN", "MeanVarianceNormalization", "Cast", "CastLike", "QuantizeLinear", "DequantizeLinear", "ThresholdedRelu",
        "Shrink", "IsNaN", "IsInf", "PRelu", "Trilu", "CumSum");
    private static final Set<String> BROADCAST = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum",
        "Mean", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor", "Where", "Mod",
        "BitShift");
    /** Ops that do arithmetic on every output element (counted as OTHER, one per element). */
    private static final Set<String> ELEMENTWISE_ARITHMETIC;
    private static final Set<String> POOLS = Set.of("MaxPool", "AveragePool", "LpPool");
    private static final Set<String> GLOBAL_POOLS = Set.of("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool");
    private static final Set<String> REDUCTIONS = Set.of("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
        "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin");

    static {
        Set<String> s = new HashSet<>(SAME_SHAPE);
        s.addAll(BROADCAST);
        s.removeAll(Set.of("Dropout", "Identity", "Cast", "CastLike", "Not", "IsNaN", "IsInf", "Trilu", "Equal",
            "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor", "Where", "BitShift"));
        s.add("Resize");
        s.add("Upsample");
        ELEMENTWISE_ARITHMETIC = Set.copyOf(s);
    }

    private MacEstimator() {
    }

    /** {@link #estimate(OnnxModel, Map)} with only the shapes the model itself declares. */
    public static MacEstimate estimate(OnnxModel model) {
        return estimate(model, Map.of());
    }

    /**
     * @param shapes tensor name → dims known to the caller (may be empty; a negative dim counts as unknown); these
     *               win over what the model declares
     */
    public static MacEstimate estimate(OnnxModel model, Map<String, long[]> shapes) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(shapes, "shapes");
        return new Count(model, shapes).run();
    }

    /** One estimate's state: known shapes, known small integer values (shape tensors), weight tensors. */
    private static final class Count {
        private final OnnxModel model;
        private final Map<String, long[]> shape = new HashMap<>();
        private final Map<String, long[]> intValues = new HashMap<>();
        private final Map<String, float[]> floatValues = new HashMap<>();
        private final Set<String> weights = new HashSet<>();
        private final Map<OpFamily, Long> macs = new EnumMap<>(OpFamily.class);
        private final Map<OpFamily, Integer> nodes = new EnumMap<>(OpFamily.class);
        private final List<String> unknown = new ArrayList<>();
        private int unknownOther;
        private boolean batchAssumed;

        Count(OnnxModel model, Map<String, long[]> given) {
            this.model = model;
            OnnxMl.GraphProto g = model.graph();
            for (OnnxMl.TensorProto t : g.getInitializerList()) {
                shape.put(t.getName(), Tensors.dims(t));
                weights.add(t.getName());
                readInts(t.getName(), t);
            }
            for (OnnxMl.ValueInfoProto vi : g.getValueInfoList()) {
                putStatic(vi);
            }
            for (OnnxMl.ValueInfoProto vi : g.getOutputList()) {
                putStatic(vi);
            }
            for (OnnxMl.ValueInfoProto vi : g.getInputList()) {
                if (weights.contains(vi.getName()) || !hasShape(vi)) {
                    continue;
                }
                long[] s = OnnxModel.ValueInfo.of(vi).shape().clone();
                boolean restStatic = s.length > 0;
                for (int i = 1; i < s.length; i++) {
                    restStatic &= s[i] >= 0;
                }
                if (restStatic && s[0] < 0 && !given.containsKey(vi.getName())) {
                    s[0] = 1;
                    batchAssumed = true;
                }
                shape.put(vi.getName(), s);
            }
            given.forEach((name, dims) -> {
                if (name != null && dims != null) {
                    shape.put(name, dims.clone());
                }
            });
        }

        /** A value info's shape when it declares one (no shape at all is not a scalar) with every dim fixed. */
        private void putStatic(OnnxMl.ValueInfoProto vi) {
            long[] dims = OnnxModel.ValueInfo.of(vi).shape();
            if (hasShape(vi) && known(dims)) {
                shape.put(vi.getName(), dims);
            }
        }

        private static boolean hasShape(OnnxMl.ValueInfoProto vi) {
            return vi.hasType() && vi.getType().hasTensorType() && vi.getType().getTensorType().hasShape();
        }

        private void readInts(String name, OnnxMl.TensorProto t) {
            try {
                if (t.getDimsCount() > 1 || Tensors.elementCount(Tensors.dims(t)) > 64) {
                    return; // shape-like values only: a few entries
                }
                if (t.getDataType() == OnnxMl.TensorProto.DataType.INT64_VALUE) {
                    intValues.put(name, Tensors.toLongArray(t));
                } else if (t.getDataType() == OnnxMl.TensorProto.DataType.INT32_VALUE) {
                    intValues.put(name, java.util.Arrays.stream(Tensors.toIntArray(t)).asLongStream().toArray());
                } else if (t.getDataType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE) {
                    floatValues.put(name, Tensors.toFloatArray(t)); // Resize/Upsample scales
                }
            } catch (RuntimeException unreadable) {
                // external data or a malformed tensor: its values stay unknown, which only means fewer shapes
            }
        }

        MacEstimate run() {
            for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
                try {
                    constantness(n);
                    infer(n);
                    count(n);
                } catch (RuntimeException odd) {
                    // a graph this estimate cannot follow (bad attribute, overflow): the node stays uncounted
                    if (family(n) != OpFamily.OTHER) {
                        unknown.add(describe(n));
                    }
                }
            }
            return new MacEstimate(macs, nodes, unknown, unknownOther, batchAssumed);
        }

        // ---- weights ----

        private void constantness(OnnxMl.NodeProto n) {
            if (n.getOpType().equals("Constant")) {
                for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                    String out = n.getOutput(0);
                    switch (a.getName()) {
                        case "value" -> {
                            shape.putIfAbsent(out, Tensors.dims(a.getT()));
                            readInts(out, a.getT());
                        }
                        case "value_ints" -> {
                            shape.putIfAbsent(out, new long[] {a.getIntsCount()});
                            intValues.put(out, a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                        }
                        case "value_floats" -> shape.putIfAbsent(out, new long[] {a.getFloatsCount()});
                        case "value_int" -> {
                            shape.putIfAbsent(out, new long[0]);
                            intValues.put(out, new long[] {a.getI()});
                        }
                        case "value_float" -> shape.putIfAbsent(out, new long[0]);
                        default -> { }
                    }
                    weights.add(out);
                }
                return;
            }
            boolean allConstant = false;
            for (String in : n.getInputList()) {
                if (in.isEmpty()) {
                    continue;
                }
                if (!weights.contains(in)) {
                    return;
                }
                allConstant = true;
            }
            if (allConstant) {
                weights.addAll(n.getOutputList());
            }
        }

        // ---- shapes ----

        private long[] s(String name) {
            if (name.isEmpty()) {
                return null;
            }
            long[] v = shape.get(name);
            return v != null && known(v) ? v : null;
        }

        private void put(String name, long[] dims) {
            if (dims != null && !name.isEmpty() && s(name) == null) {
                shape.put(name, dims);
            }
        }

        private void infer(OnnxMl.NodeProto n) {
            String op = n.getOpType();
            if (n.getOutputCount() == 0) {
                return;
            }
            String out = n.getOutput(0);
            long[] x = s(Nodes.input(n, 0));
            if (SAME_SHAPE.contains(op)) {
                put(out, x);
                if (op.equals("SkipLayerNormalization") && n.getOutputCount() > 3) {
                    put(n.getOutput(3), x);
                }
            } else if (BROADCAST.contains(op)) {
                long[] r = x;
                for (int i = 1; i < n.getInputCount() && r != null; i++) {
                    r = broadcast(r, s(n.getInput(i)));
                }
                put(out, r);
            } else {
                switch (op) {
                    case "Conv", "ConvInteger" -> put(out, convOut(n, x, s(Nodes.input(n, 1))));
                    case "ConvTranspose" -> put(out, convTransposeOut(n, x, s(Nodes.input(n, 1))));
                    case "MaxPool", "AveragePool", "LpPool" -> put(out, poolOut(n, x));
                    case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool" -> {
                        if (x != null && x.length >= 2) {
                            long[] r = x.clone();
                            for (int i = 2; i < r.length; i++) {
                                r[i] = 1;
                            }
                            put(out, r);
                        }
                    }
                    case "MatMul", "MatMulInteger" -> put(out, matmulOut(x, s(Nodes.input(n, 1))));
                    case "Gemm" -> put(out, gemmOut(n, x, s(Nodes.input(n, 1))));
                    case "Einsum" -> {
                        Map<Character, Long> sizes = einsumSizes(n);
                        String eq = equation(n);
                        if (sizes != null && eq.contains("->")) {
                            String o = eq.substring(eq.indexOf("->") + 2);
                            long[] r = new long[o.length()];
                            for (int i = 0; i < r.length; i++) {
                                r[i] = sizes.get(o.charAt(i));
                            }
                            put(out, r);
                        }
                    }
                    case "Flatten" -> put(out, flattenOut(n, x));
                    case "Reshape" -> put(out, reshapeOut(x, intValues.get(Nodes.input(n, 1))));
                    case "Transpose" -> put(out, transposeOut(n, x));
                    case "Squeeze" -> put(out, squeezeOut(x, axes(n)));
                    case "Unsqueeze" -> put(out, unsqueezeOut(x, axes(n)));
                    case "Concat" -> put(out, concatOut(n));
                    case "Gather" -> put(out, gatherOut(n, x));
                    case "Shape" -> {
                        if (x != null) {
                            put(out, new long[] {x.length});
                            intValues.put(out, x.clone());
                        }
                    }
                    case "LSTM", "GRU", "RNN" -> recurrentOut(n, x);
                    case "Attention", "MultiHeadAttention" -> put(out, x);
                    case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                         "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare" -> put(out, reduceOut(n, x));
                    case "Pad" -> put(out, padOut(n, x));
                    case "Slice" -> put(out, sliceOut(n, x));
                    case "Resize", "Upsample" -> put(out, resizeOut(n, x));
                    default -> { }
                }
            }
            propagateInts(n);
        }

        /** Small integer tensors computed from shapes (Shape → Gather → Concat → Reshape chains). */
        private void propagateInts(OnnxMl.NodeProto n) {
            if (n.getOutputCount() == 0) {
                return;
            }
            String out = n.getOutput(0);
            switch (n.getOpType()) {
                case "Cast", "Identity", "Squeeze", "Unsqueeze" -> {
                    long[] v = intValues.get(Nodes.input(n, 0));
                    if (v != null) {
                        intValues.put(out, v);
                    }
                }
                case "Slice" -> {
                    long[] v = intValues.get(Nodes.input(n, 0));
                    long[] sliced = v == null ? null : sliceOut(n, new long[] {v.length});
                    long[] start = v == null ? null : sliceStart(n, v.length);
                    if (sliced != null && start != null) {
                        intValues.put(out, java.util.Arrays.copyOfRange(v, (int) start[0], (int) (start[0] + sliced[0])));
                    }
                }
                case "Concat" -> {
                    List<Long> all = new ArrayList<>();
                    for (String in : n.getInputList()) {
                        long[] v = intValues.get(in);
                        if (v == null) {
                            return;
                        }
                        for (long e : v) {
                            all.add(e);
                        }
                    }
                    intValues.put(out, all.stream().mapToLong(Long::longValue).toArray());
                }
                case "Gather" -> {
                    long[] data = intValues.get(Nodes.input(n, 0));
                    long[] idx = intValues.get(Nodes.input(n, 1));
                    if (data != null && idx != null) {
                        long[] r = new long[idx.length];
                        for (int i = 0; i < idx.length; i++) {
                            r[i] = data[(int) (idx[i] < 0 ? idx[i] + data.length : idx[i])];
                        }
                        intValues.put(out, r);
                    }
                }
                default -> { }
            }
        }

        private long[] axes(OnnxMl.NodeProto n) {
            var attr = Nodes.attribute(n, "axes");
            if (attr.isPresent()) {
                return attr.get().getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
            String in = Nodes.input(n, 1);
            return in.isEmpty() ? null : intValues.get(in);
        }

        private long[] ints(OnnxMl.NodeProto n, String name, long[] defaultValue) {
            return Nodes.attribute(n, name).map(a -> a.getIntsList().stream().mapToLong(Long::longValue).toArray())
                .orElse(defaultValue);
        }

        private long[] convOut(OnnxMl.NodeProto n, long[] x, long[] w) {
            if (x == null || w == null || x.length < 3 || w.length != x.length) {
                return null;
            }
            long[] kernel = java.util.Arrays.copyOfRange(w, 2, w.length);
            long[] r = spatial(n, x, kernel, false);
            if (r != null) {
                r[1] = w[0];
            }
            return r;
        }

        private long[] poolOut(OnnxMl.NodeProto n, long[] x) {
            long[] kernel = ints(n, "kernel_shape", null);
            if (x == null || kernel == null || x.length != kernel.length + 2) {
                return null;
            }
            return spatial(n, x, kernel, Nodes.intAttribute(n, "ceil_mode", 0) == 1);
        }

        /** [N, C, out…] with out from the ONNX Conv / pool formula; C copied from x. */
        private long[] spatial(OnnxMl.NodeProto n, long[] x, long[] kernel, boolean ceil) {
            int d = kernel.length;
            long[] strides = ints(n, "strides", filled(d, 1));
            long[] dilations = ints(n, "dilations", filled(d, 1));
            long[] pads = ints(n, "pads", filled(2 * d, 0));
            String autoPad = Nodes.attribute(n, "auto_pad").map(a -> a.getS().toStringUtf8()).orElse("NOTSET");
            long[] r = x.clone();
            for (int i = 0; i < d; i++) {
                long in = x[2 + i];
                long effective = dilations[i] * (kernel[i] - 1) + 1;
                long o;
                if (autoPad.startsWith("SAME")) {
                    o = ceilDiv(in, strides[i]);
                } else if (autoPad.equals("VALID")) {
                    o = ceilDiv(in - effective + 1, strides[i]);
                } else {
                    long span = in + pads[i] + pads[i + d] - effective;
                    o = (ceil ? ceilDiv(span, strides[i]) : Math.floorDiv(span, strides[i])) + 1;
                }
                if (o <= 0) {
                    return null;
                }
                r[2 + i] = o;
            }
            return r;
        }

        private long[] convTransposeOut(OnnxMl.NodeProto n, long[] x, long[] w) {
            if (x == null || w == null || x.length < 3 || w.length != x.length) {
                return null;
            }
            int d = x.length - 2;
            long[] r = x.clone();
            r[1] = w[1] * Nodes.intAttribute(n, "group", 1);
            long[] outputShape = ints(n, "output_shape", null);
            long[] strides = ints(n, "strides", filled(d, 1));
            long[] dilations = ints(n, "dilations", filled(d, 1));
            long[] pads = ints(n, "pads", filled(2 * d, 0));
            long[] outputPadding = ints(n, "output_padding", filled(d, 0));
            String autoPad = Nodes.attribute(n, "auto_pad").map(a -> a.getS().toStringUtf8()).orElse("NOTSET");
            for (int i = 0; i < d; i++) {
                if (outputShape != null) {
                    r[2 + i] = outputShape[outputShape.length - d + i];
                } else if (autoPad.startsWith("SAME")) {
                    r[2 + i] = x[2 + i] * strides[i];
                } else {
                    r[2 + i] = strides[i] * (x[2 + i] - 1) + outputPadding[i] + (w[2 + i] - 1) * dilations[i] + 1
                        - pads[i] - pads[i + d];
                }
            }
            return r;
        }

        private static long[] matmulOut(long[] a, long[] b) {
            if (a == null || b == null || a.length == 0 || b.length == 0) {
                return null;
            }
            long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
            long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
            long[] batch = broadcast(java.util.Arrays.copyOf(a2, a2.length - 2), java.util.Arrays.copyOf(b2, b2.length - 2));
            if (batch == null) {
                return null;
            }
            List<Long> r = new ArrayList<>();
            for (long v : batch) {
                r.add(v);
            }
            if (a.length > 1) {
                r.add(a2[a2.length - 2]);
            }
            if (b.length > 1) {
                r.add(b2[b2.length - 1]);
            }
            return r.stream().mapToLong(Long::longValue).toArray();
        }

        private static long[] gemmOut(OnnxMl.NodeProto n, long[] a, long[] b) {
            if (a == null || b == null || a.length != 2 || b.length != 2) {
                return null;
            }
            long m = Nodes.intAttribute(n, "transA", 0) == 1 ? a[1] : a[0];
            long cols = Nodes.intAttribute(n, "transB", 0) == 1 ? b[0] : b[1];
            return new long[] {m, cols};
        }

        private static long[] flattenOut(OnnxMl.NodeProto n, long[] x) {
            if (x == null) {
                return null;
            }
            int axis = (int) Nodes.intAttribute(n, "axis", 1);
            if (axis < 0) {
                axis += x.length;
            }
            long outer = 1;
            long inner = 1;
            for (int i = 0; i < x.length; i++) {
                if (i < axis) {
                    outer *= x[i];
                } else {
                    inner *= x[i];
                }
            }
            return new long[] {outer, inner};
        }

        private static long[] reshapeOut(long[] x, long[] target) {
            if (x == null || target == null) {
                return null;
            }
            long[] r = target.clone();
            int inferred = -1;
            long known = 1;
            for (int i = 0; i < r.length; i++) {
                if (r[i] == 0 && i < x.length) {
                    r[i] = x[i];
                }
                if (r[i] == -1) {
                    if (inferred >= 0) {
                        return null;
                    }
                    inferred = i;
                } else if (r[i] < 0) {
                    return null;
                } else {
                    known *= r[i];
                }
            }
            if (inferred >= 0) {
                long total = Tensors.elementCount(x);
                if (known == 0 || total % known != 0) {
                    return null;
                }
                r[inferred] = total / known;
            }
            return r;
        }

        private static long[] transposeOut(OnnxMl.NodeProto n, long[] x) {
            if (x == null) {
                return null;
            }
            long[] perm = Nodes.attribute(n, "perm").map(a -> a.getIntsList().stream().mapToLong(Long::longValue)
                .toArray()).orElse(null);
            long[] r = new long[x.length];
            for (int i = 0; i < x.length; i++) {
                r[i] = perm == null ? x[x.length - 1 - i] : x[(int) perm[i]];
            }
            return r;
        }

        private static long[] squeezeOut(long[] x, long[] axes) {
            if (x == null) {
                return null;
            }
            Set<Integer> drop = new HashSet<>();
            if (axes == null) {
                for (int i = 0; i < x.length; i++) {
                    if (x[i] == 1) {
                        drop.add(i);
                    }
                }
            } else {
                for (long a : axes) {
                    drop.add((int) (a < 0 ? a + x.length : a));
                }
            }
            List<Long> r = new ArrayList<>();
            for (int i = 0; i < x.length; i++) {
                if (!drop.contains(i)) {
                    r.add(x[i]);
                }
            }
            return r.stream().mapToLong(Long::longValue).toArray();
        }

        private static long[] unsqueezeOut(long[] x, long[] axes) {
            if (x == null || axes == null) {
                return null;
            }
            int rank = x.length + axes.length;
            Set<Integer> added = new HashSet<>();
            for (long a : axes) {
                added.add((int) (a < 0 ? a + rank : a));
            }
            long[] r = new long[rank];
            int j = 0;
            for (int i = 0; i < rank; i++) {
                r[i] = added.contains(i) ? 1 : x[j++];
            }
            return r;
        }

        private long[] concatOut(OnnxMl.NodeProto n) {
            long[] first = s(Nodes.input(n, 0));
            if (first == null) {
                return null;
            }
            int axis = (int) Nodes.intAttribute(n, "axis", 0);
            if (axis < 0) {
                axis += first.length;
            }
            long[] r = first.clone();
            for (int i = 1; i < n.getInputCount(); i++) {
                long[] other = s(n.getInput(i));
                if (other == null || other.length != r.length) {
                    return null;
                }
                r[axis] += other[axis];
            }
            return r;
        }

        private long[] gatherOut(OnnxMl.NodeProto n, long[] data) {
            long[] idx = s(Nodes.input(n, 1));
            if (data == null || idx == null) {
                return null;
            }
            int axis = (int) Nodes.intAttribute(n, "axis", 0);
            if (axis < 0) {
                axis += data.length;
            }
            long[] r = new long[data.length - 1 + idx.length];
            int j = 0;
            for (int i = 0; i < axis; i++) {
                r[j++] = data[i];
            }
            for (long v : idx) {
                r[j++] = v;
            }
            for (int i = axis + 1; i < data.length; i++) {
                r[j++] = data[i];
            }
            return r;
        }

        private void recurrentOut(OnnxMl.NodeProto n, long[] x) {
            long[] r = s(Nodes.input(n, 2));
            if (x == null || r == null || x.length != 3 || r.length != 3) {
                return;
            }
            boolean batchFirst = Nodes.intAttribute(n, "layout", 0) == 1;
            long seq = batchFirst ? x[1] : x[0];
            long batch = batchFirst ? x[0] : x[1];
            long dirs = r[0];
            long hidden = r[2];
            put(n.getOutput(0), batchFirst ? new long[] {batch, seq, dirs, hidden} : new long[] {seq, dirs, batch, hidden});
            for (int i = 1; i < n.getOutputCount(); i++) {
                put(n.getOutput(i), batchFirst ? new long[] {batch, dirs, hidden} : new long[] {dirs, batch, hidden});
            }
        }

        private long[] reduceOut(OnnxMl.NodeProto n, long[] x) {
            if (x == null) {
                return null;
            }
            long[] axes = axes(n);
            boolean keep = Nodes.intAttribute(n, "keepdims", 1) == 1;
            Set<Integer> reduced = new HashSet<>();
            if (axes == null || axes.length == 0) {
                if (Nodes.intAttribute(n, "noop_with_empty_axes", 0) == 1) {
                    return x;
                }
                for (int i = 0; i < x.length; i++) {
                    reduced.add(i);
                }
            } else {
                for (long a : axes) {
                    reduced.add((int) (a < 0 ? a + x.length : a));
                }
            }
            List<Long> r = new ArrayList<>();
            for (int i = 0; i < x.length; i++) {
                if (!reduced.contains(i)) {
                    r.add(x[i]);
                } else if (keep) {
                    r.add(1L);
                }
            }
            return r.stream().mapToLong(Long::longValue).toArray();
        }

        private long[] padOut(OnnxMl.NodeProto n, long[] x) {
            long[] pads = Nodes.attribute(n, "pads").map(a -> a.getIntsList().stream().mapToLong(Long::longValue)
                .toArray()).orElse(intValues.get(Nodes.input(n, 1)));
            if (x == null || pads == null || pads.length != 2 * x.length || !Nodes.input(n, 3).isEmpty()) {
                return null;
            }
            long[] r = x.clone();
            for (int i = 0; i < x.length; i++) {
                r[i] += pads[i] + pads[i + x.length];
            }
            return r;
        }

        /** Slice with starts/ends/axes/steps as attributes (opset &lt; 10) or constant inputs, clamped as ONNX says. */
        private long[] sliceOut(OnnxMl.NodeProto n, long[] x) {
            boolean attrs = Nodes.attribute(n, "starts").isPresent();
            long[] starts = attrs ? ints(n, "starts", null) : intValues.get(Nodes.input(n, 1));
            long[] ends = attrs ? ints(n, "ends", null) : intValues.get(Nodes.input(n, 2));
            if (x == null || starts == null || ends == null || starts.length != ends.length) {
                return null;
            }
            long[] axes = attrs ? ints(n, "axes", null) : Nodes.input(n, 3).isEmpty() ? null : intValues.get(n.getInput(3));
            long[] steps = attrs || Nodes.input(n, 4).isEmpty() ? null : intValues.get(n.getInput(4));
            if ((!attrs && !Nodes.input(n, 3).isEmpty() && axes == null) || (!attrs && !Nodes.input(n, 4).isEmpty() && steps == null)) {
                return null;
            }
            long[] r = x.clone();
            for (int i = 0; i < starts.length; i++) {
                int axis = (int) (axes == null ? i : axes[i] < 0 ? axes[i] + x.length : axes[i]);
                long dim = x[axis];
                long step = steps == null ? 1 : steps[i];
                long start = starts[i] < 0 ? starts[i] + dim : starts[i];
                long end = ends[i] < 0 ? ends[i] + dim : ends[i];
                if (step > 0) {
                    start = Math.clamp(start, 0, dim);
                    end = Math.clamp(end, 0, dim);
                    r[axis] = Math.max(0, ceilDiv(end - start, step));
                } else if (step < 0) {
                    start = Math.clamp(start, 0, dim - 1);
                    end = Math.clamp(end, -1, dim - 1);
                    r[axis] = Math.max(0, ceilDiv(start - end, -step));
                } else {
                    return null;
                }
            }
            return r;
        }

        /** The clamped start of a 1-D slice with step 1 on a tensor of {@code length}; null otherwise. */
        private long[] sliceStart(OnnxMl.NodeProto n, long length) {
            boolean attrs = Nodes.attribute(n, "starts").isPresent();
            long[] starts = attrs ? ints(n, "starts", null) : intValues.get(Nodes.input(n, 1));
            long[] steps = attrs || Nodes.input(n, 4).isEmpty() ? null : intValues.get(n.getInput(4));
            if (starts == null || starts.length != 1 || (steps != null && steps[0] != 1)) {
                return null;
            }
            long start = starts[0] < 0 ? starts[0] + length : starts[0];
            return new long[] {Math.clamp(start, 0, length)};
        }

        /**
         * Resize (X, roi, scales, sizes from opset 11; X, scales at opset 10) and Upsample (scales input, or attribute
         * at opset 7) with constant sizes or scales: {@code out = floor(in · scale)}.
         */
        private long[] resizeOut(OnnxMl.NodeProto n, long[] x) {
            if (x == null) {
                return null;
            }
            long[] sizes = intValues.get(Nodes.input(n, 3));
            if (sizes != null && sizes.length == x.length) {
                return sizes.clone();
            }
            float[] scales = n.getOpType().equals("Resize") && n.getInputCount() > 2
                ? floatValues.get(n.getInput(2)) : floatValues.get(Nodes.input(n, 1));
            var attr = Nodes.attribute(n, "scales");
            if (scales == null && attr.isPresent()) {
                scales = new float[attr.get().getFloatsCount()];
                for (int i = 0; i < scales.length; i++) {
                    scales[i] = attr.get().getFloats(i);
                }
            }
            if (scales == null || scales.length != x.length) {
                return null;
            }
            long[] r = new long[x.length];
            for (int i = 0; i < x.length; i++) {
                r[i] = (long) Math.floor(x[i] * (double) scales[i]);
            }
            return r;
        }

        // ---- MACs ----

        private OpFamily family(OnnxMl.NodeProto n) {
            return switch (n.getOpType()) {
                case "Conv", "ConvInteger", "ConvTranspose" -> OpFamily.CONVOLUTION;
                case "MatMul", "MatMulInteger", "Gemm", "Einsum" ->
                    weights.contains(Nodes.input(n, 0)) || weights.contains(Nodes.input(n, 1))
                        ? OpFamily.MATMUL : OpFamily.ATTENTION;
                case "Attention", "MultiHeadAttention" -> OpFamily.ATTENTION;
                case "LSTM", "GRU", "RNN" -> OpFamily.RECURRENT;
                default -> OpFamily.OTHER;
            };
        }

        private void count(OnnxMl.NodeProto n) {
            if (n.getOutputCount() > 0 && weights.contains(n.getOutput(0))) {
                return; // computed from weights only: folded ahead of time, not per inference
            }
            OpFamily f = family(n);
            long m = macsOf(n);
            if (m < 0) {
                if (f != OpFamily.OTHER) {
                    unknown.add(describe(n));
                } else {
                    unknownOther++;
                }
                return;
            }
            if (m == 0) {
                return; // data movement (or an empty tensor)
            }
            macs.merge(f, m, MacEstimate::saturatingAdd);
            nodes.merge(f, 1, Integer::sum);
        }

        /** MACs of one node; -1 when a shape it needs is unknown; 0 for data movement. */
        private long macsOf(OnnxMl.NodeProto n) {
            String op = n.getOpType();
            String out = n.getOutputCount() > 0 ? n.getOutput(0) : "";
            long[] x = s(Nodes.input(n, 0));
            long[] y = s(out);
            switch (op) {
                case "Conv", "ConvInteger" -> {
                    long[] w = s(Nodes.input(n, 1));
                    return y == null || w == null ? -1 : mul(prod(y), prod(w, 1));
                }
                case "ConvTranspose" -> {
                    long[] w = s(Nodes.input(n, 1));
                    return x == null || w == null ? -1 : mul(prod(x), prod(w, 1));
                }
                case "MatMul", "MatMulInteger" -> {
                    return y == null || x == null || x.length == 0 ? -1 : mul(prod(y), x[x.length - 1]);
                }
                case "Gemm" -> {
                    if (y == null || x == null || x.length != 2) {
                        return -1;
                    }
                    return mul(prod(y), Nodes.intAttribute(n, "transA", 0) == 1 ? x[0] : x[1]);
                }
                case "Einsum" -> {
                    Map<Character, Long> sizes = einsumSizes(n);
                    if (sizes == null) {
                        return -1;
                    }
                    long p = 1;
                    for (long v : sizes.values()) {
                        p = mul(p, v);
                    }
                    return n.getInputCount() < 2 ? 0 : p; // a contraction visits every index combination once
                }
                case "LSTM", "GRU", "RNN" -> {
                    long[] w = s(Nodes.input(n, 1));
                    long[] r = s(Nodes.input(n, 2));
                    if (x == null || w == null || r == null || x.length != 3) {
                        return -1;
                    }
                    return mul(mul(x[0], x[1]), prod(w) + prod(r)); // seq·batch in either layout
                }
                case "Attention" -> {
                    long[] w = s(Nodes.input(n, 1));
                    if (x == null || w == null || x.length != 3 || w.length != 2) {
                        return -1;
                    }
                    long tokens = x[0] * x[1];
                    return mul(tokens, prod(w)) + mul(mul(2 * tokens, x[1]), w[1] / 3);
                }
                case "MultiHeadAttention" -> {
                    long[] k = s(Nodes.input(n, 1));
                    if (x == null || k == null || x.length != 3 || k.length != 3) {
                        return -1;
                    }
                    return mul(mul(2 * x[0], x[1]), mul(k[1], x[2]));
                }
                default -> {
                    if (POOLS.contains(op)) {
                        long[] kernel = ints(n, "kernel_shape", null);
                        return y == null || kernel == null ? -1 : mul(prod(y), prod(kernel));
                    }
                    if (GLOBAL_POOLS.contains(op) || REDUCTIONS.contains(op)) {
                        return x == null ? -1 : prod(x);
                    }
                    if (ELEMENTWISE_ARITHMETIC.contains(op)) {
                        return y == null ? -1 : prod(y);
                    }
                    return 0;
                }
            }
        }

        private static String equation(OnnxMl.NodeProto n) {
            return Nodes.attribute(n, "equation").map(a -> a.getS().toStringUtf8()).orElse("").replace(" ", "");
        }

        /** Size of every index letter of an Einsum (explicit form, no ellipsis); null when a shape is unknown. */
        private Map<Character, Long> einsumSizes(OnnxMl.NodeProto n) {
            String eq = equation(n);
            if (eq.isEmpty() || eq.contains(".")) {
                return null;
            }
            String[] operands = (eq.contains("->") ? eq.substring(0, eq.indexOf("->")) : eq).split(",", -1);
            if (operands.length != n.getInputCount()) {
                return null;
            }
            Map<Character, Long> sizes = new HashMap<>();
            for (int i = 0; i < operands.length; i++) {
                long[] dims = s(n.getInput(i));
                if (dims == null || dims.length != operands[i].length()) {
                    return null;
                }
                for (int j = 0; j < dims.length; j++) {
                    sizes.merge(operands[i].charAt(j), dims[j], Math::max);
                }
            }
            return sizes;
        }

        private static String describe(OnnxMl.NodeProto n) {
            return n.getOpType() + " '" + (n.getName().isEmpty() ? n.getOutput(0) : n.getName()) + "'";
        }
    }

    // ---- arithmetic on dims ----

    static boolean known(long[] dims) {
        for (long d : dims) {
            if (d < 0) {
                return false;
            }
        }
        return true;
    }

    private static long prod(long[] dims) {
        return prod(dims, 0);
    }

    private static long prod(long[] dims, int from) {
        long p = 1;
        for (int i = from; i < dims.length; i++) {
            p = mul(p, dims[i]);
        }
        return p;
    }

    private static long mul(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return (hi == 0 && lo >= 0) || (hi == -1 && lo < 0) ? lo : Long.MAX_VALUE;
    }

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }

    private static long[] filled(int n, long v) {
        long[] r = new long[n];
        java.util.Arrays.fill(r, v);
        return r;
    }

    /** NumPy broadcasting of two shapes; null when either is unknown or they do not broadcast. */
    static long[] broadcast(long[] a, long[] b) {
        if (a == null || b == null) {
            return null;
        }
        int rank = Math.max(a.length, b.length);
        long[] r = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                return null;
            }
            r[i] = da == 1 ? db : da;
        }
        return r;
    }
}
