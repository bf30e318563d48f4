package dev.quantflow.onnx;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import ai.onnx.proto.OnnxMl;

/**
 * Moves a model that imports ai.onnx at opset 7..16 to a newer opset (13..17), rewriting the operators whose meaning
 * or signature changed on the way. Pure graph rewriting: no ONNX Runtime.
 *
 * <p>What changed, and what this does about it (from the ONNX operator changelog):
 * <ul>
 *   <li>{@code Softmax}, {@code LogSoftmax}, {@code Hardmax} (&lt; 13): the input is coerced to 2-D at {@code axis}
 *       (default 1) and normalised over everything from {@code axis} on; from 13 only over {@code axis}. When the
 *       input shape is known (the {@code shapes} map) and at most one dimension from {@code axis} on is not 1, the op
 *       just gets that dimension as its axis (e.g. {@code axis = -1} for a [N, C] input). Otherwise the old meaning is
 *       written out exactly: {@code Reshape(op(Flatten(x, axis), axis=-1), Shape(x))}.</li>
 *   <li>{@code Squeeze}, {@code Unsqueeze}, {@code ReduceSum} (&lt; 13): the {@code axes} attribute became an int64
 *       input; {@code Split} (&lt; 13): {@code split} became an input. Moved into an int64 initializer.</li>
 *   <li>{@code Clip} (&lt; 11): {@code min}/{@code max} attributes (defaults ∓FLT_MAX) became optional scalar inputs;
 *       moved into float scalar initializers (Clip-6 takes only float types; a float input is assumed).</li>
 *   <li>{@code Pad} (&lt; 11): {@code pads} and {@code value} attributes became inputs (int64 pads, a float scalar
 *       constant value); {@code mode} stays an attribute.</li>
 *   <li>{@code Slice} (&lt; 10): {@code starts}/{@code ends}/{@code axes} attributes became int64 inputs.</li>
 *   <li>{@code TopK} (&lt; 10): the {@code k} attribute became an int64 [1] input.</li>
 *   <li>{@code Upsample} (deprecated at 10): becomes {@code Resize} with the same arithmetic: coordinate transform
 *       {@code asymmetric}, {@code nearest_mode = floor} for nearest, scales from the attribute (opset 7/8) or the
 *       input (opset 9).</li>
 *   <li>{@code Resize} (10): gets the empty {@code roi} input and, as ONNX's own 10→11 adapter does, coordinate
 *       transform {@code asymmetric} and {@code nearest_mode = floor}. Resize-11/12 means the same at 13..17 (its
 *       {@code tf_half_pixel_for_nn} mode is deprecated from 13 but still defined; ONNX Runtime warns and runs it).</li>
 *   <li>{@code BatchNormalization} (&lt; 9): {@code spatial = 1} (the default) and {@code is_test} /
 *       {@code consumed_inputs} dropped; {@code spatial = 0} or training outputs in use are refused.</li>
 *   <li>{@code Dropout} (&lt; 12): {@code ratio} became an input; {@code is_test} dropped. Opset-7..9 Dropout's mask
 *       was of the data type (bool from 10): a mask in use there is refused.</li>
 *   <li>{@code Scatter} (deprecated at 11): renamed {@code ScatterElements} (same arithmetic).</li>
 *   <li>{@code RoiAlign} (&lt; 16, when moving to 16 or newer): the new {@code coordinate_transformation_mode}
 *       attribute defaults to {@code half_pixel}; the old behaviour is written as {@code output_half_pixel}.</li>
 *   <li>Every other operator in {@link #UNCHANGED} kept its meaning from opset 7 to 17: later versions only added
 *       types, optional inputs/outputs or attributes whose defaults reproduce the old behaviour.</li>
 * </ul>
 * Subgraphs (If/Loop/Scan bodies) are not rewritten: a subgraph using an op that needs a rewrite is refused. Opsets
 * below 7 (pre-broadcasting Add/Mul with a {@code broadcast} attribute) and other domains are refused too; the
 * refusal names every offending op and the opset.
 */
