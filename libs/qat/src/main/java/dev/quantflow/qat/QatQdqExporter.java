package dev.quantflow.qat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * Writes a fine-tuned fake-quantized {@link QatGraph} as a QDQ ONNX model that ONNX Runtime runs with its integer
 * kernels and that computes what the graph computes.
 *
 * <ul>
 *   <li><b>Weights</b>: int8 initializers holding the codes {@code q = clamp(roundHalfToEven(w / s_c), qmin, qmax)}
 *       (for 4-bit weights in [−8, 7]) with the learned scales, read through a DequantizeLinear per reader (with
 *       {@code axis} when per channel): {@code DQ(q) = q·s_c} is exactly the fake-quantized weight.
 *   <li><b>Bias</b> of a Conv / Gemm whose input is quantized: int32 with scale {@code s_x · s_w[c]}, zero point 0,
 *       as our static quantizer writes it, so ONNX Runtime adds it to its integer accumulator. (The engine trains the
 *       bias in float; rounding it to this grid moves it by at most {@code s_x·s_w/2}.)
 *   <li><b>Activations</b>: a QuantizeLinear (UINT8, the learned scale and zero point) on each quantization point,
 *       one DequantizeLinear per reader. A graph output keeps its name (its DequantizeLinear writes it).
 *   <li><b>Data movement</b> (MaxPool, Flatten, Reshape, Identity, Dropout, Relu) on a quantized tensor: its output
 *       is re-quantized with the input's scale and zero point. Those ops only select or move values already on the
 *       grid (0 is on it), so this is exact, and it gives ONNX Runtime the DQ → op → Q pattern it fuses.
 * </ul>
 * The model keeps the source's opset (per-channel weights need ≥ 13) and drops {@code value_info}, whose types the
 * inserted nodes would contradict.
 */
public final class QatQdqExporter {

    private QatQdqExporter() {
    }

    private record ActParams(String qName, String scaleName, String zpName, float scale) {
    }

