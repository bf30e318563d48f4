package dev.quantflow.quant.llm;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.Tensors;

/**
 * Puts AWQ's {@code X / s} into the graph, for MatMuls whose weights become {@code diag(s) · W}:
 * <ul>
 *   <li><b>Folded</b> when X is output 0 of a {@code LayerNormalization} whose scale γ (and bias β, if any) are
 *       float initializers of length k, X is read only by those MatMuls and is no graph output:
 *       {@code LN(x; γ, β) / s = LN(x; γ / s, β / s)}. New initializers are written (the old ones may be shared);
 *       the graph keeps its node count.</li>
 *   <li>Otherwise one {@code Mul(X, 1/s)} is inserted and the given MatMuls read its output; other readers of X
 *       keep reading X.</li>
 * </ul>
 */
final class AwqFolding {

    private AwqFolding() {
    }

    /** How the scales went in: the tensor the MatMuls must read and whether a LayerNormalization absorbed them. */
    record Applied(String activation, boolean foldedIntoLayerNorm) {
    }

    /**
     * Applies {@code 1/s} to {@code input} for the MatMul nodes named {@code matMuls} (their first input is rewired
     * when a Mul is inserted).
     */
    static Applied apply(GraphEditor editor, String input, Set<String> matMuls, float[] s) {
        Optional<OnnxMl.NodeProto> ln = foldableLayerNorm(editor, input, matMuls, s.length);
        if (ln.isPresent()) {
            OnnxMl.NodeProto node = ln.get();
            OnnxMl.NodeProto.Builder b = node.toBuilder();
            for (int idx = 1; idx <= 2 && idx < node.getInputCount(); idx++) {
                String name = node.getInput(idx);
                if (name.isEmpty()) {
                    continue;
                }
                float[] v = Tensors.toFloatArray(editor.initializer(name).orElseThrow());
                for (int j = 0; j < v.length; j++) {
                    v[j] /= s[j];
                }
                String folded = editor.uniqueName(name + "_awq");
                editor.putInitializer(Tensors.floatTensor(folded, new long[] {v.length}, v));
                b.setInput(idx, folded);
            }
            editor.replaceNode(node.getName(), List.of(b.build()));
            return new Applied(input, true);
        }
        float[] inv = new float[s.length];
        for (int j = 0; j < s.length; j++) {
            inv[j] = 1f / s[j];
        }
        String invName = editor.uniqueName(input + "_awq_inv_scale");
        editor.putInitializer(Tensors.floatTensor(invName, new long[] {inv.length}, inv));
        String scaled = editor.uniqueName(input + "_awq");
        String mulName = editor.uniqueName(input + "_awq_mul");
        List<OnnxMl.NodeProto> readers = new ArrayList<>();
        for (OnnxMl.NodeProto n : editor.consumers(input)) {
            if (matMuls.contains(n.getName())) {
                readers.add(n);
            }
        }
        editor.insertBefore(readers.get(0).getName(),
            List.of(Nodes.create("Mul", mulName, List.of(input, invName), List.of(scaled))));
        for (OnnxMl.NodeProto n : readers) {
            editor.replaceNode(n.getName(), List.of(n.toBuilder().setInput(0, scaled).build()));
        }
        return new Applied(scaled, false);
    }

    private static Optional<OnnxMl.NodeProto> foldableLayerNorm(GraphEditor editor, String input, Set<String> matMuls,
                                                                int k) {
        Optional<OnnxMl.NodeProto> producer = editor.producer(input);
        if (producer.isEmpty()) {
            return Optional.empty();
        }
        OnnxMl.NodeProto p = producer.get();
        if (!p.getOpType().equals("LayerNormalization") || !(p.getDomain().isEmpty() || p.getDomain().equals("ai.onnx"))
            || !p.getOutput(0).equals(input) || editor.isGraphOutput(input)) {
            return Optional.empty();
        }
        for (OnnxMl.NodeProto c : editor.consumers(input)) {
            if (!matMuls.contains(c.getName())) {
                return Optional.empty();
            }
        }
        for (int idx = 1; idx <= 2 && idx < p.getInputCount(); idx++) {
            String name = p.getInput(idx);
            if (name.isEmpty()) {
                continue;
            }
            Optional<OnnxMl.TensorProto> t = editor.initializer(name);
            if (t.isEmpty() || t.get().getDataType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE
                || Tensors.elementCount(Tensors.dims(t.get())) != k) {
                return Optional.empty();
            }
        }
        return p.getInputCount() >= 2 ? producer : Optional.empty();
    }
}
