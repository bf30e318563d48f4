package dev.quantflow.quant.dynamic;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.QuantizedWeights;
import dev.quantflow.quant.SymmetricWeightQuantizer;
import dev.quantflow.quant.qdq.NodeDecision;

/**
 * Rewrites BERT self-attention blocks as exported by PyTorch into ONNX Runtime's {@code com.microsoft.QAttention}
 * (int8 Q/K/V weights per column, input quantized at run time by a {@code DynamicQuantizeLinear}):
 * <pre>
 *   q = Transpose(Reshape(X·Wq + bq), [0,2,1,3]);  k = Transpose(Reshape(X·Wk + bk), [0,2,3,1]);
 *   v = Transpose(Reshape(X·Wv + bv), [0,2,1,3])
 *   C = Reshape(Transpose(Softmax(q·k / √d + M) · v, [0,2,1,3]))
 * </pre>
 * with {@code M} computed from one integer graph input (the 0/1 attention mask) becomes
 * {@code C = QAttention(DynamicQuantizeLinear(X), [Wq|Wk|Wv], [bq|bk|bv], …, Cast(mask, int32))}. Experimental.
 */
final class AttentionFusion {

    private final GraphEditor editor;
    private final int qmax;
    private final Set<String> excluded;
    private String mask32;
    int fused;
    /** One decision per fp32 node this pass removed (fused into a QAttention, or left dead by one). */
    final Map<String, NodeDecision> decisions = new LinkedHashMap<>();

    AttentionFusion(GraphEditor editor, int qmax, Set<String> excluded) {
        this.editor = editor;
        this.qmax = qmax;
        this.excluded = excluded;
    }

    void run() {
        for (OnnxMl.NodeProto s : editor.nodes()) {
            if (s.getOpType().equals("Softmax") && s.getDomain().isEmpty()) {
                tryFuse(s);
            }
        }
        if (fused > 0) {
            removeDeadNodes();
        }
    }

    private record Proj(OnnxMl.NodeProto matMul, OnnxMl.NodeProto add, OnnxMl.NodeProto reshape,
                        OnnxMl.NodeProto transpose, String x, float[] w, float[] b) {
    }

