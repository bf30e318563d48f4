package dev.quantflow.onnx.prepare;

import java.util.List;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * Removes {@code Identity} and inference-mode {@code Dropout} nodes (both pass their input through), keeping graph
 * outputs by name.
 *
 * <p>For a node {@code y = op(x)}: when {@code y} is not a graph output, every read of {@code y} (subgraphs too)
 * reads {@code x} instead. When {@code y} is a graph output, the node producing {@code x} is made to produce
 * {@code y} directly and the reads of {@code x} follow; that needs {@code x} to come from a node (not a graph input
 * or initializer) and not to be a graph output itself, otherwise the node stays. A Dropout stays when its mask
 * output is used, or when its {@code training_mode} input (opset 12+) is not the constant {@code false}.
 */
final class PassThroughRemoval {

    private PassThroughRemoval() {
    }

    record Outcome(OnnxModel model, int identities, int dropouts) {
    }

    static Outcome apply(OnnxModel model) {
        GraphEditor editor = GraphEditor.of(model);
        int identities = 0;
        int dropouts = 0;
        for (OnnxMl.NodeProto listed : editor.nodes()) {
            String op = listed.getOpType();
            if (!(op.equals("Identity") || op.equals("Dropout")) || !(listed.getDomain().isEmpty()
                || listed.getDomain().equals("ai.onnx"))) {
                continue;
            }
            OnnxMl.NodeProto node = editor.node(listed.getName()).orElseThrow();
            if (op.equals("Dropout") && !isInferenceDropout(editor, node)) {
                continue;
            }
            if (remove(editor, node)) {
                if (op.equals("Identity")) {
                    identities++;
                } else {
                    dropouts++;
                }
            }
        }
        return new Outcome(identities + dropouts == 0 ? model : editor.build(), identities, dropouts);
    }

    private static boolean isInferenceDropout(GraphEditor editor, OnnxMl.NodeProto node) {
        if (node.getOutputCount() > 1 && Rewiring.isUsed(editor, node.getOutput(1))) {
            return false;
        }
        if (node.getInputCount() > 2 && !node.getInput(2).isEmpty()) {
            var training = editor.initializer(node.getInput(2));
            if (training.isEmpty() || Tensors.elementCount(Tensors.dims(training.get())) != 1) {
                return false;
            }
            OnnxMl.TensorProto t = training.get();
            boolean isTrue = !t.getRawData().isEmpty() ? t.getRawData().byteAt(0) != 0
                : t.getInt32DataCount() > 0 && t.getInt32Data(0) != 0;
            return !isTrue;
        }
        return true;
    }

    private static boolean remove(GraphEditor editor, OnnxMl.NodeProto node) {
        String x = node.getInput(0);
        String y = node.getOutput(0);
        if (!editor.isGraphOutput(y)) {
            editor.removeNode(node.getName());
            Rewiring.renameUses(editor, y, x);
            return true;
        }
        var producer = editor.producer(x);
        if (producer.isEmpty() || editor.isGraphOutput(x) || editor.isGraphInput(x)) {
            return false;
        }
        editor.removeNode(node.getName());
        OnnxMl.NodeProto p = producer.get();
        OnnxMl.NodeProto.Builder b = p.toBuilder();
        for (int i = 0; i < b.getOutputCount(); i++) {
            if (b.getOutput(i).equals(x)) {
                b.setOutput(i, y);
            }
        }
        editor.replaceNode(p.getName(), List.of(b.build()));
        Rewiring.renameUses(editor, x, y);
        return true;
    }
}
