package dev.quantflow.onnx.prepare;

import java.util.List;
import java.util.Optional;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * Recognizes activations written out as several ops (needs opset ≥ 14 for HardSwish; run after the upgrade).
 *
 * <p>{@code HardSwish(x) = x·max(0, min(1, x/6 + 1/2))}. Two spellings are replaced by one {@code HardSwish} node:
 * <ul>
 *   <li>{@code Mul(x, HardSigmoid(x))} with alpha = 1/6 and beta = 1/2 (within 1e-6; exporters write 0.1666667);</li>
 *   <li>{@code Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)} (or the last step as {@code Mul(·, 1/6)}), the operands of
 *       Add and Mul in either order.</li>
 * </ul>
 * The intermediate tensors must have no other reader and must not be graph outputs. {@code Clip(x, 0, 6)} nodes
 * that remain (ReLU6) are counted, not rewritten: the static quantizer fuses the activation range through Clip,
 * so a Clip with constant bounds is already what it wants.
 */
final class ActivationPatterns {

    private static final double SIXTH = 1.0 / 6.0;

    private ActivationPatterns() {
    }

    record Outcome(OnnxModel model, int hardSwish, int relu6) {
    }

    static Outcome apply(OnnxModel model, boolean hardSwishAvailable) {
        GraphEditor editor = GraphEditor.of(model);
        int hardSwish = 0;
        if (hardSwishAvailable) {
            for (OnnxMl.NodeProto listed : editor.nodes()) {
                Optional<OnnxMl.NodeProto> node = editor.node(listed.getName());
                if (node.isEmpty()) {
                    continue;
                }
                if (node.get().getOpType().equals("Mul") && fromHardSigmoid(editor, node.get())) {
                    hardSwish++;
                } else if ((node.get().getOpType().equals("Div") || node.get().getOpType().equals("Mul"))
                    && fromClip(editor, node.get())) {
                    hardSwish++;
                }
            }
        }
        int relu6 = 0;
        for (OnnxMl.NodeProto n : editor.nodes()) {
            if (n.getOpType().equals("Clip") && scalar(editor, n, 1).orElse(Double.NaN) == 0
                && scalar(editor, n, 2).orElse(Double.NaN) == 6) {
                relu6++;
            }
        }
        return new Outcome(hardSwish == 0 ? model : editor.build(), hardSwish, relu6);
    }

    private static boolean fromHardSigmoid(GraphEditor editor, OnnxMl.NodeProto mul) {
        if (mul.getInputCount() != 2) {
            return false;
        }
        for (int i = 0; i < 2; i++) {
            String x = mul.getInput(1 - i);
            Optional<OnnxMl.NodeProto> hs = editor.producer(mul.getInput(i));
            if (hs.isPresent() && hs.get().getOpType().equals("HardSigmoid") && hs.get().getInput(0).equals(x)
                && Math.abs(Nodes.floatAttribute(hs.get(), "alpha", 0.2f) - SIXTH) < 1e-6
                && Math.abs(Nodes.floatAttribute(hs.get(), "beta", 0.5f) - 0.5) < 1e-6
                && privateTensor(editor, mul.getInput(i))) {
                editor.removeNode(hs.get().getName());
                editor.replaceNode(mul.getName(), List.of(hardSwish(editor, mul, x)));
                return true;
            }
        }
        return false;
    }

    /** Matches {@code last = Div(m, 6) | Mul(m, 1/6)}, {@code m = Mul(x, c)}, {@code c = Clip(a, 0, 6)}, {@code a = Add(x, 3)}. */
    private static boolean fromClip(GraphEditor editor, OnnxMl.NodeProto last) {
        if (last.getInputCount() != 2) {
            return false;
        }
        boolean div = last.getOpType().equals("Div");
        int mIndex = -1;
        for (int i = 0; i < (div ? 1 : 2); i++) {
            double k = constant(editor, last.getInput(1 - i)).orElse(Double.NaN);
            if (div ? k == 6 : Math.abs(k - SIXTH) < 1e-6) {
                mIndex = i;
            }
        }
        if (mIndex < 0 || !privateTensor(editor, last.getInput(mIndex))) {
            return false;
        }
        Optional<OnnxMl.NodeProto> m = editor.producer(last.getInput(mIndex));
        if (m.isEmpty() || !m.get().getOpType().equals("Mul") || m.get().getInputCount() != 2) {
            return false;
        }
        for (int i = 0; i < 2; i++) {
            String x = m.get().getInput(1 - i);
            String clipOut = m.get().getInput(i);
            Optional<OnnxMl.NodeProto> clip = editor.producer(clipOut);
            if (clip.isEmpty() || !clip.get().getOpType().equals("Clip") || !privateTensor(editor, clipOut)
                || scalar(editor, clip.get(), 1).orElse(Double.NaN) != 0
                || scalar(editor, clip.get(), 2).orElse(Double.NaN) != 6) {
                continue;
            }
            String addOut = clip.get().getInput(0);
            Optional<OnnxMl.NodeProto> add = editor.producer(addOut);
            if (add.isEmpty() || !add.get().getOpType().equals("Add") || add.get().getInputCount() != 2
                || !privateTensor(editor, addOut)) {
                continue;
            }
            OnnxMl.NodeProto a = add.get();
            boolean matches = (a.getInput(0).equals(x) && constant(editor, a.getInput(1)).orElse(Double.NaN) == 3)
                || (a.getInput(1).equals(x) && constant(editor, a.getInput(0)).orElse(Double.NaN) == 3);
            if (!matches) {
                continue;
            }
            editor.removeNode(a.getName());
            editor.removeNode(clip.get().getName());
            editor.removeNode(m.get().getName());
            editor.replaceNode(last.getName(), List.of(hardSwish(editor, last, x)));
            return true;
        }
        return false;
    }

    private static OnnxMl.NodeProto hardSwish(GraphEditor editor, OnnxMl.NodeProto replaced, String x) {
        return Nodes.create("HardSwish", replaced.getName(), List.of(x), List.of(replaced.getOutput(0)));
    }

    /** Read by exactly one node input and not a graph output. */
    private static boolean privateTensor(GraphEditor editor, String tensor) {
        return !editor.isGraphOutput(tensor) && Rewiring.useCount(editor, tensor) == 1;
    }

    private static Optional<Double> scalar(GraphEditor editor, OnnxMl.NodeProto node, int index) {
        if (index >= node.getInputCount() || node.getInput(index).isEmpty()) {
            return Optional.empty();
        }
        return constant(editor, node.getInput(index));
    }

    /** The value of a one-element float initializer. */
    private static Optional<Double> constant(GraphEditor editor, String name) {
        return editor.initializer(name)
            .filter(t -> t.getDataType() == DataType.FLOAT_VALUE && Tensors.elementCount(Tensors.dims(t)) == 1)
            .map(t -> (double) Tensors.toFloatArray(t)[0]);
    }
}