    private void tryFuse(OnnxMl.NodeProto softmax) {
        OnnxMl.NodeProto maskAdd = producerOf(softmax.getInput(0), "Add");
        long axis = Nodes.intAttribute(softmax, "axis", -2);
        if (maskAdd == null || single(softmax.getOutput(0)) == null || (axis != -1 && axis != 3)) {
            return;
        }
        OnnxMl.NodeProto div = null;
        String mask = null;
        for (int i = 0; i < 2; i++) {
            OnnxMl.NodeProto p = producerOf(maskAdd.getInput(i), "Div");
            if (p != null) {
                div = p;
                mask = maskAdd.getInput(1 - i);
            }
        }
        if (div == null || editor.producer(mask).isEmpty()) {
            return;
        }
        Optional<Float> d = scalar(div.getInput(1));
        OnnxMl.NodeProto qk = producerOf(div.getInput(0), "MatMul");
        OnnxMl.NodeProto ctx = single(softmax.getOutput(0));
        if (d.isEmpty() || qk == null || !ctx.getOpType().equals("MatMul") || !ctx.getInput(0).equals(
            softmax.getOutput(0))) {
            return;
        }
        Proj q = proj(qk.getInput(0), new long[] {0, 2, 1, 3});
        Proj k = proj(qk.getInput(1), new long[] {0, 2, 3, 1});
        OnnxMl.NodeProto kSwap = null;
        if (k == null) {
            // Kᵀ as two Transposes: heads first, then the last two axes swapped.
            kSwap = producerOf(qk.getInput(1), "Transpose");
            if (kSwap == null || !isTranspose(kSwap, new long[] {0, 1, 3, 2}) || single(kSwap.getOutput(0)) == null) {
                return;
            }
            k = proj(kSwap.getInput(0), new long[] {0, 2, 1, 3});
        }
        Proj v = proj(ctx.getInput(1), new long[] {0, 2, 1, 3});
        if (q == null || k == null || v == null || !q.x().equals(k.x()) || !q.x().equals(v.x())
            || excluded.contains(q.matMul().getName()) || excluded.contains(k.matMul().getName())
            || excluded.contains(v.matMul().getName())) {
            return;
        }
        OnnxMl.NodeProto ctxT = single(ctx.getOutput(0));
        if (ctxT == null || !isTranspose(ctxT, new long[] {0, 2, 1, 3})) {
            return;
        }
        OnnxMl.NodeProto ctxR = editor.consumers(ctxT.getOutput(0)).stream()
            .filter(c -> c.getOpType().equals("Reshape")).findFirst().orElse(null);
        if (ctxR == null || !onlyDataReader(ctxT.getOutput(0), ctxR)) {
            return;
        }
        int hidden = q.b().length;
        if (k.b().length != hidden || v.b().length != hidden || q.w().length != hidden * hidden) {
            return;
        }
        int headSize = Math.round(d.get() * d.get());
        if (headSize <= 0 || Math.abs(d.get() * d.get() - headSize) > 1e-3f || hidden % headSize != 0) {
            return;
        }
        String maskInput = maskGraphInput(mask);
        if (maskInput == null) {
            return;
        }
        // Weights [H, 3H] (Q | K | V columns), per-column scales.
        int n = 3 * hidden;
        float[] w = new float[hidden * n];
        float[] b = new float[n];
        Proj[] ps = {q, k, v};
        for (int p = 0; p < 3; p++) {
            for (int r = 0; r < hidden; r++) {
                System.arraycopy(ps[p].w(), r * hidden, w, r * n + p * hidden, hidden);
            }
            System.arraycopy(ps[p].b(), 0, b, p * hidden, hidden);
        }
        QuantizedWeights qw = SymmetricWeightQuantizer.perChannel(w, new long[] {hidden, n}, 1, qmax);
        String base = ctxR.getName().replace("/Reshape", "") + "/QAttention";
        String wn = editor.uniqueName(base + "_W_quantized");
        String sn = editor.uniqueName(base + "_W_scale");
        String zn = editor.uniqueName(base + "_W_zero_point");
        String bn = editor.uniqueName(base + "_bias");
        editor.putInitializer(Tensors.int8Tensor(wn, new long[] {hidden, n}, qw.values()));
        editor.putInitializer(Tensors.floatTensor(sn, new long[] {n}, qw.scales()));
        editor.putInitializer(Tensors.int8Tensor(zn, new long[] {}, new byte[1]));
        editor.putInitializer(Tensors.floatTensor(bn, new long[] {n}, b));
        List<OnnxMl.NodeProto> added = new ArrayList<>();
        if (mask32 == null) {
            mask32 = editor.uniqueName(maskInput + "_int32");
            added.add(Nodes.create("Cast", editor.uniqueName(mask32 + "_Cast"), List.of(maskInput), List.of(mask32),
                Nodes.intAttribute("to", OnnxMl.TensorProto.DataType.INT32_VALUE)));
        }
        String xq = editor.uniqueName(base + "_input_quantized");
        String xs = editor.uniqueName(base + "_input_scale");
        String xz = editor.uniqueName(base + "_input_zero_point");
        added.add(Nodes.create("DynamicQuantizeLinear", editor.uniqueName(base + "_DynamicQuantizeLinear"),
            List.of(q.x()), List.of(xq, xs, xz)));
        added.add(Nodes.createInDomain(DynamicQuantizer.MS_DOMAIN, "QAttention", editor.uniqueName(base),
            List.of(xq, wn, bn, xs, sn, mask32, xz, zn), List.of(ctxR.getOutput(0)),
            Nodes.intAttribute("num_heads", hidden / headSize)));
        String qa = added.get(added.size() - 1).getName();
        editor.replaceNode(ctxR.getName(), added);
        decisions.put(ctxR.getName(), new NodeDecision(ctxR.getName(), ctxR.getOpType(), false, "fused into " + qa));
        for (Proj p : ps) {
            decide(p.matMul(), true, "quantized: fused into " + qa + " (int8 weights per column, input quantized at"
                + " run time)");
            decide(p.add(), true, "bias fused into " + qa);
            decide(p.reshape(), false, "fused into " + qa);
            decide(p.transpose(), false, "fused into " + qa);
        }
        for (OnnxMl.NodeProto nd : List.of(qk, div, maskAdd, softmax, ctx, ctxT)) {
            decide(nd, false, "fused into " + qa + " (runs in fp32 inside the kernel)");
        }
        if (kSwap != null) {
            decide(kSwap, false, "fused into " + qa);
        }
        fused++;
    }

