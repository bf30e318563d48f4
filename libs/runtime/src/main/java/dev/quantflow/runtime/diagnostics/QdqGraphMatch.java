package dev.quantflow.runtime.diagnostics;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.OnnxModel;

/**
 * Finds, for each node of an fp32 graph, the tensors of its QDQ-quantized version that carry the same values. The
 * match goes by node name and output position, never by tensor name alone, because the quantizer reuses names for
 * other values (a Conv that absorbed a Relu writes the Relu's output name, but before the Relu is applied).
 *
 * <p><b>Origin of a quantized-model tensor</b> ({@link #origin}): the fp32 tensor whose value it carries, exactly or
 * up to quantization.
 * <ul>
 *   <li>{@code DequantizeLinear(QuantizeLinear(s))} carries what {@code s} carries, quantized;</li>
 *   <li>a graph input carries the fp32 graph input of the same name;</li>
 *   <li>output {@code k} of node {@code N} carries output {@code k} of the fp32 node named {@code N} (same op type),
 *       except when a Relu was folded into {@code N}: then output 0 is {@code N}'s value before the Relu, which no
 *       fp32 tensor holds, and only its QuantizeLinear → DequantizeLinear (whose zero point at qmin performs the Relu)
 *       carries the fp32 Relu's output.</li>
 * </ul>
 * A Relu counts as folded into {@code N} when it is the only reader of {@code N}'s first output in the fp32 graph,
 * no node of its name is left in the quantized graph, and {@code N} writes a different tensor there.
 *
 * <p><b>Compared output</b> of fp32 node {@code N}: if {@code N}'s first output in the quantized graph is read by a
 * QuantizeLinear, the output of one of that QuantizeLinear's DequantizeLinears (all of them compute the same values;
 * the one writing the fp32 name is preferred) — the value the next layer consumes; otherwise that first output itself
 * (an fp32 node, or a Gemm / MatMul left with a float output). The pair is used only if the tensor's origin is the
 * fp32 tensor compared (the Relu's output when one was folded, else {@code N}'s first output); otherwise the node is
 * skipped with the reason. <b>Inputs</b>: input {@code i} of the quantized node is matched with input {@code i} of
 * the fp32 node, for every fp32 input that is a float activation, under the same origin check.
 *
 * <p><b>Quantized</b>, the rule ONNX Runtime's QDQ fusion uses: every float input (activation or weight) of the node
 * is read through a DequantizeLinear, and either its output goes through a QuantizeLinear or it is a Conv, Gemm or
 * MatMul (which ONNX Runtime runs with integer inputs and a float output).
 */
final class QdqGraphMatch {

    static final Set<String> WEIGHTED_OPS = Set.of("Conv", "Gemm", "MatMul");

    /** An fp32 tensor and the quantized model's tensor that carries its value. */
    record TensorPair(String reference, String quantized) {
    }

    /**
     * @param output the compared output; null when skipped
     * @param inputs the node's activation inputs; null when skipped or when one of them could not be matched
     */
    record Layer(String node, String opType, String tensor, boolean quantized, TensorPair output,
                 List<TensorPair> inputs, String skipReason) {
    }

    private final Set<String> floatActivations;
    private final Map<String, OnnxMl.NodeProto> fpByName = new HashMap<>();
    private final Map<String, OnnxMl.NodeProto> fpProducer = new HashMap<>();
    private final Map<String, List<OnnxMl.NodeProto>> fpConsumers = new HashMap<>();
    private final Set<String> fpFloatInitializers = new HashSet<>();
    private final Set<String> fpInputs = new HashSet<>();
    private final Map<String, OnnxMl.NodeProto> qByName = new HashMap<>();
    private final Map<String, OnnxMl.NodeProto> qProducer = new HashMap<>();
    private final Map<String, List<OnnxMl.NodeProto>> qConsumers = new HashMap<>();
    private final Set<String> qInputs = new HashSet<>();