    public static OnnxModel export(QatGraph graph) {
        if (graph.recipe() == null) {
            throw new IllegalArgumentException("the graph has no fake quantization to export");
        }
        OnnxModel source = graph.source();
        boolean perChannel = graph.recipe().perChannelWeights();
        long opset = source.opsetVersion();
        if (opset < (perChannel ? 13 : 10)) {
            throw new UnsupportedOpException("QDQ export needs opset ≥ " + (perChannel ? 13 : 10) + " (the model has "
                + opset + ")");
        }
        List<OnnxMl.NodeProto> out = new ArrayList<>();
        Map<String, OnnxMl.TensorProto> inits = new LinkedHashMap<>();
        Map<String, ActParams> quantized = new HashMap<>();
        Map<String, QatGraph.ActivationQuant> points = new HashMap<>();
        graph.activationQuants().forEach(a -> points.put(a.tensor(), a));
        Set<String> graphOutputs = new HashSet<>();
        source.outputs().forEach(o -> graphOutputs.add(o.name()));
        Set<String> used = new HashSet<>();
        int[] counter = {0};

        String input = graph.inputName();
        if (points.containsKey(input)) {
            quantized.put(input, quantize(input, input, points.get(input), out, inits));
        }
        for (OnnxMl.NodeProto node : graph.nodes()) {
            OnnxMl.NodeProto.Builder b = node.toBuilder().clearInput();
            String inputScaleOwner = null;
            for (int i = 0; i < node.getInputCount(); i++) {
                String name = node.getInput(i);
                if (name.isEmpty()) {
                    b.addInput(name);
                    continue;
                }
                QatGraph.WeightQuant wq = i == 1 ? graph.weightQuants().get(name) : null;
                ActParams act = quantized.get(name);
                if (wq != null) {
                    b.addInput(dequantizeWeight(graph, wq, node, out, inits, counter));
                } else if (i == 2 && (node.getOpType().equals("Conv") || node.getOpType().equals("Gemm"))
                    && inputScaleOwner != null && graph.weightQuants().containsKey(node.getInput(1))
                    && graph.parameters().get(name) != null && graph.parameters().get(name).rank() == 1) {
                    b.addInput(dequantizeBias(graph, name, quantized.get(inputScaleOwner).scale(),
                        graph.weightQuants().get(node.getInput(1)), node, out, inits, counter));
                } else if (act != null) {
                    String dq = act.qName() + "_dq" + (counter[0]++);
                    out.add(Nodes.create("DequantizeLinear", dq + "_node", List.of(act.qName(), act.scaleName(),
                        act.zpName()), List.of(dq)));
                    b.addInput(dq);
                } else {
                    b.addInput(name);
                    used.add(name);
                }
                if (i == 0 && act != null) {
                    inputScaleOwner = name;
                }
            }
            String result = node.getOutput(0);
            boolean requant = points.containsKey(result)
                || (QatGraph.GRID_PRESERVING.contains(node.getOpType()) && quantized.containsKey(node.getInput(0)));
            boolean renameOutput = requant && graphOutputs.contains(result);
            if (renameOutput) {
                b.setOutput(0, result + "_float");
            }
            out.add(b.build());
            if (requant) {
                String produced = renameOutput ? result + "_float" : result;
                if (points.containsKey(result)) {
                    quantized.put(result, quantize(result, produced, points.get(result), out, inits));
                } else {
                    ActParams in = quantized.get(node.getInput(0));
                    String q = result + "_q";
                    out.add(Nodes.create("QuantizeLinear", q + "_node", List.of(produced, in.scaleName(), in.zpName()),
                        List.of(q)));
                    quantized.put(result, new ActParams(q, in.scaleName(), in.zpName(), in.scale()));
                }
                if (renameOutput) {
                    ActParams p = quantized.get(result);
                    out.add(Nodes.create("DequantizeLinear", result + "_dq_out", List.of(p.qName(), p.scaleName(),
                        p.zpName()), List.of(result)));
                }
            }
        }
        for (String name : used) {
            QatTensor p = graph.parameters().get(name);
            if (p != null) {
                long[] dims = new long[p.rank()];
                for (int d = 0; d < dims.length; d++) {
                    dims[d] = p.dim(d);
                }
                inits.put(name, Tensors.floatTensor(name, dims, p.values()));
            } else if (graph.intConstants().containsKey(name)) {
                long[] v = graph.intConstants().get(name);
                inits.put(name, Tensors.int64Tensor(name, new long[] {v.length}, v));
            }
        }
        OnnxMl.GraphProto.Builder g = source.graph().toBuilder().clearNode().clearInitializer().clearValueInfo()
            .addAllNode(out).addAllInitializer(inits.values());
        Set<String> initNames = inits.keySet();
        g.clearInput();
        for (OnnxMl.ValueInfoProto vi : source.graph().getInputList()) {
            if (!source.initializerNames().contains(vi.getName()) || initNames.contains(vi.getName())) {
                g.addInput(vi);
            }
        }
        return OnnxModel.wrap(source.proto().toBuilder().setGraph(g).build());
    }

    private static ActParams quantize(String tensor, String produced, QatGraph.ActivationQuant point,
                                      List<OnnxMl.NodeProto> out, Map<String, OnnxMl.TensorProto> inits) {
        float scale = point.scale().data()[0];
        String scaleName = tensor + "_scale";
        String zpName = tensor + "_zero_point";
        inits.put(scaleName, Tensors.floatTensor(scaleName, new long[0], new float[] {scale}));
        inits.put(zpName, Tensors.uint8Tensor(zpName, new long[0], new byte[] {(byte) point.quantizer().zeroPoint()}));
        String q = tensor + "_q";
        out.add(Nodes.create("QuantizeLinear", q + "_node", List.of(produced, scaleName, zpName), List.of(q)));
        return new ActParams(q, scaleName, zpName, scale);
    }