public final class OpsetUpgrade {

    /** Highest opset this class moves models to (see {@code ModelPreparation} for why the preparation picks it). */
    public static final long MAX_TARGET = 17;
    /** Lowest source opset understood. */
    public static final long MIN_SOURCE = 7;

    /** Default-domain ops whose opset-7..16 meaning is unchanged at 17. */
    static final Set<String> UNCHANGED = Set.of("Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin",
        "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "Cast", "Ceil", "Celu", "Compress",
        "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace",
        "DequantizeLinear", "Div", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten", "Floor",
        "GRU", "Gather", "GatherElements", "GatherND", "Gemm", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool",
        "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Identity", "If", "InstanceNormalization", "IsInf",
        "IsNaN", "LRN", "LSTM", "LeakyRelu", "Less", "LessOrEqual", "Log", "Loop", "LpNormalization", "LpPool",
        "MatMul", "Max", "MaxPool", "MaxRoiPool", "MaxUnpool", "Mean", "MeanVarianceNormalization", "Min", "Mod",
        "Mul", "Neg", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or", "PRelu", "Pow", "QuantizeLinear", "RNN",
        "Range", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
        "ReduceMin", "ReduceProd", "ReduceSumSquare", "Relu", "Reshape", "ReverseSequence", "Round",
        "ScatterElements", "ScatterND", "Selu", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size",
        "Softplus", "Softsign", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tan", "Tanh", "ThresholdedRelu", "Tile",
        "Transpose", "Trilu", "Unique", "Where", "Xor");
    /** Ops unchanged from the given opset on (a model below it needs the rewrite this class knows). */
    private static final Map<String, Long> SAME_FROM = Map.ofEntries(
        Map.entry("Softmax", 13L), Map.entry("LogSoftmax", 13L), Map.entry("Hardmax", 13L),
        Map.entry("Squeeze", 13L), Map.entry("Unsqueeze", 13L), Map.entry("ReduceSum", 13L), Map.entry("Split", 13L),
        Map.entry("Clip", 11L), Map.entry("Pad", 11L), Map.entry("Slice", 10L), Map.entry("TopK", 10L),
        Map.entry("Resize", 11L), Map.entry("BatchNormalization", 9L), Map.entry("Dropout", 12L),
        Map.entry("Upsample", Long.MAX_VALUE), Map.entry("Scatter", Long.MAX_VALUE), Map.entry("RoiAlign", 16L),
        Map.entry("Scan", 9L));
    private static final Set<String> COERCED_2D = Set.of("Softmax", "LogSoftmax", "Hardmax");

    private OpsetUpgrade() {
    }

    /** The upgraded model, the opsets, and how many nodes of each op type were rewritten. */
    public record Result(OnnxModel model, long opsetFrom, long opsetTo, Map<String, Integer> upgradedOps) {
    }

    /** Op types (domain-qualified when not ai.onnx) that keep {@code model} from being moved to opset 13. */
    public static Set<String> blockersForOpset13(OnnxModel model) {
        return blockers(model, 13);
    }