    private QdqGraphMatch(List<OnnxMl.NodeProto> fpNodes, OnnxModel fp32, OnnxModel quantized,
                          Collection<String> floatActivations) {
        this.floatActivations = Set.copyOf(floatActivations);
        index(fpNodes, fpByName, fpProducer, fpConsumers);
        index(quantized.graph().getNodeList(), qByName, qProducer, qConsumers);
        for (OnnxMl.TensorProto t : fp32.graph().getInitializerList()) {
            if (t.getDataType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE) {
                fpFloatInitializers.add(t.getName());
            }
        }
        fp32.inputs().forEach(v -> fpInputs.add(v.name()));
        quantized.inputs().forEach(v -> qInputs.add(v.name()));
    }

    /**
     * One entry per node of {@code fp32} whose first output is in {@code floatActivations}, in graph order. Nodes are
     * named as {@link GraphEditor} (and so the quantizer) names them.
     */
    static List<Layer> match(OnnxModel fp32, OnnxModel quantized, Collection<String> floatActivations) {
        List<OnnxMl.NodeProto> fpNodes = GraphEditor.of(fp32).nodes();
        QdqGraphMatch m = new QdqGraphMatch(fpNodes, fp32, quantized, floatActivations);
        List<Layer> layers = new ArrayList<>();
        for (OnnxMl.NodeProto n : fpNodes) {
            if (n.getOutputCount() > 0 && m.floatActivations.contains(n.getOutput(0))) {
                layers.add(m.layer(n));
            }
        }
        return layers;
    }

    private Layer layer(OnnxMl.NodeProto f) {
        String out = f.getOutput(0);
        OnnxMl.NodeProto q = qByName.get(f.getName());
        if (q == null) {
            if (f.getOpType().equals("Relu")) {
                OnnxMl.NodeProto producer = fpProducer.get(f.getInput(0));
                if (producer != null && foldedRelu(producer) == f) {
                    return skipped(f, out, true, "folded into " + producer.getName()
                        + " (its output quantization performs the Relu); compared on that node's row");
                }
            }
            return skipped(f, out, false, "no node of this name in the quantized model");
        }
        if (!q.getOpType().equals(f.getOpType())) {
            return skipped(f, out, false, "the quantized model's node of this name is a " + q.getOpType());
        }
        OnnxMl.NodeProto relu = foldedRelu(f);
        String reference = relu == null ? out : relu.getOutput(0);
        String produced = q.getOutput(0);
        Optional<OnnxMl.NodeProto> quantize = reader(produced, "QuantizeLinear");
        boolean quantized = readsDequantized(f, q) && (quantize.isPresent() || WEIGHTED_OPS.contains(f.getOpType()));
        String carried = produced;
        if (quantize.isPresent()) {
            String codes = quantize.get().getOutput(0);
            List<OnnxMl.NodeProto> dequantizers = qConsumers.getOrDefault(codes, List.of()).stream()
                .filter(d -> isOp(d, "DequantizeLinear") && d.getInput(0).equals(codes)).toList();
            if (dequantizers.isEmpty()) {
                return skipped(f, reference, quantized, "its quantized output '" + codes + "' is never dequantized");
            }
            carried = dequantizers.stream().filter(d -> d.getOutput(0).equals(reference)).findFirst()
                .orElse(dequantizers.get(0)).getOutput(0);
        }
        String origin = origin(carried);
        if (!reference.equals(origin)) {
            return skipped(f, reference, quantized, "no tensor of the quantized model carries '" + reference
                + "' (the node's output leads to '" + carried + "', which carries "
                + (origin == null ? "no fp32 tensor" : "'" + origin + "'") + ")");
        }
        List<TensorPair> inputs = new ArrayList<>();
        for (int i = 0; i < f.getInputCount(); i++) {
            String in = f.getInput(i);
            if (!floatActivations.contains(in)) {
                continue;
            }
            String qIn = i < q.getInputCount() ? q.getInput(i) : "";
            if (!in.equals(origin(qIn))) {
                inputs = null;
                break;
            }
            inputs.add(new TensorPair(in, qIn));
        }
        return new Layer(f.getName(), f.getOpType(), reference, quantized, new TensorPair(reference, carried),
            inputs == null ? null : List.copyOf(inputs), null);
    }