    private void decide(OnnxMl.NodeProto node, boolean quantized, String reason) {
        editor.removeNode(node.getName());
        decisions.put(node.getName(), new NodeDecision(node.getName(), node.getOpType(), quantized, reason));
    }

    /**
     * Ops allowed between the 0/1 padding mask input and the additive mask, {@code (1 - m) · c} broadcast to
     * {@code [B, 1, 1, S]}: anything else (Where, a constant triangle of a causal mask) is not a padding mask.
     */
    private static final Set<String> MASK_OPS = Set.of("Unsqueeze", "Cast", "Sub", "Mul", "Constant");

    /** A scalar, or an integer tensor (Unsqueeze axes): never a constant mask pattern. */
    private static boolean maskConstant(OnnxMl.TensorProto t) {
        return Tensors.elementCount(Tensors.dims(t)) <= 1 || t.getDataType() == OnnxMl.TensorProto.DataType.INT64_VALUE
            && t.getDimsCount() == 1 && t.getDims(0) <= 4;
    }

    /**
     * The mask's only graph input, when the mask is {@code (1 - m) · c} of exactly one integer graph input {@code m}
     * (through {@link #MASK_OPS} only).
     */
    private String maskGraphInput(String mask) {
        Set<String> found = new LinkedHashSet<>();
        Set<String> seen = new HashSet<>();
        List<String> todo = new ArrayList<>(List.of(mask));
        while (!todo.isEmpty()) {
            String t = todo.remove(todo.size() - 1);
            if (!seen.add(t) || t.isEmpty()) {
                continue;
            }
            if (editor.isGraphInput(t)) {
                found.add(t);
                continue;
            }
            if (editor.initializer(t).isPresent()) {
                if (!maskConstant(editor.initializer(t).get())) {
                    return null;
                }
                continue;
            }
            Optional<OnnxMl.NodeProto> p = editor.producer(t);
            if (p.isEmpty() || !MASK_OPS.contains(p.get().getOpType()) || !p.get().getDomain().isEmpty()) {
                return null;
            }
            if (p.get().getOpType().equals("Constant")) {
                Optional<OnnxMl.TensorProto> v = Nodes.attribute(p.get(), "value").map(OnnxMl.AttributeProto::getT);
                if (v.isEmpty() || !maskConstant(v.get())) {
                    return null;
                }
            }
            todo.addAll(p.get().getInputList());
        }
        if (found.size() != 1) {
            return null;
        }
        String in = found.iterator().next();
        int type = editor.graphInput(in).map(v -> v.getType().getTensorType().getElemType()).orElse(0);
        return type == OnnxMl.TensorProto.DataType.INT64_VALUE || type == OnnxMl.TensorProto.DataType.INT32_VALUE
            ? in : null;
    }

