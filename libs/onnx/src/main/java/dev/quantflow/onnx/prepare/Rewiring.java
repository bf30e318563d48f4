package dev.quantflow.onnx.prepare;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;

/** Shared graph helpers of the preparation passes: renaming tensor uses, reading constant inputs. */
final class Rewiring {

    private Rewiring() {
    }

    /** True when {@code tensor} is read by a node (main graph or a subgraph) or is a graph output. */
    static boolean isUsed(GraphEditor editor, String tensor) {
        if (tensor.isEmpty()) {
            return false;
        }
        if (editor.isGraphOutput(tensor)) {
            return true;
        }
        for (OnnxMl.NodeProto n : editor.nodes()) {
            if (n.getInputList().contains(tensor) || readsInSubgraph(n, tensor)) {
                return true;
            }
        }
        return false;
    }

    /** Number of node inputs (main graph) reading {@code tensor}, counting repeats; subgraph reads count as one each. */
    static int useCount(GraphEditor editor, String tensor) {
        int count = editor.isGraphOutput(tensor) ? 1 : 0;
        for (OnnxMl.NodeProto n : editor.nodes()) {
            for (String in : n.getInputList()) {
                if (in.equals(tensor)) {
                    count++;
                }
            }
            if (readsInSubgraph(n, tensor)) {
                count++;
            }
        }
        return count;
    }

    /** Every read of {@code from} (node inputs, in subgraphs too) becomes a read of {@code to}. */
    static void renameUses(GraphEditor editor, String from, String to) {
        for (OnnxMl.NodeProto n : editor.nodes()) {
            if (n.getInputList().contains(from) || readsInSubgraph(n, from)) {
                editor.replaceNode(n.getName(), List.of(renamed(n, from, to)));
            }
        }
    }

    private static OnnxMl.NodeProto renamed(OnnxMl.NodeProto n, String from, String to) {
        OnnxMl.NodeProto.Builder b = n.toBuilder();
        for (int i = 0; i < b.getInputCount(); i++) {
            if (b.getInput(i).equals(from)) {
                b.setInput(i, to);
            }
        }
        for (int i = 0; i < b.getAttributeCount(); i++) {
            OnnxMl.AttributeProto a = b.getAttribute(i);
            if (a.hasG() || a.getGraphsCount() > 0) {
                OnnxMl.AttributeProto.Builder ab = a.toBuilder();
                if (a.hasG()) {
                    ab.setG(renamedGraph(a.getG(), from, to));
                }
                for (int j = 0; j < a.getGraphsCount(); j++) {
                    ab.setGraphs(j, renamedGraph(a.getGraphs(j), from, to));
                }
                b.setAttribute(i, ab);
            }
        }
        return b.build();
    }

    private static OnnxMl.GraphProto renamedGraph(OnnxMl.GraphProto g, String from, String to) {
        OnnxMl.GraphProto.Builder gb = g.toBuilder();
        for (int i = 0; i < gb.getNodeCount(); i++) {
            gb.setNode(i, renamed(gb.getNode(i), from, to));
        }
        for (int i = 0; i < gb.getOutputCount(); i++) {
            if (gb.getOutput(i).getName().equals(from)) {
                gb.setOutput(i, gb.getOutput(i).toBuilder().setName(to));
            }
        }
        return gb.build();
    }

    private static boolean readsInSubgraph(OnnxMl.NodeProto n, String tensor) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            List<OnnxMl.GraphProto> graphs = new ArrayList<>(a.getGraphsList());
            if (a.hasG()) {
                graphs.add(a.getG());
            }
            for (OnnxMl.GraphProto g : graphs) {
                for (OnnxMl.NodeProto sub : g.getNodeList()) {
                    if (sub.getInputList().contains(tensor) || readsInSubgraph(sub, tensor)) {
                        return true;
                    }
                }
                if (g.getOutputList().stream().anyMatch(o -> o.getName().equals(tensor))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The initializer feeding input {@code index} of {@code node}, if that input is an initializer. */
    static Optional<OnnxMl.TensorProto> constantInput(GraphEditor editor, OnnxMl.NodeProto node, int index) {
        if (index >= node.getInputCount() || node.getInput(index).isEmpty()) {
            return Optional.empty();
        }
        return editor.initializer(node.getInput(index));
    }
}
