package dev.quantflow.onnx;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import ai.onnx.proto.OnnxMl;

/**
 * Moves a model that imports ai.onnx at opset 11 or 12 to opset 13, rewriting the operators whose signature changed.
 *
 * <p>Why: ONNX added {@code bfloat16} to most operators (Cast included) only at opset 13, so a BF16 model needs it.
 * What changed between 11 and 13, and what this does about it:
 * <ul>
 *   <li>{@code Squeeze}, {@code Unsqueeze}, {@code ReduceSum}: the {@code axes} attribute became an optional int64
 *       input; {@code Split}: the {@code split} attribute became an input. Moved into an int64 initializer.</li>
 *   <li>{@code Softmax}, {@code LogSoftmax}, {@code Hardmax}: before 13 the input is coerced to 2-D at {@code axis}
 *       (default 1) and normalised over everything from {@code axis} on; from 13 only over {@code axis}. With
 *       {@code axis = -1} both mean the same. Otherwise the old meaning is written out exactly:
 *       {@code Reshape(op(Flatten(x, axis), axis=-1), Shape(x))}.</li>
 *   <li>Every other operator in {@link #SAME_FROM_11_TO_13} kept its meaning (its later versions only added types or
 *       attributes whose defaults reproduce the old behaviour).</li>
 * </ul>
 * A model using any other default-domain operator, or any other domain, is refused with the offending op types.
 */
public final class OpsetUpgrade {

    /** Default-domain ops whose opset-11/12 meaning is unchanged at 13. */
    static final Set<String> SAME_FROM_11_TO_13 = Set.of("Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin",
        "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "BatchNormalization", "Cast", "Ceil", "Celu", "Clip",
        "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace",
        "Div", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "GatherElements",
        "GatherND", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid",
        "Identity", "InstanceNormalization", "IsInf", "IsNaN", "LeakyRelu", "Less", "LessOrEqual", "Log", "LRN",
        "MatMul", "Max", "MaxPool", "Mean", "Min", "Mod", "Mul", "Neg", "NonZero", "Not", "OneHot", "Or", "Pad", "Pow",
        "PRelu", "Range", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
        "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare", "Relu", "Reshape", "Round", "Selu", "Shape",
        "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice", "Softplus", "Softsign", "SpaceToDepth", "Sqrt", "Sub",
        "Sum", "Tan", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Where", "Xor");
    private static final Set<String> AXES_TO_INPUT = Set.of("Squeeze", "Unsqueeze", "ReduceSum");
    private static final Set<String> COERCED_2D = Set.of("Softmax", "LogSoftmax", "Hardmax");

    private OpsetUpgrade() {
    }

    /** Op types (domain-qualified when not ai.onnx) that keep {@code model} from being moved to opset 13. */
    public static Set<String> blockersForOpset13(OnnxModel model) {
        Set<String> blockers = new TreeSet<>();
        long opset = model.opsetVersion();
        if (opset < 11) {
            blockers.add("opset " + opset + " (only 11 and 12 are upgraded)");
        }
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            boolean defaultDomain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
            if (!defaultDomain) {
                blockers.add(n.getDomain() + ":" + n.getOpType());
            } else if (!SAME_FROM_11_TO_13.contains(n.getOpType()) && !AXES_TO_INPUT.contains(n.getOpType())
                && !COERCED_2D.contains(n.getOpType()) && !n.getOpType().equals("Split")) {
                blockers.add(n.getOpType());
            }
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
        Set<String> blockers = blockersForOpset13(model);
        if (!blockers.isEmpty()) {
            throw new OnnxFormatException("cannot move the model from opset " + model.opsetVersion()
                + " to 13: " + blockers + "; re-export it at opset 13 or newer");
        }
        GraphEditor editor = GraphEditor.of(model);
        for (OnnxMl.NodeProto node : editor.nodes()) {
            String op = node.getOpType();
            if (AXES_TO_INPUT.contains(op)) {
                attributeToInput(editor, node, "axes", 1);
            } else if (op.equals("Split")) {
                attributeToInput(editor, node, "split", 1);
            } else if (COERCED_2D.contains(op)) {
                rewriteCoerced2d(editor, node);
            }
        }
        return editor.build().withOpsetVersion(13);
    }

    private static void attributeToInput(GraphEditor editor, OnnxMl.NodeProto node, String attribute, int index) {
        var attr = Nodes.attribute(node, attribute);
        if (attr.isEmpty()) {
            return;
        }
        long[] values = attr.get().getIntsList().stream().mapToLong(Long::longValue).toArray();
        String name = editor.uniqueName(node.getName() + "_" + attribute);
        editor.putInitializer(Tensors.int64Tensor(name, new long[] {values.length}, values));
        OnnxMl.NodeProto.Builder b = node.toBuilder().clearAttribute();
        node.getAttributeList().stream().filter(a -> !a.getName().equals(attribute)).forEach(b::addAttribute);
        List<String> inputs = new ArrayList<>(node.getInputList());
        while (inputs.size() < index) {
            inputs.add("");
        }
        inputs.add(index, name);
        b.clearInput().addAllInput(inputs);
        editor.replaceNode(node.getName(), List.of(b.build()));
    }

    private static void rewriteCoerced2d(GraphEditor editor, OnnxMl.NodeProto node) {
        long axis = Nodes.intAttribute(node, "axis", 1);
        OnnxMl.NodeProto.Builder op = node.toBuilder().clearAttribute();
        node.getAttributeList().stream().filter(a -> !a.getName().equals("axis")).forEach(op::addAttribute);
        op.addAttribute(Nodes.intAttribute("axis", -1));
        if (axis == -1) {
            editor.replaceNode(node.getName(), List.of(op.build()));
            return;
        }
        String x = node.getInput(0);
        String base = node.getName();
        String flat = editor.uniqueName(base + "_2d_in");
        String normalized = editor.uniqueName(base + "_2d_out");
        String shape = editor.uniqueName(base + "_in_shape");
        OnnxMl.NodeProto flatten = Nodes.create("Flatten", editor.uniqueName(base + "_flatten"), List.of(x),
            List.of(flat), Nodes.intAttribute("axis", axis));
        OnnxMl.NodeProto shapeOf = Nodes.create("Shape", editor.uniqueName(base + "_shape"), List.of(x),
            List.of(shape));
        OnnxMl.NodeProto reshape = Nodes.create("Reshape", editor.uniqueName(base + "_reshape"),
            List.of(normalized, shape), List.of(node.getOutput(0)));
        op.clearInput().addInput(flat).clearOutput().addOutput(normalized);
        editor.replaceNode(node.getName(), List.of(flatten, op.build(), shapeOf, reshape));
    }
}