    /**
     * Op types (and opset remarks) that keep {@code model} from being moved to {@code target}; empty when it can be.
     * Ops in subgraphs count: they are not rewritten.
     */
    public static Set<String> blockers(OnnxModel model, long target) {
        checkTarget(target);
        Set<String> blockers = new TreeSet<>();
        long opset = model.opsetVersion();
        if (opset < MIN_SOURCE) {
            blockers.add("opset " + opset + " (only opset " + MIN_SOURCE + " and newer are upgraded)");
        }
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (!isDefaultDomain(n)) {
                blockers.add(n.getDomain() + ":" + n.getOpType());
            } else if (!UNCHANGED.contains(n.getOpType()) && !SAME_FROM.containsKey(n.getOpType())) {
                blockers.add(n.getOpType());
            } else if (n.getOpType().equals("Scan") && opset < 9) {
                blockers.add("Scan (opset-8 signature)");
            }
            collectSubgraphBlockers(n, opset, blockers);
        }
        return blockers;
    }

    /**
     * The same model at opset 13 (returned as is when already at 13 or newer).
     *
     * @throws OnnxFormatException naming the op types that cannot be moved (see {@link #blockersForOpset13})
     */
    public static OnnxModel toOpset13(OnnxModel model) {
        if (model.opsetVersion() >= 13) {
            return model;
        }
        return upgrade(model, 13, Map.of()).model();
    }

    /**
     * Moves {@code model} to {@code target} (13..{@value #MAX_TARGET}); a model already at or above it is returned as
     * is. {@code shapes} maps tensor names to known shapes (may be empty): they let Softmax-like ops keep a single
     * node.
     *
     * @throws OnnxFormatException naming the ops and the opset when something cannot be moved
     */
    public static Result upgrade(OnnxModel model, long target, Map<String, long[]> shapes) {
        checkTarget(target);
        long from = model.opsetVersion();
        if (from >= target) {
            return new Result(model, from, from, Map.of());
        }
        Set<String> blockers = blockers(model, target);
        if (!blockers.isEmpty()) {
            throw new OnnxFormatException("cannot move the model from opset " + from + " to " + target + ": "
                + blockers + " cannot be upgraded; re-export it at opset " + target + " or newer");
        }
        GraphEditor editor = GraphEditor.of(model);
        Map<String, Integer> upgraded = new TreeMap<>();
        for (OnnxMl.NodeProto node : editor.nodes()) {
            String op = node.getOpType();
            Long sameFrom = SAME_FROM.get(op);
            if (sameFrom == null || from >= sameFrom) {
                continue;
            }
            boolean changed = switch (op) {
                case "Squeeze", "Unsqueeze", "ReduceSum" -> attributeToInt64Input(editor, node, "axes", 1);
                case "Split" -> attributeToInt64Input(editor, node, "split", 1);
                case "Softmax", "LogSoftmax", "Hardmax" -> rewriteCoerced2d(editor, node, shapes);
                case "Clip" -> rewriteClip6(editor, node);
                case "Pad" -> rewritePad2(editor, node);
                case "Slice" -> rewriteSlice1(editor, node);
                case "TopK" -> attributeToInt64Input(editor, node, "k", 1);
                case "Upsample" -> rewriteUpsample(editor, node, from);
                case "Resize" -> rewriteResize10(editor, node);
                case "BatchNormalization" -> rewriteBatchNorm(editor, node);
                case "Dropout" -> rewriteDropout(editor, node, from);
                case "Scatter" -> replace(editor, node, node.toBuilder().setOpType("ScatterElements").build());
                case "RoiAlign" -> target >= 16 && rewriteRoiAlign(editor, node);
                case "Scan" -> false;
                default -> throw new IllegalStateException(op);
            };
            if (changed) {
                upgraded.merge(op, 1, Integer::sum);
            }
        }
        return new Result(editor.build().withOpsetVersion(target), from, target, upgraded);
    }

    private static void checkTarget(long target) {
        if (target < 13 || target > MAX_TARGET) {
            throw new IllegalArgumentException("target opset must be 13.." + MAX_TARGET + ", was " + target);
        }
    }

    private static boolean isDefaultDomain(OnnxMl.NodeProto n) {
        return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
    }

    private static void collectSubgraphBlockers(OnnxMl.NodeProto node, long opset, Set<String> into) {
        for (OnnxMl.AttributeProto a : node.getAttributeList()) {
            List<OnnxMl.GraphProto> graphs = new ArrayList<>(a.getGraphsList());
            if (a.hasG()) {
                graphs.add(a.getG());
            }
            for (OnnxMl.GraphProto g : graphs) {
                for (OnnxMl.NodeProto n : g.getNodeList()) {
                    Long sameFrom = SAME_FROM.get(n.getOpType());
                    if (!isDefaultDomain(n) || !(UNCHANGED.contains(n.getOpType())
                        || (sameFrom != null && opset >= sameFrom))) {
                        into.add(n.getOpType() + " inside the subgraph of " + node.getOpType()
                            + " (subgraphs are not rewritten)");
                    }
                    collectSubgraphBlockers(n, opset, into);
                }
            }
        }
    }

    private static boolean replace(GraphEditor editor, OnnxMl.NodeProto node, OnnxMl.NodeProto replacement) {
        editor.replaceNode(node.getName(), List.of(replacement));
        return true;
    }

    private static OnnxMl.NodeProto.Builder withoutAttributes(OnnxMl.NodeProto node, String... names) {
        Set<String> drop = Set.of(names);
        OnnxMl.NodeProto.Builder b = node.toBuilder().clearAttribute();
        node.getAttributeList().stream().filter(a -> !drop.contains(a.getName())).forEach(b::addAttribute);
        return b;
    }

    /** Puts {@code tensorName} at input {@code index}, padding skipped optional inputs with "". */
    private static void setInput(OnnxMl.NodeProto.Builder b, int index, String tensorName) {
        List<String> inputs = new ArrayList<>(b.getInputList());
        while (inputs.size() <= index) {
            inputs.add("");
        }
        inputs.set(index, tensorName);
        while (!inputs.isEmpty() && inputs.get(inputs.size() - 1).isEmpty()) {
            inputs.remove(inputs.size() - 1);
        }
        b.clearInput().addAllInput(inputs);
    }

    private static String int64Initializer(GraphEditor editor, OnnxMl.NodeProto node, String suffix, long[] values) {
        String name = editor.uniqueName(node.getName() + "_" + suffix);
        editor.putInitializer(Tensors.int64Tensor(name, new long[] {values.length}, values));
        return name;
    }

    private static String floatScalar(GraphEditor editor, OnnxMl.NodeProto node, String suffix, float value) {
        String name = editor.uniqueName(node.getName() + "_" + suffix);
        editor.putInitializer(Tensors.floatTensor(name, new long[0], new float[] {value}));
        return name;
    }

    private static long[] ints(OnnxMl.AttributeProto a) {
        if (a.getType() == OnnxMl.AttributeProto.AttributeType.INT) {
            return new long[] {a.getI()};
        }
        return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    private static boolean attributeToInt64Input(GraphEditor editor, OnnxMl.NodeProto node, String attribute,
                                                 int index) {
        var attr = Nodes.attribute(node, attribute);
        if (attr.isEmpty()) {
            return false;
        }
        String name = int64Initializer(editor, node, attribute, ints(attr.get()));
        OnnxMl.NodeProto.Builder b = withoutAttributes(node, attribute);
        setInput(b, index, name);
        return replace(editor, node, b.build());
    }

    private static boolean rewriteCoerced2d(GraphEditor editor, OnnxMl.NodeProto node, Map<String, long[]> shapes) {
        long axis = Nodes.intAttribute(node, "axis", 1);
        OnnxMl.NodeProto.Builder op = withoutAttributes(node, "axis");
        long[] shape = shapes.get(node.getInput(0));
        if (shape != null) {
            int rank = shape.length;
            long a = axis < 0 ? axis + rank : axis;
            int notOne = -1;
            int count = 0;
            for (int i = (int) a; i < rank; i++) {
                if (shape[i] != 1) {
                    notOne = i;
                    count++;
                }
            }
            if (count <= 1 && a >= 0 && a < rank) {
                op.addAttribute(Nodes.intAttribute("axis", count == 0 ? -1 : notOne - rank));
                return replace(editor, node, op.build());
            }
        }
        op.addAttribute(Nodes.intAttribute("axis", -1));
        if (axis == -1) {
            return replace(editor, node, op.build());
        }
        String x = node.getInput(0);
        String base = node.getName();
        String flat = editor.uniqueName(base + "_2d_in");
        String normalized = editor.uniqueName(base + "_2d_out");
        String shapeName = editor.uniqueName(base + "_in_shape");
        OnnxMl.NodeProto flatten = Nodes.create("Flatten", editor.uniqueName(base + "_flatten"), List.of(x),
            List.of(flat), Nodes.intAttribute("axis", axis));
        OnnxMl.NodeProto shapeOf = Nodes.create("Shape", editor.uniqueName(base + "_shape"), List.of(x),
            List.of(shapeName));
        OnnxMl.NodeProto reshape = Nodes.create("Reshape", editor.uniqueName(base + "_reshape"),
            List.of(normalized, shapeName), List.of(node.getOutput(0)));
        op.clearInput().addInput(flat).clearOutput().addOutput(normalized);
        editor.replaceNode(node.getName(), List.of(flatten, op.build(), shapeOf, reshape));
        return true;
    }

    private static boolean rewriteClip6(GraphEditor editor, OnnxMl.NodeProto node) {
        OnnxMl.NodeProto.Builder b = withoutAttributes(node, "min", "max").clearInput().addInput(node.getInput(0));
        var min = Nodes.attribute(node, "min");
        var max = Nodes.attribute(node, "max");
        if (min.isPresent()) {
            setInput(b, 1, floatScalar(editor, node, "min", min.get().getF()));
        }
        if (max.isPresent()) {
            setInput(b, 2, floatScalar(editor, node, "max", max.get().getF()));
        }
        return replace(editor, node, b.build());
    }

    private static boolean rewritePad2(GraphEditor editor, OnnxMl.NodeProto node) {
        var pads = Nodes.attribute(node, "pads");
        if (pads.isEmpty()) {
            throw new OnnxFormatException("Pad node '" + node.getName() + "' (opset < 11) has no pads attribute");
        }
        OnnxMl.NodeProto.Builder b = withoutAttributes(node, "pads", "value", "paddings");
        setInput(b, 1, int64Initializer(editor, node, "pads", ints(pads.get())));
        float value = Nodes.floatAttribute(node, "value", 0f);
        String mode = Nodes.attribute(node, "mode").map(a -> a.getS().toStringUtf8()).orElse("constant");
        if (mode.equals("constant") && value != 0f) {
            setInput(b, 2, floatScalar(editor, node, "value", value));
        }
        return replace(editor, node, b.build());
    }

    private static boolean rewriteSlice1(GraphEditor editor, OnnxMl.NodeProto node) {
        var starts = Nodes.attribute(node, "starts");
        var ends = Nodes.attribute(node, "ends");
        if (starts.isEmpty() || ends.isEmpty()) {
            throw new OnnxFormatException("Slice node '" + node.getName() + "' (opset < 10) lacks starts/ends");
        }
        OnnxMl.NodeProto.Builder b = withoutAttributes(node, "starts", "ends", "axes")
            .clearInput().addInput(node.getInput(0));
        setInput(b, 1, int64Initializer(editor, node, "starts", ints(starts.get())));
        setInput(b, 2, int64Initializer(editor, node, "ends", ints(ends.get())));
        var axes = Nodes.attribute(node, "axes");
        if (axes.isPresent()) {
            setInput(b, 3, int64Initializer(editor, node, "axes", ints(axes.get())));
        }
        return replace(editor, node, b.build());
    }

    /** Resize attributes reproducing Upsample / Resize-10 arithmetic. */
    private static void addLegacyResizeModes(OnnxMl.NodeProto.Builder b, String mode) {
        b.addAttribute(Nodes.stringAttribute("mode", mode));
        b.addAttribute(Nodes.stringAttribute("coordinate_transformation_mode", "asymmetric"));
        if (mode.equals("nearest")) {
            b.addAttribute(Nodes.stringAttribute("nearest_mode", "floor"));
        }
    }

    private static String legacyMode(OnnxMl.NodeProto node) {
        String mode = Nodes.attribute(node, "mode").map(a -> a.getS().toStringUtf8()).orElse("nearest");
        return switch (mode) {
            case "nearest" -> "nearest";
            case "linear", "bilinear" -> "linear";
            default -> throw new OnnxFormatException(node.getOpType() + " node '" + node.getName() + "': mode '"
                + mode + "' cannot be upgraded");
        };
    }

    private static boolean rewriteUpsample(GraphEditor editor, OnnxMl.NodeProto node, long from) {
        String mode = legacyMode(node);
        String scales;
        if (from < 9) {
            var attr = Nodes.attribute(node, "scales");
            if (attr.isEmpty()) {
                throw new OnnxFormatException("Upsample node '" + node.getName() + "' has no scales attribute");
            }
            float[] values = new float[attr.get().getFloatsCount()];
            for (int i = 0; i < values.length; i++) {
                values[i] = attr.get().getFloats(i);
            }
            scales = editor.uniqueName(node.getName() + "_scales");
            editor.putInitializer(Tensors.floatTensor(scales, new long[] {values.length}, values));
        } else {
            scales = node.getInput(1);
        }
        OnnxMl.NodeProto.Builder b = withoutAttributes(node, "mode", "scales", "width_scale", "height_scale")
            .setOpType("Resize").clearInput().addInput(node.getInput(0)).addInput("").addInput(scales);
        addLegacyResizeModes(b, mode);
        return replace(editor, node, b.build());
    }

    private static boolean rewriteResize10(GraphEditor editor, OnnxMl.NodeProto node) {
        String mode = legacyMode(node);
        OnnxMl.NodeProto.Builder b = withoutAttributes(node, "mode")
            .clearInput().addInput(node.getInput(0)).addInput("").addInput(node.getInput(1));
        addLegacyResizeModes(b, mode);
        return replace(editor, node, b.build());
    }

    private static boolean rewriteBatchNorm(GraphEditor editor, OnnxMl.NodeProto node) {
        if (Nodes.intAttribute(node, "spatial", 1) != 1) {
            throw new OnnxFormatException("BatchNormalization node '" + node.getName()
                + "' uses spatial=0 (per-activation statistics), which opset 9 removed: cannot be upgraded");
        }
        for (int i = 1; i < node.getOutputCount(); i++) {
            String out = node.getOutput(i);
            if (!out.isEmpty() && (!editor.consumers(out).isEmpty() || editor.isGraphOutput(out))) {
                throw new OnnxFormatException("BatchNormalization node '" + node.getName()
                    + "' has training outputs in use: cannot be upgraded");
            }
        }
        OnnxMl.NodeProto.Builder b = withoutAttributes(node, "spatial", "is_test", "consumed_inputs")
            .clearOutput().addOutput(node.getOutput(0));
        return replace(editor, node, b.build());
    }

    private static boolean rewriteDropout(GraphEditor editor, OnnxMl.NodeProto node, long from) {
        if (from < 10 && node.getOutputCount() > 1 && !node.getOutput(1).isEmpty()
            && (!editor.consumers(node.getOutput(1)).isEmpty() || editor.isGraphOutput(node.getOutput(1)))) {
            throw new OnnxFormatException("Dropout node '" + node.getName() + "' (opset " + from
                + ") has its mask in use; the mask became bool at opset 10: cannot be upgraded");
        }
        OnnxMl.NodeProto.Builder b = withoutAttributes(node, "ratio", "is_test");
        var ratio = Nodes.attribute(node, "ratio");
        if (ratio.isPresent()) {
            setInput(b, 1, floatScalar(editor, node, "ratio", ratio.get().getF()));
        }
        return replace(editor, node, b.build());
    }

    private static boolean rewriteRoiAlign(GraphEditor editor, OnnxMl.NodeProto node) {
        if (Nodes.attribute(node, "coordinate_transformation_mode").isPresent()) {
            return false;
        }
        OnnxMl.NodeProto.Builder b = node.toBuilder()
            .addAttribute(Nodes.stringAttribute("coordinate_transformation_mode", "output_half_pixel"));
        return replace(editor, node, b.build());
    }
}
