package dev.quantflow.quant.dynamic;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.HalfTensors;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * SmoothQuant (Xiao et al. 2022, "SmoothQuant: Accurate and Efficient Post-Training Quantization for Large Language
 * Models"): moves quantization difficulty from activations with outlier channels into the weights, by an exact
 * per-input-channel rescaling of the fp32 graph, before {@link DynamicQuantizer} quantizes it.
 *
 * <h2>Math</h2>
 * A weight MatMul {@code Y = X · W} with {@code X = [.., C]} and a float initializer {@code W = [C, N]} computes the
 * same as {@code Y = (X · diag(1/s)) · (diag(s) · W)} for any {@code s > 0}. Given a calibration estimate
 * {@code a_j = max |X[.., j]|} (the caller's, e.g. over a few hundred sentences), every MatMul that reads the same
 * tensor {@code X} (a transformer's Q, K and V projections) is smoothed with one {@code s}:
 * <pre>
 *   w_j  = max over the group's weights W and over k of |W[j, k]|
 *   s_j  = max(a_j, ε)^α / max(w_j, ε)^(1−α),            ε = 1e-5,  0 ≤ α ≤ 1
 *   inv_j = fp16(clamp(1/s_j, 2^-14, 65504))               (round to nearest half-precision value)
 *   s_j  ← 1 / inv_j                                        (fp32)
 *   W[j, k] ← W[j, k] · s_j                                 (fp32, every weight of the group)
 * </pre>
 * After the rescaling, the channels of {@code X/s} have ranges {@code a_j^(1−α) · w_j^(1−α)} — balanced against
 * the weight rows — so a single per-tensor activation scale (dynamic quantization) wastes fewer levels on the
 * outlier channels; the weights take the difference and keep their per-column scales. {@code inv} is rounded to
 * fp16 first and {@code s} taken as its reciprocal, so the graph's {@code 1/s} (stored as fp16, half the bytes) and
 * the weights' {@code s} are reciprocals of each other in fp32 arithmetic: the smoothed fp32 graph differs from the
 * original only by fp32 rounding.
 *
 * <h2>Where 1/s goes</h2>
 * <ul>
 *   <li><b>Folded into the producer</b>, free: when {@code X} is made from the output of a weight MatMul
 *       {@code P = H · W_p (+ b_p)} through a chain whose intermediate tensors have no other reader (but {@code Shape} /
 *       {@code Size}, which only read the shape), and the chain is
 *       linear per channel of {@code X}, the columns of {@code W_p} and {@code b_p} are multiplied by {@code inv}.
 *       Two chains are recognised: {@code X = P} (MatMul, optionally followed by an {@code Add} of a constant bias),
 *       and BERT's attention value path
 *       {@code X = Reshape(Transpose(A · Transpose(Reshape(P), [0,2,1,3]), [0,2,1,3]))} where the two Reshapes are
 *       the head split {@code [.., C] → [.., H, d]} and the merge back (how every PyTorch BERT export writes it):
 *       the context is linear in V per channel, so scaling V's channel scales the context's.</li>
 *   <li><b>Otherwise an explicit Mul</b>: {@code X_s = Mul(X, Cast(inv_fp16 → FLOAT))}, read by the group's MatMuls
 *       only; every other reader of {@code X} (a residual Add, a MatMul without a constant weight) keeps the unscaled
 *       tensor. ONNX Runtime folds the Cast of the constant at load time.</li>
 * </ul>
 * Groups are formed, and {@code w_j} computed, on the original weights, so the result does not depend on the order
 * in which groups are visited (row scaling of {@code W_p} by its own group and column scaling by a folded group
 * commute).
 *
 * <h2>What is left alone</h2>
 * MatMuls whose input has no entry in the statistics; MatMuls whose second input is not a rank-2 float initializer
 * (attention's {@code Q·Kᵀ} and {@code A·V}); groups whose weight initializer is also read by a node outside the group
 * (tied weights: rescaling it would change the other reader). Gemm is not smoothed. A statistics vector whose length
 * is not the weights' row count is a caller error.
 *
 * <p>Deterministic: the same model, statistics and α give the same bytes.
 */
public final class SmoothQuant {

    /** Floor of {@code a_j} and {@code w_j} in the formula (dead channels, all-zero weight rows). */
    public static final double EPSILON = 1e-5;
    /** The α that gave all-MiniLM-L6-v2 its best worst-case cosine (docs/benchmarks.md, issue 4). */
    public static final double DEFAULT_ALPHA = 0.8;
    private static final float MIN_INV = 0x1p-14f;
    private static final float MAX_INV = 65504f;
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT_VALUE;
    private static final int FLOAT16 = OnnxMl.TensorProto.DataType.FLOAT16_VALUE;
    private static final Set<String> SHAPE_ONLY = Set.of("Shape", "Size");
    private static final List<Long> HEAD_PERM = List.of(0L, 2L, 1L, 3L);

    private SmoothQuant() {
    }

    /**
     * One smoothed activation.
     *
     * @param input      the tensor the MatMuls read (the key of the statistics)
     * @param matMuls    the MatMul nodes smoothed together, graph order
     * @param scales     {@code s} (fp32, the reciprocals of fp16 values), one per channel; the weights' rows were
     *                   multiplied by these
     * @param foldedInto the weight MatMul whose columns took {@code 1/s}, empty when an explicit Mul was inserted
     */
    public record Group(String input, List<String> matMuls, float[] scales, Optional<String> foldedInto) {

        public Group {
            matMuls = List.copyOf(matMuls);
            scales = scales.clone();
            Objects.requireNonNull(foldedInto, "foldedInto");
        }

        @Override
        public float[] scales() {
            return scales.clone();
        }
    }

    /**
     * @param model  the smoothed fp32 model (same function as the input model)
     * @param groups every smoothed activation, in the order of their first MatMul in the graph
     */
    public record Result(OnnxModel model, List<Group> groups) {

        public Result {
            groups = List.copyOf(groups);
        }

        /** How many {@code Mul(X, 1/s)} nodes were inserted (groups not folded into a producer). */
        public int insertedMuls() {
            return (int) groups.stream().filter(g -> g.foldedInto().isEmpty()).count();
        }

        public List<Group> foldedGroups() {
            return groups.stream().filter(g -> g.foldedInto().isPresent()).toList();
        }
    }

    /**
     * The tensors {@link #apply} can smooth: the activation input of every MatMul whose second input is a rank-2
     * float initializer, in graph order. Collect {@code max |X[.., j]|} for these (see {@link #accumulateAbsMax}).
     */
    public static List<String> smoothableInputs(OnnxModel model) {
        GraphEditor ed = GraphEditor.of(model);
        Set<String> out = new LinkedHashSet<>();
        for (OnnxMl.NodeProto n : ed.nodes()) {
            if (weightOf(ed, n).isPresent()) {
                out.add(n.getInput(0));
            }
        }
        return List.copyOf(out);
    }

    /**
     * Folds a tensor whose last axis has {@code into.length} channels into the running per-channel maximum:
     * {@code into[j] = max(into[j], |x[i]|)} for every {@code i ≡ j (mod C)}.
     */
    public static void accumulateAbsMax(float[] x, int length, float[] into) {
        int c = into.length;
        if (length % c != 0) {
            throw new IllegalArgumentException(length + " values are not a whole number of " + c + "-channel rows");
        }
        for (int base = 0; base < length; base += c) {
            for (int j = 0; j < c; j++) {
                into[j] = Math.max(into[j], Math.abs(x[base + j]));
            }
        }
    }

    /**
     * The smoothing factors of one group (class Javadoc): {@code s_j = 1 / fp16(clamp(1/(max(a_j,ε)^α /
     * max(w_j,ε)^(1−α))))}.
     *
     * @param activationAbsMax {@code a_j}
     * @param weightRowAbsMax  {@code w_j}, the largest |W[j, k]| over the group's weights
     */
    public static float[] scales(float[] activationAbsMax, float[] weightRowAbsMax, double alpha) {
        checkAlpha(alpha);
        if (activationAbsMax.length != weightRowAbsMax.length) {
            throw new IllegalArgumentException("activation statistics have " + activationAbsMax.length
                + " channels, the weights " + weightRowAbsMax.length + " rows");
        }
        float[] s = new float[activationAbsMax.length];
        for (int j = 0; j < s.length; j++) {
            double raw = Math.pow(Math.max(activationAbsMax[j], EPSILON), alpha)
                / Math.pow(Math.max(weightRowAbsMax[j], EPSILON), 1 - alpha);
            float inv = Math.min(MAX_INV, Math.max(MIN_INV, (float) (1 / raw)));
            s[j] = 1f / Float.float16ToFloat(Float.floatToFloat16(inv));
        }
        return s;
    }

    /**
     * Smooths every weight MatMul whose input has statistics (class Javadoc).
     *
     * @param channelAbsMax {@code a} per MatMul input tensor name, length = the weights' row count
     * @param alpha         migration strength in [0, 1]
     * @throws IllegalArgumentException for α outside [0, 1] or statistics of the wrong length
     */
    public static Result apply(OnnxModel fp32, Map<String, float[]> channelAbsMax, double alpha) {
        Objects.requireNonNull(fp32, "fp32");
        Objects.requireNonNull(channelAbsMax, "channelAbsMax");
        checkAlpha(alpha);
        GraphEditor ed = GraphEditor.of(fp32);

        // Groups: weight MatMuls by input tensor, graph order.
        Map<String, List<OnnxMl.NodeProto>> byInput = new LinkedHashMap<>();
        for (OnnxMl.NodeProto n : ed.nodes()) {
            if (weightOf(ed, n).isPresent() && channelAbsMax.containsKey(n.getInput(0))) {
                byInput.computeIfAbsent(n.getInput(0), k -> new ArrayList<>()).add(n);
            }
        }
        Map<String, float[]> weights = new LinkedHashMap<>();
        Map<String, long[]> dims = new HashMap<>();
        List<PlannedGroup> planned = new ArrayList<>();
        for (Map.Entry<String, List<OnnxMl.NodeProto>> e : byInput.entrySet()) {
            Set<String> names = new LinkedHashSet<>();
            e.getValue().forEach(n -> names.add(n.getName()));
            Set<String> groupWeights = new LinkedHashSet<>();
            e.getValue().forEach(n -> groupWeights.add(n.getInput(1)));
            boolean tied = groupWeights.stream().anyMatch(w -> ed.consumers(w).stream()
                .anyMatch(c -> !names.contains(c.getName())));
            if (tied) {
                continue;
            }
            float[] a = channelAbsMax.get(e.getKey());
            float[] wMax = null;
            for (String w : groupWeights) {
                float[] values = weight(ed, weights, dims, w);
                int rows = (int) dims.get(w)[0];
                int cols = (int) dims.get(w)[1];
                if (a.length != rows) {
                    throw new IllegalArgumentException("statistics of " + e.getKey() + " have " + a.length
                        + " channels but weight " + w + " has " + rows + " rows");
                }
                if (wMax == null) {
                    wMax = new float[rows];
                }
                for (int j = 0; j < rows; j++) {
                    for (int k = 0; k < cols; k++) {
                        wMax[j] = Math.max(wMax[j], Math.abs(values[j * cols + k]));
                    }
                }
            }
            planned.add(new PlannedGroup(e.getKey(), List.copyOf(names), List.copyOf(groupWeights),
                scales(a, wMax, alpha)));
        }

        // Rows of the group's weights × s.
        for (PlannedGroup g : planned) {
            for (String w : g.weights()) {
                float[] values = weights.get(w);
                int cols = (int) dims.get(w)[1];
                for (int j = 0; j < g.s().length; j++) {
                    for (int k = 0; k < cols; k++) {
                        values[j * cols + k] *= g.s()[j];
                    }
                }
            }
        }

        // 1/s: into the producer's columns where possible, else an explicit Mul.
        Set<String> foldedWeights = new LinkedHashSet<>();
        List<Group> groups = new ArrayList<>();
        for (PlannedGroup g : planned) {
            float[] inv = new float[g.s().length];
            for (int j = 0; j < inv.length; j++) {
                // s = 1/h for an fp16 value h; 1/s is within an fp32 ulp of h, so rounding to fp16 gives h back.
                inv[j] = Float.float16ToFloat(Float.floatToFloat16(1f / g.s()[j]));
            }
            Optional<Fold> fold = foldTarget(ed, g.input(), inv.length).filter(f -> foldedWeights.add(f.weight()));
            if (fold.isPresent()) {
                foldColumns(ed, weights, dims, fold.get(), inv);
                groups.add(new Group(g.input(), g.matMuls(), g.s(), Optional.of(fold.get().matMul())));
            } else {
                insertMul(ed, g, inv);
                groups.add(new Group(g.input(), g.matMuls(), g.s(), Optional.empty()));
            }
        }
        weights.forEach((name, w) -> ed.putInitializer(Tensors.floatTensor(name, dims.get(name), w)));
        return new Result(ed.build(), groups);
    }

    private record PlannedGroup(String input, List<String> matMuls, List<String> weights, float[] s) {
    }

    /** A producer MatMul whose weight columns (and bias, if any) can take 1/s. */
    private record Fold(String matMul, String weight, String bias) {
    }

    private static void checkAlpha(double alpha) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
    }

    /** The weight initializer of a MatMul {@code X · W} with {@code W} a rank-2 float initializer. */
    private static Optional<OnnxMl.TensorProto> weightOf(GraphEditor ed, OnnxMl.NodeProto n) {
        if (!n.getOpType().equals("MatMul") || !n.getDomain().isEmpty() || n.getInputCount() != 2) {
            return Optional.empty();
        }
        return ed.initializer(n.getInput(1))
            .filter(t -> t.getDataType() == FLOAT && t.getDimsCount() == 2)
            .filter(t -> ed.initializer(n.getInput(0)).isEmpty());
    }

    private static float[] weight(GraphEditor ed, Map<String, float[]> weights, Map<String, long[]> dims,
        String name) {
        return weights.computeIfAbsent(name, k -> {
            OnnxMl.TensorProto t = ed.initializer(k).orElseThrow();
            dims.put(k, Tensors.dims(t));
            return Tensors.toFloatArray(t);
        });
    }

    /**
     * The producer of {@code tensor} when the tensor has exactly one reader of its values and is no graph output
     * ({@code Shape} / {@code Size} read only the shape, which scaling keeps: PyTorch exports compute reshape
     * targets that way).
     */
    private static Optional<OnnxMl.NodeProto> soleProducerOf(GraphEditor ed, String tensor) {
        long valueReaders = ed.consumers(tensor).stream()
            .filter(n -> !(n.getDomain().isEmpty() && SHAPE_ONLY.contains(n.getOpType()))).count();
        if (ed.isGraphOutput(tensor) || valueReaders != 1) {
            return Optional.empty();
        }
        return ed.producer(tensor);
    }

    /** The producer chain of {@code x} that can take 1/s in a weight MatMul's columns (class Javadoc). */
    private static Optional<Fold> foldTarget(GraphEditor ed, String x, int channels) {
        Optional<OnnxMl.NodeProto> p = soleProducerOf(ed, x);
        if (p.isEmpty()) {
            return Optional.empty();
        }
        OnnxMl.NodeProto n = p.get();
        if (n.getOpType().equals("Reshape")) {
            // BERT value path: Reshape ← Transpose ← MatMul(A, ·) ← Transpose ← Reshape ← projection.
            Optional<OnnxMl.NodeProto> t1 = soleProducerOf(ed, n.getInput(0)).filter(SmoothQuant::isHeadTranspose);
            Optional<OnnxMl.NodeProto> ctx = t1.flatMap(t -> soleProducerOf(ed, t.getInput(0)))
                .filter(m -> m.getOpType().equals("MatMul") && m.getDomain().isEmpty()
                    && ed.initializer(m.getInput(1)).isEmpty());
            Optional<OnnxMl.NodeProto> t2 = ctx.flatMap(m -> soleProducerOf(ed, m.getInput(1)))
                .filter(SmoothQuant::isHeadTranspose);
            Optional<OnnxMl.NodeProto> split = t2.flatMap(t -> soleProducerOf(ed, t.getInput(0)))
                .filter(r -> r.getOpType().equals("Reshape"));
            return split.flatMap(r -> projection(ed, r.getInput(0), channels));
        }
        return projection(ed, x, channels);
    }

    private static boolean isHeadTranspose(OnnxMl.NodeProto n) {
        return n.getOpType().equals("Transpose") && Nodes.attribute(n, "perm")
            .map(OnnxMl.AttributeProto::getIntsList).filter(HEAD_PERM::equals).isPresent();
    }

    /** {@code y = H · W (+ b)}: W a float initializer [K, channels], b a float initializer [channels]. */
    private static Optional<Fold> projection(GraphEditor ed, String y, int channels) {
        Optional<OnnxMl.NodeProto> p = soleProducerOf(ed, y);
        if (p.isEmpty()) {
            return Optional.empty();
        }
        OnnxMl.NodeProto n = p.get();
        String bias = null;
        if (n.getOpType().equals("Add") && n.getDomain().isEmpty()) {
            int constant = isVector(ed, n.getInput(1), channels) ? 1 : isVector(ed, n.getInput(0), channels) ? 0 : -1;
            if (constant < 0) {
                return Optional.empty();
            }
            bias = n.getInput(constant);
            Optional<OnnxMl.NodeProto> mm = soleProducerOf(ed, n.getInput(1 - constant));
            if (mm.isEmpty()) {
                return Optional.empty();
            }
            n = mm.get();
        }
        OnnxMl.NodeProto matMul = n;
        String b = bias;
        return weightOf(ed, matMul)
            .filter(w -> w.getDims(1) == channels)
            .filter(w -> ed.consumers(w.getName()).size() == 1)
            .filter(w -> b == null || ed.consumers(b).size() == 1)
            .map(w -> new Fold(matMul.getName(), w.getName(), b));
    }

    private static boolean isVector(GraphEditor ed, String name, int channels) {
        return ed.initializer(name).filter(t -> t.getDataType() == FLOAT && t.getDimsCount() == 1
            && t.getDims(0) == channels).isPresent();
    }

    private static void foldColumns(GraphEditor ed, Map<String, float[]> weights, Map<String, long[]> dims, Fold f,
        float[] inv) {
        float[] w = weight(ed, weights, dims, f.weight());
        int cols = inv.length;
        for (int i = 0; i < w.length; i++) {
            w[i] *= inv[i % cols];
        }
        if (f.bias() != null) {
            float[] b = weight(ed, weights, dims, f.bias());
            for (int j = 0; j < cols; j++) {
                b[j] *= inv[j];
            }
        }
    }

    /** {@code X_s = Mul(X, Cast(inv_fp16))} right after X's producer, read by the group's MatMuls only. */
    private static void insertMul(GraphEditor ed, PlannedGroup g, float[] inv) {
        String halfName = ed.uniqueName(g.input() + "_smooth_inv_fp16");
        String invName = ed.uniqueName(g.input() + "_smooth_inv");
        String out = ed.uniqueName(g.input() + "_smoothed");
        short[] bits = new short[inv.length];
        for (int j = 0; j < inv.length; j++) {
            bits[j] = Float.floatToFloat16(inv[j]);
        }
        ed.putInitializer(HalfTensors.tensor(halfName, FLOAT16, new long[] {inv.length}, bits));
        List<OnnxMl.NodeProto> added = List.of(
            Nodes.create("Cast", ed.uniqueName(invName + "_Cast"), List.of(halfName), List.of(invName),
                Nodes.intAttribute("to", FLOAT)),
            Nodes.create("Mul", ed.uniqueName(g.input() + "_SmoothMul"), List.of(g.input(), invName), List.of(out)));
        Optional<OnnxMl.NodeProto> producer = ed.producer(g.input());
        if (producer.isPresent()) {
            ed.insertAfter(producer.get().getName(), added);
        } else {
            ed.insertAtStart(added);
        }
        for (String mm : g.matMuls()) {
            OnnxMl.NodeProto n = ed.node(mm).orElseThrow();
            ed.replaceNode(mm, List.of(n.toBuilder().setInput(0, out).build()));
        }
    }
}