    /** The fp32 tensor whose value {@code qTensor} carries (exactly or quantized), or null; see the class doc. */
    String origin(String qTensor) {
        OnnxMl.NodeProto p = qProducer.get(qTensor);
        if (p != null && isOp(p, "DequantizeLinear")) {
            OnnxMl.NodeProto q = qProducer.get(p.getInput(0));
            return q != null && isOp(q, "QuantizeLinear") ? originOfFloat(q.getInput(0), true) : null;
        }
        return originOfFloat(qTensor, false);
    }

    private String originOfFloat(String tensor, boolean quantizedAfter) {
        OnnxMl.NodeProto p = qProducer.get(tensor);
        if (p == null) {
            return qInputs.contains(tensor) && fpInputs.contains(tensor) ? tensor : null;
        }
        OnnxMl.NodeProto f = fpByName.get(p.getName());
        if (f == null || !f.getOpType().equals(p.getOpType())) {
            return null;
        }
        int k = p.getOutputList().indexOf(tensor);
        if (k >= f.getOutputCount()) {
            return null;
        }
        OnnxMl.NodeProto relu = k == 0 ? foldedRelu(f) : null;
        if (relu != null) {
            return quantizedAfter ? relu.getOutput(0) : null;
        }
        return f.getOutput(k);
    }

    /** The fp32 Relu folded into {@code f} by the quantizer, or null (criteria in the class doc). */
    private OnnxMl.NodeProto foldedRelu(OnnxMl.NodeProto f) {
        List<OnnxMl.NodeProto> readers = fpConsumers.getOrDefault(f.getOutput(0), List.of());
        if (readers.size() != 1) {
            return null;
        }
        OnnxMl.NodeProto r = readers.get(0);
        OnnxMl.NodeProto q = qByName.get(f.getName());
        if (!isOp(r, "Relu") || qByName.containsKey(r.getName()) || q == null
            || q.getOutputCount() == 0 || q.getOutput(0).equals(f.getOutput(0))) {
            return null;
        }
        return r;
    }

    /** Every float input of {@code f} (activation or weight) reaches {@code q} through a DequantizeLinear. */
    private boolean readsDequantized(OnnxMl.NodeProto f, OnnxMl.NodeProto q) {
        boolean any = false;
        for (int i = 0; i < f.getInputCount(); i++) {
            String in = f.getInput(i);
            if (!floatActivations.contains(in) && !fpFloatInitializers.contains(in)) {
                continue;
            }
            OnnxMl.NodeProto p = i < q.getInputCount() ? qProducer.get(q.getInput(i)) : null;
            if (p == null || !isOp(p, "DequantizeLinear")) {
                return false;
            }
            any = true;
        }
        return any;
    }

    private Optional<OnnxMl.NodeProto> reader(String tensor, String opType) {
        return qConsumers.getOrDefault(tensor, List.of()).stream()
            .filter(n -> isOp(n, opType) && n.getInput(0).equals(tensor)).findFirst();
    }

    private static boolean isOp(OnnxMl.NodeProto n, String opType) {
        return n.getOpType().equals(opType) && (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"));
    }

    private static Layer skipped(OnnxMl.NodeProto f, String tensor, boolean quantized, String reason) {
        return new Layer(f.getName(), f.getOpType(), tensor, quantized, null, null, reason);
    }

    private static void index(List<OnnxMl.NodeProto> nodes, Map<String, OnnxMl.NodeProto> byName,
                              Map<String, OnnxMl.NodeProto> producer, Map<String, List<OnnxMl.NodeProto>> consumers) {
        for (OnnxMl.NodeProto n : nodes) {
            byName.putIfAbsent(n.getName(), n);
            for (String out : n.getOutputList()) {
                if (!out.isEmpty()) {
                    producer.put(out, n);
                }
            }
            for (String in : new LinkedHashSet<>(n.getInputList())) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }
    }
}
