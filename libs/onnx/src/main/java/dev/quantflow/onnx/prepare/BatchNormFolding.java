package dev.quantflow.onnx.prepare;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * Folds inference-mode {@code BatchNormalization} away (opset ≥ 9 semantics; run after the upgrade).
 *
 * <p>BN computes, per channel c (axis 1), {@code y = γ_c·(x − μ_c)/√(σ²_c + ε) + β_c = s_c·x + (β_c − μ_c·s_c)}
 * with {@code s_c = γ_c/√(σ²_c + ε)}. All arithmetic is done in double and rounded to float once.
 * <ul>
 *   <li>After a {@code Conv} (W [M, C/g, k…], output channel on axis 0 for every group) whose output feeds only the
 *       BN: {@code W'[m,…] = W[m,…]·s_m}, {@code b'_m = (b_m − μ_m)·s_m + β_m} (b = 0 without a bias; one is
 *       added).</li>
 *   <li>After a {@code ConvTranspose} (W [C, M/g, k…]): output channel of {@code W[c, j, …]} is
 *       {@code (c / (C/g))·(M/g) + j}; scaled the same way.</li>
 *   <li>After a {@code Gemm} ({@code Y = α·A·B' + β_g·C}, B' = B or Bᵀ, output channel = column n of B'):
 *       {@code B'[:,n]·s_n}, {@code C'_n = (β_g·C_n − μ_n)·s_n + β_n} and {@code beta = 1}; C must be absent, a
 *       scalar, or have N elements.</li>
 *   <li>Otherwise, when the input rank r is known (the shapes map or value_info): {@code Mul(x, s) → Add(·, β − μ·s)}
 *       with constants of shape [C, 1, …, 1] (r − 2 ones) broadcasting over axis 1.</li>
 * </ul>
 * Weights, BN parameters and biases must be float initializers; new initializers get new names (a weight shared
 * with another node is never changed in place). A BN in training mode or with its running-stat outputs in use stays.
 */
final class BatchNormFolding {

    private BatchNormFolding() {
    }

    record Outcome(OnnxModel model, int folded, int toMulAdd, List<String> notes) {
    }

    static Outcome apply(OnnxModel model, Map<String, long[]> shapes) {
        GraphEditor editor = GraphEditor.of(model);
        int folded = 0;
        int toMulAdd = 0;
        List<String> notes = new ArrayList<>();
        for (OnnxMl.NodeProto bn : editor.nodes()) {
            if (!bn.getOpType().equals("BatchNormalization") || !(bn.getDomain().isEmpty()
                || bn.getDomain().equals("ai.onnx"))) {
                continue;
            }
            if (Nodes.intAttribute(bn, "training_mode", 0) != 0 || extraOutputsUsed(editor, bn)) {
                notes.add("BatchNormalization '" + bn.getName() + "' kept: training mode or statistics outputs in use");
                continue;
            }
            float[][] p = new float[4][];
            boolean constant = true;
            for (int i = 0; i < 4; i++) {
                Optional<OnnxMl.TensorProto> t = Rewiring.constantInput(editor, bn, i + 1);
                if (t.isEmpty() || t.get().getDataType() != DataType.FLOAT_VALUE) {
                    constant = false;
                    break;
                }
                p[i] = Tensors.toFloatArray(t.get());
            }
            int channels = p[0] == null ? -1 : p[0].length;
            if (!constant || p[1].length != channels || p[2].length != channels || p[3].length != channels) {
                notes.add("BatchNormalization '" + bn.getName() + "' kept: its parameters are not float constants");
                continue;
            }
            double eps = Nodes.floatAttribute(bn, "epsilon", 1e-5f);
            double[] scale = new double[channels];
            double[] shift = new double[channels];
            for (int c = 0; c < channels; c++) {
                scale[c] = p[0][c] / Math.sqrt((double) p[3][c] + eps);
                shift[c] = p[1][c] - p[2][c] * scale[c];
            }
            String x = bn.getInput(0);
            Optional<OnnxMl.NodeProto> producer = editor.producer(x);
            if (producer.isPresent() && !editor.isGraphOutput(x) && Rewiring.useCount(editor, x) == 1
                && foldInto(editor, producer.get(), bn, scale, p[1], p[2], channels)) {
                folded++;
                continue;
            }
            int rank = rank(model, x, shapes);
            if (rank < 2) {
                notes.add("BatchNormalization '" + bn.getName() + "' kept: rank of its input unknown");
                continue;
            }
            long[] dims = new long[rank - 1];
            java.util.Arrays.fill(dims, 1);
            dims[0] = channels;
            float[] s = new float[channels];
            float[] t = new float[channels];
            for (int c = 0; c < channels; c++) {
                s[c] = (float) scale[c];
                t[c] = (float) shift[c];
            }
            String sName = editor.uniqueName(bn.getName() + "_scale");
            String tName = editor.uniqueName(bn.getName() + "_shift");
            String scaled = editor.uniqueName(bn.getName() + "_scaled");
            editor.putInitializer(Tensors.floatTensor(sName, dims, s));
            editor.putInitializer(Tensors.floatTensor(tName, dims, t));
            editor.replaceNode(bn.getName(), List.of(
                Nodes.create("Mul", editor.uniqueName(bn.getName() + "_mul"), List.of(x, sName), List.of(scaled)),
                Nodes.create("Add", editor.uniqueName(bn.getName() + "_add"), List.of(scaled, tName),
                    List.of(bn.getOutput(0)))));
            toMulAdd++;
        }
        return new Outcome(folded + toMulAdd == 0 ? model : editor.build(), folded, toMulAdd, notes);
    }

    private static boolean extraOutputsUsed(GraphEditor editor, OnnxMl.NodeProto bn) {
        for (int i = 1; i < bn.getOutputCount(); i++) {
            if (Rewiring.isUsed(editor, bn.getOutput(i))) {
                return true;
            }
        }
        return false;
    }

    /** Rank of {@code tensor}: from the shapes map, else from any shaped value_info / input / output entry. */
    private static int rank(OnnxModel model, String tensor, Map<String, long[]> shapes) {
        long[] known = shapes.get(tensor);
        if (known != null) {
            return known.length;
        }
        var g = model.graph();
        return java.util.stream.Stream.of(g.getValueInfoList(), g.getInputList(), g.getOutputList())
            .flatMap(List::stream)
            .filter(v -> v.getName().equals(tensor) && v.getType().hasTensorType()
                && v.getType().getTensorType().hasShape())
            .mapToInt(v -> v.getType().getTensorType().getShape().getDimCount()).findFirst().orElse(-1);
    }

    /** Folds into {@code producer} when it is a Conv / ConvTranspose / Gemm with float constant weights. */
    private static boolean foldInto(GraphEditor editor, OnnxMl.NodeProto producer, OnnxMl.NodeProto bn,
                                    double[] scale, float[] beta, float[] mean, int channels) {
        String op = producer.getOpType();
        if (!(op.equals("Conv") || op.equals("ConvTranspose") || op.equals("Gemm"))
            || !(producer.getDomain().isEmpty() || producer.getDomain().equals("ai.onnx"))
            || producer.getOutputCount() != 1) {
            return false;
        }
        Optional<OnnxMl.TensorProto> wt = Rewiring.constantInput(editor, producer, 1);
        if (wt.isEmpty() || wt.get().getDataType() != DataType.FLOAT_VALUE) {
            return false;
        }
        boolean hasBias = producer.getInputCount() > 2 && !producer.getInput(2).isEmpty();
        Optional<OnnxMl.TensorProto> bt = hasBias ? Rewiring.constantInput(editor, producer, 2) : Optional.empty();
        if (hasBias && (bt.isEmpty() || bt.get().getDataType() != DataType.FLOAT_VALUE)) {
            return false;
        }
        long[] wDims = Tensors.dims(wt.get());
        float[] w = Tensors.toFloatArray(wt.get());
        float[] bias = bt.map(Tensors::toFloatArray).orElse(null);
        int[] channelOf;
        double biasScale = 1;
        OnnxMl.NodeProto.Builder updated = producer.toBuilder();
        if (op.equals("Gemm")) {
            if (wDims.length != 2) {
                return false;
            }
            boolean transB = Nodes.intAttribute(producer, "transB", 0) != 0;
            int n = (int) (transB ? wDims[0] : wDims[1]);
            int k = (int) (transB ? wDims[1] : wDims[0]);
            if (n != channels || (bias != null && bias.length != 1 && bias.length != n)) {
                return false;
            }
            channelOf = new int[w.length];
            for (int i = 0; i < w.length; i++) {
                channelOf[i] = transB ? i / k : i % n;
            }
            biasScale = Nodes.floatAttribute(producer, "beta", 1f);
            updated.clearAttribute();
            producer.getAttributeList().stream().filter(a -> !a.getName().equals("beta")).forEach(updated::addAttribute);
        } else {
            if (wDims.length < 3) {
                return false;
            }
            long group = Nodes.intAttribute(producer, "group", 1);
            long perPosition = 1;
            for (int i = 2; i < wDims.length; i++) {
                perPosition *= wDims[i];
            }
            int outChannels = (int) (op.equals("Conv") ? wDims[0] : wDims[1] * group);
            if (outChannels != channels || (bias != null && bias.length != channels)) {
                return false;
            }
            channelOf = new int[w.length];
            long inPerGroup = wDims[0] / group;
            for (int i = 0; i < w.length; i++) {
                long rest = i / perPosition;
                if (op.equals("Conv")) {
                    channelOf[i] = (int) (rest / wDims[1]);
                } else {
                    long c = rest / wDims[1];
                    long j = rest % wDims[1];
                    channelOf[i] = (int) ((c / inPerGroup) * wDims[1] + j);
                }
            }
        }
        float[] w2 = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            w2[i] = (float) (w[i] * scale[channelOf[i]]);
        }
        float[] b2 = new float[channels];
        for (int c = 0; c < channels; c++) {
            double b = bias == null ? 0 : biasScale * bias[bias.length == 1 ? 0 : c];
            b2[c] = (float) ((b - mean[c]) * scale[c] + beta[c]);
        }
        String wName = editor.uniqueName(producer.getInput(1) + "_bn");
        String bName = editor.uniqueName(bn.getName() + "_bias");
        editor.putInitializer(Tensors.floatTensor(wName, wDims, w2));
        editor.putInitializer(Tensors.floatTensor(bName, new long[] {channels}, b2));
        List<String> inputs = new ArrayList<>(producer.getInputList());
        inputs.set(1, wName);
        if (inputs.size() > 2) {
            inputs.set(2, bName);
        } else {
            inputs.add(bName);
        }
        updated.clearInput().addAllInput(inputs).clearOutput().addOutput(bn.getOutput(0));
        editor.removeNode(bn.getName());
        editor.replaceNode(producer.getName(), List.of(updated.build()));
        return true;
    }
}
