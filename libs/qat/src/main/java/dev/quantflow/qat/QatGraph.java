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
 * A trainable copy of an ONNX model: its nodes as differentiable {@link QatOp}s over {@link QatTensor}s, run as a
 * tape in the graph's (topological) node order; {@link #backward} replays it in reverse.
 *
 * <p>Preparation, before anything runs: every BatchNormalization that reads the only output of a Conv with constant
 * weights is folded into that Conv ({@code W'_m = W_m·γ_m/√(σ²_m+ε)}, {@code b'_m = (b_m − μ_m)·γ_m/√(σ²_m+ε) + β_m}),
 * which is what an integer runtime executes; a BatchNormalization elsewhere is kept in inference form. Every node is
 * then checked against {@link #SUPPORTED_OPS}; the first that is not supported (or an unsupported form, e.g. a 3-D
 * Conv or a used MaxPool Indices output) raises {@link UnsupportedOpException}.
 *
 * <p>Float initializers become parameters; all are trained except the bounds of Clip and the running statistics of
 * an unfolded BatchNormalization. With a {@link QatRecipe}, fake-quantization nodes ({@link QatFakeQuant}) are
 * inserted: on the weight input of each Conv / Gemm / MatMul (when it is an initializer), on every float graph
 * input, and on the output of each Conv / Gemm / MatMul — after its Relu / Clip when that is its only reader and the
 * tensor is not a graph output; and ({@link QatBiasFakeQuant}) on the bias of each Conv / Gemm whose weight is
 * quantized and whose input lies on an activation grid — directly, or through data-movement ops
 * ({@link #GRID_PRESERVING}) that keep values on their input's grid. The model must have a single float input.
 */
public final class QatGraph {

    /** The ONNX operators the engine can differentiate. */
    public static final List<String> SUPPORTED_OPS = List.of("Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div",
        "Relu", "Clip", "Sigmoid", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Flatten",
        "Reshape", "Identity", "Dropout", "Softmax", "LogSoftmax", "Constant");

    private static final Set<String> WEIGHTED = Set.of("Conv", "Gemm", "MatMul");

    record Step(String nodeName, String opType, QatOp op, QatTensor[] inputs, QatTensor output) {
    }

    /** An activation quantization point: {@code tensor} (a name of the folded graph) and its quantizer. */
    record ActivationQuant(String tensor, QatFakeQuant quantizer, QatTensor scale) {
    }

    /** A weight quantizer on initializer {@code weight}, channel axis {@code axis} (-1 per tensor). */
    record WeightQuant(String weight, int axis, QatFakeQuant quantizer, QatTensor scale) {
    }

    private final OnnxModel source;
    private final List<OnnxMl.NodeProto> nodes;
    private final Map<String, QatTensor> parameters;
    private final Map<String, long[]> intConstants;
    private final List<Step> steps = new ArrayList<>();
    private final List<QatTensor> gradTensors = new ArrayList<>();
    private final List<ActivationQuant> activationQuants = new ArrayList<>();
    private final Map<String, WeightQuant> weightQuants = new LinkedHashMap<>();
    private final List<QatBiasFakeQuant> biasQuants = new ArrayList<>();
    /** For each tensor on an activation quantizer's grid (a quantization point or a data-movement op after one). */
    private final Map<String, ActivationQuant> gridOf = new HashMap<>();

    /** Ops that only select or move values, so their output stays on their input's quantization grid. */
    static final Set<String> GRID_PRESERVING = Set.of("MaxPool", "Flatten", "Reshape", "Identity", "Dropout", "Relu");
    private final String inputName;
    private final String outputName;
    private QatTensor input;
    private QatTensor output;
    private final QatRecipe recipe;

    private QatGraph(OnnxModel model, QatRecipe recipe) {
        this.source = model;
        this.recipe = recipe;
        var floatInputs = model.inputs().stream()
            .filter(v -> v.elemType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE).toList();
        if (model.inputs().size() != 1 || floatInputs.size() != 1) {
            throw new UnsupportedOpException("the QAT engine trains models with exactly one float input; this one has "
                + model.inputs().stream().map(v -> v.name() + ":" + v.elemTypeName()).toList());
        }
        if (model.outputs().size() != 1) {
            throw new UnsupportedOpException("the QAT engine trains models with exactly one output (the logits); "
                + "this one has " + model.outputs().size());
        }
        this.inputName = floatInputs.get(0).name();
        this.outputName = model.outputs().get(0).name();
        this.parameters = new LinkedHashMap<>();
        this.intConstants = new HashMap<>();
        Map<String, float[]> floats = new LinkedHashMap<>();
        Map<String, int[]> shapes = new HashMap<>();
        for (OnnxMl.TensorProto t : model.graph().getInitializerList()) {
            readConstant(t, floats, shapes);
        }
        List<OnnxMl.NodeProto> list = new ArrayList<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Constant") && n.getDomain().isEmpty()) {
                OnnxMl.AttributeProto value = Nodes.attribute(n, "value").orElseThrow(() -> new UnsupportedOpException(
                    "node " + n.getName() + ": Constant without a tensor 'value' is not supported"));
                readConstant(value.getT().toBuilder().setName(n.getOutput(0)).build(), floats, shapes);
                continue;
            }
            list.add(n);
        }
        this.nodes = foldBatchNorms(list, floats, shapes, model);
        validate(nodes, model.opsetVersion());
        Set<String> frozen = frozenInitializers(nodes);
        for (var e : floats.entrySet()) {
            boolean train = !frozen.contains(e.getKey());
            parameters.put(e.getKey(), new QatTensor(e.getKey(), shapes.get(e.getKey()), e.getValue(), train, train));
        }
        build(model.opsetVersion());
    }

    /** The fp32 model as a trainable graph. */
    public static QatGraph fromOnnx(OnnxModel model) {
        return new QatGraph(model, null);
    }

    /** The model with fake quantization as {@code recipe} sets it (activation ranges still to be calibrated). */
    public static QatGraph fromOnnx(OnnxModel model, QatRecipe recipe) {
        return new QatGraph(model, recipe);
    }

    private void readConstant(OnnxMl.TensorProto t, Map<String, float[]> floats, Map<String, int[]> shapes) {
        long[] dims = Tensors.dims(t);
        int[] shape = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            shape[i] = Math.toIntExact(dims[i]);
        }
        if (t.getDataType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE) {
            floats.put(t.getName(), Tensors.toFloatArray(t));
            shapes.put(t.getName(), shape);
        } else if (t.getDataType() == OnnxMl.TensorProto.DataType.INT64_VALUE) {
            intConstants.put(t.getName(), Tensors.toLongArray(t));
        }
    }

    private static List<OnnxMl.NodeProto> foldBatchNorms(List<OnnxMl.NodeProto> list, Map<String, float[]> floats,
                                                         Map<String, int[]> shapes, OnnxModel model) {
        Set<String> graphOutputs = new HashSet<>();
        model.outputs().forEach(o -> graphOutputs.add(o.name()));
        Map<String, Integer> readers = new HashMap<>();
        for (OnnxMl.NodeProto n : list) {
            n.getInputList().forEach(i -> readers.merge(i, 1, Integer::sum));
        }
        List<OnnxMl.NodeProto> out = new ArrayList<>(list);
        for (int idx = 0; idx < out.size(); idx++) {
            OnnxMl.NodeProto bn = out.get(idx);
            if (!bn.getOpType().equals("BatchNormalization") || bn.getOutputCount() > 1 && !bn.getOutput(1).isEmpty()) {
                continue;
            }
            String x = bn.getInput(0);
            int convIdx = -1;
            for (int j = 0; j < idx; j++) {
                if (out.get(j).getOpType().equals("Conv") && out.get(j).getOutput(0).equals(x)) {
                    convIdx = j;
                }
            }
            if (convIdx < 0 || readers.getOrDefault(x, 0) != 1 || graphOutputs.contains(x)) {
                continue;
            }
            OnnxMl.NodeProto conv = out.get(convIdx);
            float[] w = floats.get(conv.getInput(1));
            float[] gamma = floats.get(bn.getInput(1));
            float[] beta = floats.get(bn.getInput(2));
            float[] mean = floats.get(bn.getInput(3));
            float[] var = floats.get(bn.getInput(4));
            String biasName = Nodes.input(conv, 2);
            if (w == null || gamma == null || beta == null || mean == null || var == null
                || (!biasName.isEmpty() && !floats.containsKey(biasName))) {
                continue;
            }
            float eps = Nodes.floatAttribute(bn, "epsilon", 1e-5f);
            int m = shapes.get(conv.getInput(1))[0];
            int per = w.length / m;
            float[] newW = new float[w.length];
            float[] newB = new float[m];
            float[] oldB = biasName.isEmpty() ? new float[m] : floats.get(biasName);
            for (int c = 0; c < m; c++) {
                double f = gamma[c] / Math.sqrt(var[c] + eps);
                for (int i = 0; i < per; i++) {
                    newW[c * per + i] = (float) (w[c * per + i] * f);
                }
                newB[c] = (float) ((oldB[c] - mean[c]) * f + beta[c]);
            }
            String wName = conv.getInput(1) + "_bnfolded";
            String bName = (biasName.isEmpty() ? conv.getName() + ".bias" : biasName) + "_bnfolded";
            floats.put(wName, newW);
            shapes.put(wName, shapes.get(conv.getInput(1)));
            floats.put(bName, newB);
            shapes.put(bName, new int[] {m});
            OnnxMl.NodeProto.Builder nb = conv.toBuilder().clearInput().addInput(conv.getInput(0)).addInput(wName)
                .addInput(bName).clearOutput().addOutput(bn.getOutput(0));
            out.set(convIdx, nb.build());
            out.remove(idx);
            idx--;
        }
        return out;
    }

    private static void validate(List<OnnxMl.NodeProto> nodes, long opset) {
        Set<String> used = new HashSet<>();
        for (OnnxMl.NodeProto n : nodes) {
            used.addAll(n.getInputList());
        }
        for (OnnxMl.NodeProto n : nodes) {
            String op = n.getOpType();
            String name = n.getName().isEmpty() ? n.getOutput(0) : n.getName();
            if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx") || !SUPPORTED_OPS.contains(op)) {
                throw new UnsupportedOpException("node " + name + ": op " + (n.getDomain().isEmpty() ? "" : n.getDomain()
                    + ".") + op + " has no gradient in quantflow's QAT engine; supported: "
                    + String.join(", ", SUPPORTED_OPS));
            }
            for (int i = 1; i < n.getOutputCount(); i++) {
                if (used.contains(n.getOutput(i))) {
                    throw new UnsupportedOpException("node " + name + ": output " + i + " of " + op
                        + " (" + n.getOutput(i) + ") is read by another node; the QAT engine supports only its first output");
                }
            }
            if ((op.equals("Conv") || op.equals("MaxPool") || op.equals("AveragePool"))) {
                var ks = Nodes.attribute(n, "kernel_shape");
                if (ks.isPresent() && ks.get().getIntsCount() != 2) {
                    throw new UnsupportedOpException("node " + name + ": " + op + " with a " + ks.get().getIntsCount()
                        + "-D kernel; the QAT engine supports 2-D (NCHW) windows only");
                }
            }
        }
    }

    private static Set<String> frozenInitializers(List<OnnxMl.NodeProto> nodes) {
        Set<String> frozen = new HashSet<>();
        for (OnnxMl.NodeProto n : nodes) {
            switch (n.getOpType()) {
                case "Clip" -> {
                    frozen.add(Nodes.input(n, 1));
                    frozen.add(Nodes.input(n, 2));
                }
                case "BatchNormalization" -> {
                    frozen.add(Nodes.input(n, 3));
                    frozen.add(Nodes.input(n, 4));
                }
                default -> {
                }
            }
        }
        return frozen;
    }

    private void build(long opset) {
        Map<String, QatTensor> values = new HashMap<>(parameters);
        Map<String, String> alias = new HashMap<>();
        input = new QatTensor(inputName, new int[] {0}, null, false, false);
        values.put(inputName, input);
        Map<String, Integer> readers = new HashMap<>();
        Map<String, OnnxMl.NodeProto> firstReader = new HashMap<>();
        for (OnnxMl.NodeProto n : nodes) {
            for (String i : n.getInputList()) {
                readers.merge(i, 1, Integer::sum);
                firstReader.putIfAbsent(i, n);
            }
        }
        Set<String> quantPoints = new HashSet<>();
        if (recipe != null) {
            quantPoints.add(inputName);
            for (OnnxMl.NodeProto n : nodes) {
                if (!WEIGHTED.contains(n.getOpType())) {
                    continue;
                }
                String out = n.getOutput(0);
                OnnxMl.NodeProto reader = firstReader.get(out);
                boolean absorb = reader != null && readers.get(out) == 1 && !out.equals(outputName)
                    && (reader.getOpType().equals("Relu") || reader.getOpType().equals("Clip"));
                quantPoints.add(absorb ? reader.getOutput(0) : out);
            }
            addActivationQuant(inputName, values, alias);
        }
        for (OnnxMl.NodeProto n : nodes) {
            QatOp op = createOp(n, opset);
            List<Integer> dataInputs = dataInputs(n);
            QatTensor[] ins = new QatTensor[dataInputs.size()];
            for (int k = 0; k < ins.length; k++) {
                String name = Nodes.input(n, dataInputs.get(k));
                if (name.isEmpty()) {
                    continue;
                }
                if (recipe != null && k == 1 && WEIGHTED.contains(n.getOpType()) && parameters.containsKey(name)) {
                    name = weightQuant(n, name, values);
                }
                if (recipe != null && k == 2 && (n.getOpType().equals("Conv") || n.getOpType().equals("Gemm"))) {
                    name = biasQuant(n, name, values);
                }
                String resolved = alias.getOrDefault(name, name);
                QatTensor t = values.get(resolved);
                if (t == null) {
                    throw new UnsupportedOpException("node " + n.getName() + ": input '" + name
                        + "' is neither a graph input, an initializer nor an earlier node's output");
                }
                ins[k] = t;
            }
            String outName = n.getOutput(0);
            QatTensor out = new QatTensor(outName, new int[] {0}, null, false, true);
            gradTensors.add(out);
            values.put(outName, out);
            steps.add(new Step(n.getName(), n.getOpType(), op, ins, out));
            if (quantPoints.contains(outName)) {
                addActivationQuant(outName, values, alias);
            } else if (GRID_PRESERVING.contains(n.getOpType()) && gridOf.containsKey(n.getInput(0))) {
                gridOf.put(outName, gridOf.get(n.getInput(0)));
            }
        }
        for (QatTensor p : parameters.values()) {
            if (p.needsGrad()) {
                gradTensors.add(p);
            }
        }
        String resolved = alias.getOrDefault(outputName, outputName);
        output = values.get(resolved);
        if (output == null) {
            throw new UnsupportedOpException("the graph output '" + outputName + "' is not produced by any node");
        }
    }

    private void addActivationQuant(String tensor, Map<String, QatTensor> values, Map<String, String> alias) {
        QatFakeQuant fq = QatFakeQuant.activations(recipe.learnedStepSizes());
        QatTensor scale = new QatTensor(tensor + "::scale", new int[] {1}, new float[] {1f},
            recipe.learnedStepSizes(), recipe.learnedStepSizes());
        QatTensor out = new QatTensor(tensor + "::fq", new int[] {0}, null, false, true);
        gradTensors.add(out);
        if (scale.needsGrad()) {
            gradTensors.add(scale);
        }
        steps.add(new Step(tensor + "::fakequant", "FakeQuant", fq, new QatTensor[] {values.get(tensor), scale}, out));
        values.put(out.name(), out);
        alias.put(tensor, out.name());
        ActivationQuant quant = new ActivationQuant(tensor, fq, scale);
        activationQuants.add(quant);
        gridOf.put(tensor, quant);
    }

    private String weightQuant(OnnxMl.NodeProto n, String weight, Map<String, QatTensor> values) {
        String fqName = weight + "::fq";
        if (weightQuants.containsKey(weight)) {
            return fqName;
        }
        QatTensor w = parameters.get(weight);
        int[] s = w.shapeRef();
        int axis;
        switch (n.getOpType()) {
            case "Conv" -> axis = 0;
            case "Gemm" -> axis = Nodes.intAttribute(n, "transB", 0) == 1 ? 0 : 1;
            default -> axis = s.length - 1;
        }
        int channels = recipe.perChannelWeights() ? s[axis] : 1;
        int inner = 1;
        for (int d = axis + 1; d < s.length; d++) {
            inner *= s[d];
        }
        if (!recipe.perChannelWeights()) {
            inner = w.size();
        }
        QatFakeQuant fq = QatFakeQuant.weights(recipe.weightBits(), channels, inner, recipe.learnedStepSizes());
        QatTensor scale = new QatTensor(weight + "::scale", new int[] {channels}, null, recipe.learnedStepSizes(),
            recipe.learnedStepSizes());
        fq.initWeightScales(w.data(), w.size(), scale.data());
        QatTensor out = new QatTensor(fqName, s, null, false, true);
        gradTensors.add(out);
        if (scale.needsGrad()) {
            gradTensors.add(scale);
        }
        steps.add(new Step(weight + "::fakequant", "FakeQuant", fq, new QatTensor[] {w, scale}, out));
        values.put(fqName, out);
        weightQuants.put(weight, new WeightQuant(weight, recipe.perChannelWeights() ? axis : -1, fq, scale));
        return fqName;
    }

    /**
     * Puts a {@link QatBiasFakeQuant} on a 1-D bias initializer of a Conv / Gemm whose weight is quantized and whose
     * input is on an activation grid (the same condition under which {@link QatQdqExporter} writes an int32 bias).
     */
    private String biasQuant(OnnxMl.NodeProto n, String bias, Map<String, QatTensor> values) {
        QatTensor b = parameters.get(bias);
        WeightQuant wq = weightQuants.get(Nodes.input(n, 1));
        ActivationQuant inputGrid = gridOf.get(Nodes.input(n, 0));
        if (b == null || b.rank() != 1 || wq == null || inputGrid == null) {
            return bias;
        }
        String name = bias + "::fq::" + n.getName();
        QatBiasFakeQuant fq = new QatBiasFakeQuant();
        QatTensor out = new QatTensor(name, b.shapeRef(), null, false, true);
        gradTensors.add(out);
        steps.add(new Step(name, "BiasFakeQuant", fq, new QatTensor[] {b, inputGrid.scale(), wq.scale()}, out));
        values.put(name, out);
        biasQuants.add(fq);
        return name;
    }

    /** The activation quantizer whose grid {@code tensor} is on, or null. */
    ActivationQuant gridOf(String tensor) {
        return gridOf.get(tensor);
    }

    /** Indices of the inputs the op reads as tensors (constant attributes-as-inputs are consumed at build time). */
    private static List<Integer> dataInputs(OnnxMl.NodeProto n) {
        return switch (n.getOpType()) {
            case "Reshape", "Clip", "Dropout" -> List.of(0);
            case "Conv", "Gemm" -> n.getInputCount() > 2 ? List.of(0, 1, 2) : List.of(0, 1);
            case "Add", "Sub", "Mul", "Div", "MatMul" -> List.of(0, 1);
            case "BatchNormalization" -> List.of(0, 1, 2, 3, 4);
            default -> List.of(0);
        };
    }

    private QatOp createOp(OnnxMl.NodeProto n, long opset) {
        String name = n.getName();
        return switch (n.getOpType()) {
            case "Conv" -> new QatOps.Conv((int) Nodes.intAttribute(n, "group", 1), ints(n, "strides", 2, 1),
                ints(n, "pads", 4, 0), ints(n, "dilations", 2, 1), autoPad(n));
            case "MaxPool", "AveragePool" -> new QatOps.Pool(n.getOpType().equals("MaxPool"),
                ints(n, "kernel_shape", 2, 1), ints(n, "strides", 2, 1), ints(n, "pads", 4, 0),
                ints(n, "dilations", 2, 1), autoPad(n), Nodes.intAttribute(n, "ceil_mode", 0) == 1,
                Nodes.intAttribute(n, "count_include_pad", 0) == 1);
            case "GlobalAveragePool" -> new QatOps.GlobalAveragePool();
            case "Gemm" -> new QatOps.Gemm(Nodes.floatAttribute(n, "alpha", 1f), Nodes.floatAttribute(n, "beta", 1f),
                Nodes.intAttribute(n, "transA", 0) == 1, Nodes.intAttribute(n, "transB", 0) == 1);
            case "MatMul" -> new QatOps.MatMul();
            case "Add" -> new QatOps.Binary(QatOps.BinaryKind.ADD);
            case "Sub" -> new QatOps.Binary(QatOps.BinaryKind.SUB);
            case "Mul" -> new QatOps.Binary(QatOps.BinaryKind.MUL);
            case "Div" -> new QatOps.Binary(QatOps.BinaryKind.DIV);
            case "Relu" -> new QatOps.Unary(QatOps.UnaryKind.RELU);
            case "Sigmoid" -> new QatOps.Unary(QatOps.UnaryKind.SIGMOID);
            case "Identity", "Dropout" -> new QatOps.Unary(QatOps.UnaryKind.IDENTITY);
            case "Clip" -> clip(n, opset);
            case "Flatten" -> QatOps.Reshape.flatten((int) Nodes.intAttribute(n, "axis", 1));
            case "Reshape" -> {
                long[] target = intConstants.get(Nodes.input(n, 1));
                if (target == null) {
                    throw new UnsupportedOpException("node " + name + ": Reshape with a computed (non-constant) shape "
                        + "is not supported by the QAT engine");
                }
                yield QatOps.Reshape.to(target);
            }
            case "Softmax", "LogSoftmax" -> new QatOps.Softmax(n.getOpType().equals("LogSoftmax"),
                (int) Nodes.intAttribute(n, "axis", opset < 13 ? 1 : -1), opset < 13);
            case "BatchNormalization" -> new QatOps.BatchNorm(Nodes.floatAttribute(n, "epsilon", 1e-5f));
            default -> throw new UnsupportedOpException("node " + name + ": op " + n.getOpType()
                + " has no gradient in quantflow's QAT engine; supported: " + String.join(", ", SUPPORTED_OPS));
        };
    }

    private QatOps.Clip clip(OnnxMl.NodeProto n, long opset) {
        float lo = -Float.MAX_VALUE;
        float hi = Float.MAX_VALUE;
        if (opset < 11) {
            lo = Nodes.floatAttribute(n, "min", lo);
            hi = Nodes.floatAttribute(n, "max", hi);
        } else {
            lo = scalarBound(n, 1, lo);
            hi = scalarBound(n, 2, hi);
        }
        return new QatOps.Clip(lo, hi);
    }

    private float scalarBound(OnnxMl.NodeProto n, int index, float fallback) {
        String name = Nodes.input(n, index);
        if (name.isEmpty()) {
            return fallback;
        }
        QatTensor t = parameters.get(name);
        if (t == null || t.size() != 1) {
            throw new UnsupportedOpException("node " + n.getName() + ": Clip bounds must be constant scalars");
        }
        return t.data()[0];
    }

    private static String autoPad(OnnxMl.NodeProto n) {
        return Nodes.attribute(n, "auto_pad").map(a -> a.getS().toStringUtf8()).orElse("NOTSET");
    }

    private static int[] ints(OnnxMl.NodeProto n, String attr, int count, int fallback) {
        int[] out = new int[count];
        java.util.Arrays.fill(out, fallback);
        Nodes.attribute(n, attr).ifPresent(a -> {
            for (int i = 0; i < Math.min(count, a.getIntsCount()); i++) {
                out[i] = Math.toIntExact(a.getInts(i));
            }
        });
        return out;
    }

    // ---------------------------------------------------------------- running

    /** Runs the graph on {@code data} with shape {@code shape}; the returned tensor is owned by the graph. */
    public QatTensor forward(float[] data, int... shape) {
        input.reshape(shape);
        System.arraycopy(data, 0, input.data(), 0, input.size());
        for (Step s : steps) {
            long t0 = profile == null ? 0 : System.nanoTime();
            s.op().forward(s.inputs(), s.output());
            if (profile != null) {
                profile.computeIfAbsent(s.nodeName() + " fwd", k -> new long[1])[0] += System.nanoTime() - t0;
            }
        }
        return output;
    }

    private Map<String, long[]> profile;

    /** Starts accumulating wall time per step and direction (for benchmarks); returns the live map (ns). */
    Map<String, long[]> startProfiling() {
        profile = new LinkedHashMap<>();
        return profile;
    }

    /** Back-propagates {@code outputGrad} (∂L/∂output of the last forward) into every parameter's gradient. */
    public void backward(float[] outputGrad) {
        for (QatTensor t : gradTensors) {
            t.zeroGrad();
        }
        System.arraycopy(outputGrad, 0, output.grad(), 0, output.size());
        for (int i = steps.size() - 1; i >= 0; i--) {
            Step s = steps.get(i);
            long t0 = profile == null ? 0 : System.nanoTime();
            s.op().backward(s.inputs(), s.output());
            if (profile != null) {
                profile.computeIfAbsent(s.nodeName() + " bwd", k -> new long[1])[0] += System.nanoTime() - t0;
            }
        }
    }

    /**
     * Initialises activation ranges: runs the fp32 model (quantizers as identities recording min/max) over
     * {@code batches}, then sets each activation quantizer's scale and zero point from the range it saw.
     */
    public void calibrate(Iterable<float[]> batches, int... sampleShape) {
        for (ActivationQuant q : activationQuants) {
            q.quantizer().setCalibrating(true);
        }
        for (WeightQuant q : weightQuants.values()) {
            q.quantizer().setEnabled(false);
        }
        biasQuants.forEach(b -> b.setEnabled(false));
        int per = QatTensor.count(sampleShape);
        for (float[] batch : batches) {
            int[] shape = new int[sampleShape.length + 1];
            shape[0] = batch.length / per;
            System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
            forward(batch, shape);
        }
        for (ActivationQuant q : activationQuants) {
            q.quantizer().setCalibrating(false);
            q.quantizer().initFromObservedRange(q.scale());
        }
        for (WeightQuant q : weightQuants.values()) {
            q.quantizer().setEnabled(true);
        }
        biasQuants.forEach(b -> b.setEnabled(true));
    }

    /** Trainable tensors: float initializers and, with learned step sizes, the quantization scales. */
    public List<QatTensor> trainableTensors() {
        List<QatTensor> out = new ArrayList<>();
        for (QatTensor p : parameters.values()) {
            if (p.trainable()) {
                out.add(p);
            }
        }
        for (WeightQuant q : weightQuants.values()) {
            if (q.scale().trainable()) {
                out.add(q.scale());
            }
        }
        for (ActivationQuant q : activationQuants) {
            if (q.scale().trainable()) {
                out.add(q.scale());
            }
        }
        return out;
    }

    boolean isScale(QatTensor t) {
        return t.name().endsWith("::scale");
    }

    public String inputName() {
        return inputName;
    }

    public String outputName() {
        return outputName;
    }

    /** Node order after preparation (BatchNormalization folded, Constant nodes read). */
    List<OnnxMl.NodeProto> nodes() {
        return nodes;
    }

    Map<String, QatTensor> parameters() {
        return parameters;
    }

    List<ActivationQuant> activationQuants() {
        return activationQuants;
    }

    Map<String, WeightQuant> weightQuants() {
        return weightQuants;
    }

    Map<String, long[]> intConstants() {
        return intConstants;
    }

    OnnxModel source() {
        return source;
    }

    QatRecipe recipe() {
        return recipe;
    }
}