    private static String dequantizeWeight(QatGraph graph, QatGraph.WeightQuant wq, OnnxMl.NodeProto node,
                                           List<OnnxMl.NodeProto> out, Map<String, OnnxMl.TensorProto> inits,
                                           int[] counter) {
        QatTensor w = graph.parameters().get(wq.weight());
        String qName = wq.weight() + "_quantized";
        String scaleName = wq.weight() + "_scale";
        String zpName = wq.weight() + "_zero_point";
        if (!inits.containsKey(qName)) {
            QatFakeQuant fq = wq.quantizer();
            if (!fq.learnable()) {
                // scales that follow max|w| were last set by a forward pass, possibly before the last update: bring
                // them to the current weights (the bias grid below reads them too), as the next forward would
                fq.initWeightScales(w.data(), w.size(), wq.scale().data());
            }
            float[] s = wq.scale().values();
            int channels = fq.channels();
            int inner = channels == 1 ? w.size() : innerSize(w, wq.axis());
            byte[] codes = new byte[w.size()];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) QatFakeQuant.quantize(w.data()[i], s[(i / inner) % channels], 0, fq.qmin(), fq.qmax());
            }
            long[] dims = new long[w.rank()];
            for (int d = 0; d < dims.length; d++) {
                dims[d] = w.dim(d);
            }
            long[] sd = channels == 1 ? new long[0] : new long[] {channels};
            inits.put(qName, Tensors.int8Tensor(qName, dims, codes));
            inits.put(scaleName, Tensors.floatTensor(scaleName, sd, s));
            inits.put(zpName, Tensors.int8Tensor(zpName, sd, new byte[channels]));
        }
        String dq = qName + "_dq" + (counter[0]++);
        OnnxMl.NodeProto n = Nodes.create("DequantizeLinear", dq + "_node", List.of(qName, scaleName, zpName),
            List.of(dq));
        if (wq.axis() >= 0) {
            n = n.toBuilder().addAttribute(Nodes.intAttribute("axis", wq.axis())).build();
        }
        out.add(n);
        return dq;
    }

    private static int innerSize(QatTensor w, int axis) {
        int inner = 1;
        for (int d = axis + 1; d < w.rank(); d++) {
            inner *= w.dim(d);
        }
        return inner;
    }

    private static String dequantizeBias(QatGraph graph, String bias, float inputScale, QatGraph.WeightQuant wq,
                                         OnnxMl.NodeProto node, List<OnnxMl.NodeProto> out,
                                         Map<String, OnnxMl.TensorProto> inits, int[] counter) {
        QatTensor b = graph.parameters().get(bias);
        float[] ws = wq.scale().values();
        int channels = ws.length;
        String base = bias + "_" + node.getName().replaceAll("[^A-Za-z0-9_]", "_");
        String qName = base + "_quantized";
        String scaleName = base + "_scale";
        String zpName = base + "_zero_point";
        float[] scales = new float[channels];
        for (int c = 0; c < channels; c++) {
            scales[c] = inputScale * ws[c];
        }
        int[] codes = new int[b.size()];
        for (int i = 0; i < codes.length; i++) {
            float s = scales[channels == 1 ? 0 : i];
            double q = Math.rint(b.data()[i] / s);
            codes[i] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, q));
        }
        long[] sd = channels == 1 ? new long[0] : new long[] {channels};
        inits.put(qName, Tensors.int32Tensor(qName, new long[] {codes.length}, codes));
        inits.put(scaleName, Tensors.floatTensor(scaleName, sd, scales));
        inits.put(zpName, Tensors.int32Tensor(zpName, sd, new int[channels]));
        String dq = qName + "_dq" + (counter[0]++);
        OnnxMl.NodeProto n = Nodes.create("DequantizeLinear", dq + "_node", List.of(qName, scaleName, zpName),
            List.of(dq));
        if (channels > 1) {
            n = n.toBuilder().addAttribute(Nodes.intAttribute("axis", 0)).build();
        }
        out.add(n);
        return dq;
    }
}