    private Proj proj(String transposed, long[] perm) {
        OnnxMl.NodeProto t = producerOf(transposed, "Transpose");
        if (t == null || !isTranspose(t, perm) || single(t.getOutput(0)) == null) {
            return null;
        }
        OnnxMl.NodeProto r = producerOf(t.getInput(0), "Reshape");
        if (r == null || single(r.getOutput(0)) == null) {
            return null;
        }
        OnnxMl.NodeProto add = producerOf(r.getInput(0), "Add");
        if (add == null || !onlyDataReader(add.getOutput(0), r)) {
            return null;
        }
        for (int i = 0; i < 2; i++) {
            OnnxMl.NodeProto mm = producerOf(add.getInput(i), "MatMul");
            Optional<OnnxMl.TensorProto> bias = floatInit(add.getInput(1 - i));
            if (mm == null || bias.isEmpty() || single(mm.getOutput(0)) == null) {
                continue;
            }
            Optional<OnnxMl.TensorProto> w = floatInit(mm.getInput(1));
            if (w.isEmpty() || w.get().getDimsCount() != 2 || bias.get().getDimsCount() != 1
                || w.get().getDims(0) != w.get().getDims(1) || bias.get().getDims(0) != w.get().getDims(1)
                || editor.initializer(mm.getInput(0)).isPresent()) {
                return null;
            }
            return new Proj(mm, add, r, t, mm.getInput(0), Tensors.toFloatArray(w.get()),
                Tensors.toFloatArray(bias.get()));
        }
        return null;
    }

    private static boolean isTranspose(OnnxMl.NodeProto t, long[] perm) {
        if (!t.getOpType().equals("Transpose")) {
            return false;
        }
        return Nodes.attribute(t, "perm").map(a -> a.getIntsList().equals(
            java.util.Arrays.stream(perm).boxed().toList())).orElse(false);
    }

    private Optional<OnnxMl.TensorProto> floatInit(String name) {
        return editor.initializer(name).filter(t -> t.getDataType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE);
    }

    private Optional<Float> scalar(String name) {
        Optional<OnnxMl.TensorProto> t = floatInit(name);
        if (t.isEmpty()) {
            t = editor.producer(name).filter(p -> p.getOpType().equals("Constant"))
                .flatMap(p -> Nodes.attribute(p, "value")).map(OnnxMl.AttributeProto::getT)
                .filter(x -> x.getDataType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE);
        }
        return t.map(Tensors::toFloatArray).filter(a -> a.length == 1).map(a -> a[0]);
    }

    private OnnxMl.NodeProto producerOf(String tensor, String op) {
        return editor.producer(tensor).filter(p -> p.getOpType().equals(op) && p.getDomain().isEmpty()).orElse(null);
    }

    /** Whether {@code reader} is the only reader of {@code tensor} other than Shape nodes (dead once fused). */
    private boolean onlyDataReader(String tensor, OnnxMl.NodeProto reader) {
        return !editor.isGraphOutput(tensor) && editor.consumers(tensor).stream()
            .allMatch(c -> c.getName().equals(reader.getName()) || c.getOpType().equals("Shape"));
    }

    /** The only reader of {@code tensor} (which is not a graph output), else null. */
    private OnnxMl.NodeProto single(String tensor) {
        if (editor.isGraphOutput(tensor)) {
            return null;
        }
        List<OnnxMl.NodeProto> c = editor.consumers(tensor);
        return c.size() == 1 ? c.get(0) : null;
    }

    /** Removes nodes none of whose outputs is read or a graph output (the fused blocks' shape computations). */
    private void removeDeadNodes() {
        boolean changed = true;
        while (changed) {
            changed = false;
            Set<String> read = new HashSet<>();
            for (OnnxMl.NodeProto nd : editor.nodes()) {
                read.addAll(nd.getInputList());
            }
            for (OnnxMl.NodeProto nd : editor.nodes()) {
                boolean live = nd.getOutputList().stream().anyMatch(o -> read.contains(o) || editor.isGraphOutput(o));
                if (!live) {
                    editor.removeNode(nd.getName());
                    decisions.putIfAbsent(nd.getName(), new NodeDecision(nd.getName(), nd.getOpType(), false,
                        "shape computation of a fused attention block: removed"));
                    changed = true;
                }
            }
        }
    }
}
