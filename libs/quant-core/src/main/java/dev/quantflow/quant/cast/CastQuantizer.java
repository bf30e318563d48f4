package dev.quantflow.quant.cast;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.quantflow.onnx.GraphEditor;
import dev.quantflow.onnx.HalfTensors;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.OpsetUpgrade;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.QuantizationException;

/**
 * Converts an fp32 model to FP16 or BF16: float weights are stored in the 16-bit type, and every node that may
 * (rules below) computes in it, with a Cast at every border between fp32 and 16-bit tensors.
 *
 * <h2>Which nodes compute in 16 bits</h2>
 * In this order, the first rule that applies:
 * <ol>
 *   <li>no float input or output (shape arithmetic on int64, …): untouched;</li>
 *   <li>a node outside ai.onnx, or with a subgraph (If, Loop, Scan): fp32, and so is every tensor a subgraph reads;</li>
 *   <li>{@code Shape}, and a {@code Cast} to a non-float type: read the input in whichever precision it has (no Cast
 *       is inserted for them);</li>
 *   <li>named in {@link CastRecipe#excludedNodes()}, or its op in {@link CastRecipe#blockedOps()}: fp32;</li>
 *   <li>with {@link CastRecipe#requireNativeKernels()}: fp32 when ONNX Runtime's CPU provider has no kernel for the op
 *       in the target type at the model's opset ({@link CastKernelSupport}): a model the runtime cannot load is of no
 *       use, and one it wraps in hidden Casts is slower than one whose Casts are visible;</li>
 *   <li>fp32 when one of its constant inputs would vanish: every nonzero value rounds to 0 in the target (the
 *       1e-12 LayerNorm epsilon in FP16, whose loss turns a zero variance into a division by zero);</li>
 *   <li>otherwise the node computes in the target type: its float inputs are read in it and its float outputs are
 *       written in it. A {@code Cast} to float becomes a Cast to the target; a float {@code ConstantOfShape} value and
 *       a float {@code dtype} (EyeLike, Random*) take the target type.</li>
 * </ol>
 *
 * <h2>Tensors and borders</h2>
 * A float tensor has one native precision: 16-bit when a 16-bit node writes it, fp32 when an fp32 node does; graph
 * inputs are fp32 when {@link CastRecipe#keepIoFp32()} (otherwise their declared type becomes the target). A reader
 * that wants the other precision reads one Cast of it, shared by all such readers ({@code <name>_fp16},
 * {@code <name>_fp32}). A graph output keeps its name and its requested type: if its producer writes the other
 * precision, the producer's output is renamed and a Cast writes the graph output.
 *
 * <h2>Weights and constants</h2>
 * Float {@code Constant} nodes are turned into initializers first (ONNX Runtime treats both alike). An initializer
 * read only in 16 bits is converted ({@link CastTarget#encodeSaturating}: round to nearest even; a finite value that
 * would overflow is clamped to the largest finite value, with a warning, because an infinite constant makes
 * {@code 0·c} a NaN — BERT's attention mask multiplies by {@code -FLT_MAX}). An initializer read only in fp32 stays
 * fp32 when it has fewer than {@value #MIN_ELEMENTS_STORED_LOW} elements (it costs nothing and keeps constants such as
 * a LayerNorm epsilon of 1e-12 exact), and also when a value would overflow the format; a larger one is stored in 16
 * bits behind a Cast to fp32, which ONNX Runtime folds when it loads the model — so the file halves even where the
 * runtime computes in fp32. An initializer read in both precisions is stored once in 16 bits with a Cast to fp32 when
 * large, and kept fp32 with a 16-bit copy when small.
 *
 * <h2>Cast pairs</h2>
 * A Cast from a float type to a float type that reads the output of another Cast to a float type is made to read
 * that Cast's input instead (dropping the intermediate rounding: {@code Cast(int64→fp16)→Cast(fp16→fp32)} becomes
 * {@code Cast(int64→fp32)}); if it then casts to the type it reads, it is removed and its readers read the source.
 * A Cast left without readers is removed. So no Cast(fp32→16)→Cast(16→fp32) chain survives, including ones that
 * were in the fp32 model.
 *
 * <h2>Types</h2>
 * Graph input/output types and {@code value_info} entries are rewritten to the types the converted graph computes,
 * so ONNX Runtime's type checks agree. A BF16 conversion of an opset-11/12 model moves it to opset 13 first
 * ({@link OpsetUpgrade}), because bfloat16 entered the operator schemas there.
 *
 * <p>Deterministic: the same model and recipe give the same bytes.
 */
public final class CastQuantizer {

    /** An fp32-only initializer with at least this many elements is stored in 16 bits behind a Cast. */
    public static final int MIN_ELEMENTS_STORED_LOW = 1024;

    private static final int FLOAT = DataType.FLOAT_VALUE;
    private static final Set<Integer> FLOAT_TYPES = Set.of(DataType.FLOAT_VALUE, DataType.FLOAT16_VALUE,
        DataType.BFLOAT16_VALUE, DataType.DOUBLE_VALUE);
    /** Float inputs that keep fp32 even in a 16-bit node (Resize's roi and scales, Upsample's scales). */
    private static final Map<String, Set<Integer>> FP32_INPUTS = Map.of("Resize", Set.of(1, 2), "Upsample", Set.of(1));
    private static final Set<String> DTYPE_ATTRIBUTE_OPS = Set.of("EyeLike", "RandomNormal", "RandomUniform",
        "RandomNormalLike", "RandomUniformLike");
    private static final Set<String> QUANTIZED_OPS = Set.of("QuantizeLinear", "DequantizeLinear",
        "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "MatMulNBits");

    public CastQuantizer() {
    }

    /**
     * Converts {@code fp32} as {@code recipe} says.
     *
     * @throws QuantizationException if the model is not an fp32 model (already quantized or already 16-bit), or a
     *                               BF16 conversion needs an opset upgrade that is not possible
     */
    public CastResult convert(OnnxModel fp32, CastRecipe recipe) {
        Objects.requireNonNull(fp32, "fp32");
        Objects.requireNonNull(recipe, "recipe");
        checkConvertible(fp32);
        List<String> warnings = new ArrayList<>();
        OnnxModel model = fp32;
        if (recipe.target() == CastTarget.BF16 && model.opsetVersion() < CastKernelSupport.BF16_MIN_OPSET) {
            try {
                model = OpsetUpgrade.toOpset13(model);
            } catch (OnnxFormatException e) {
                throw new QuantizationException("BF16 needs ai.onnx opset 13 (bfloat16 entered the operator schemas"
                    + " there): " + e.getMessage());
            }
            warnings.add("model moved from opset " + fp32.opsetVersion() + " to 13 for BF16");
        }
        Converter converter = new Converter(model, recipe, warnings);
        return converter.run();
    }

    private static void checkConvertible(OnnxModel model) {
        Set<String> quantized = new TreeSet<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (QUANTIZED_OPS.contains(n.getOpType())) {
                quantized.add(n.getOpType());
            }
        }
        if (!quantized.isEmpty()) {
            throw new QuantizationException("the model already contains quantized operators " + quantized
                + ": hand over the fp32 model");
        }
        boolean alreadyHalf = model.graph().getInitializerList().stream()
            .anyMatch(t -> HalfTensors.isHalfType(t.getDataType()))
            || model.inputs().stream().anyMatch(v -> HalfTensors.isHalfType(v.elemType()));
        if (alreadyHalf) {
            throw new QuantizationException("the model already holds float16/bfloat16 tensors: hand over the fp32 model");
        }
    }

    private enum Precision { FP32, LOW }

    private enum Role { UNTOUCHED, AGNOSTIC, FP32, LOW }

    private static final class Converter {

        private final GraphEditor editor;
        private final CastRecipe recipe;
        private final CastTarget target;
        private final long opset;
        private final List<String> warnings;
        private final Map<String, Integer> types = new HashMap<>();
        private final Map<String, Role> roles = new LinkedHashMap<>();
        private final Map<String, CastNodeDecision> decisions = new LinkedHashMap<>();
        /** Tensors read inside subgraphs from the outer scope: fp32 under their own name. */
        private final Set<String> subgraphReads = new HashSet<>();
        /** Float tensor → its native precision. */
        private final Map<String, Precision> native_ = new HashMap<>();
        /** Float tensor → the precisions its readers (and the graph outputs) need. */
        private final Map<String, EnumSet<Precision>> needs = new LinkedHashMap<>();
        /** (tensor, precision) → the name that holds it in that precision. */
        private final Map<String, String> lowNames = new HashMap<>();
        private final Map<String, String> fp32Names = new HashMap<>();
        /** Graph output whose producer now writes another name (the graph output is written by a Cast). */
        private final Map<String, String> renamedOutputs = new HashMap<>();
        private final Map<String, Integer> finalTypes = new HashMap<>();

        Converter(OnnxModel model, CastRecipe recipe, List<String> warnings) {
            this.editor = GraphEditor.of(model);
            this.recipe = recipe;
            this.target = recipe.target();
            this.opset = model.opsetVersion();
            this.warnings = warnings;
        }

        CastResult run() {
            foldFloatConstants();
            inferTypes();
            for (OnnxMl.NodeProto n : editor.nodes()) {
                collectSubgraphReads(n, subgraphReads);
            }
            for (OnnxMl.NodeProto n : editor.nodes()) {
                if (!decisions.containsKey(n.getName())) {
                    decide(n);
                }
            }
            assignNativePrecisions();
            collectNeeds();
            placeInitializers();
            placeCasts();
            rewriteNodes();
            removeCastPairs();
            return new CastResult(finish(), List.copyOf(decisions.values()), warnings);
        }

        // ---- constants and types ----

        /** Float Constant nodes → initializers named after their output. */
        private void foldFloatConstants() {
            for (OnnxMl.NodeProto n : editor.nodes()) {
                if (!n.getOpType().equals("Constant") || !isDefaultDomain(n) || n.getOutputCount() != 1) {
                    continue;
                }
                Optional<OnnxMl.TensorProto> value = floatConstantValue(n);
                if (value.isPresent()) {
                    editor.removeNode(n.getName());
                    editor.putInitializer(value.get().toBuilder().setName(n.getOutput(0)).build());
                    decisions.put(n.getName(), new CastNodeDecision(n.getName(), "Constant", false,
                        "float constant, handled as an initializer"));
                }
            }
        }

        private static Optional<OnnxMl.TensorProto> floatConstantValue(OnnxMl.NodeProto n) {
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                switch (a.getName()) {
                    case "value" -> {
                        if (a.hasT() && a.getT().getDataType() == FLOAT
                            && a.getT().getDataLocation() != OnnxMl.TensorProto.DataLocation.EXTERNAL) {
                            return Optional.of(a.getT());
                        }
                    }
                    case "value_float" -> {
                        return Optional.of(Tensors.floatTensor("", new long[0], new float[] {a.getF()}));
                    }
                    case "value_floats" -> {
                        float[] v = new float[a.getFloatsCount()];
                        for (int i = 0; i < v.length; i++) {
                            v[i] = a.getFloats(i);
                        }
                        return Optional.of(Tensors.floatTensor("", new long[] {v.length}, v));
                    }
                    default -> {
                    }
                }
            }
            return Optional.empty();
        }

        /** Element types of the fp32 graph's tensors, from declarations and per-op rules, in graph order. */
        private void inferTypes() {
            editor.initializers().values().forEach(t -> types.put(t.getName(), t.getDataType()));
            OnnxMl.GraphProto g = editor.build().graph();
            g.getInputList().forEach(v -> types.putIfAbsent(v.getName(), v.getType().getTensorType().getElemType()));
            g.getValueInfoList().forEach(v -> types.putIfAbsent(v.getName(), v.getType().getTensorType().getElemType()));
            for (OnnxMl.NodeProto n : editor.nodes()) {
                for (int i = 0; i < n.getOutputCount(); i++) {
                    String out = n.getOutput(i);
                    if (!out.isEmpty()) {
                        int t = outputType(n, i);
                        if (t != 0) {
                            types.put(out, t);
                        }
                    }
                }
            }
            g.getOutputList().forEach(v -> types.putIfAbsent(v.getName(), v.getType().getTensorType().getElemType()));
        }

        private int outputType(OnnxMl.NodeProto n, int index) {
            String op = n.getOpType();
            if (!isDefaultDomain(n)) {
                return 0;
            }
            switch (op) {
                case "Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression" -> {
                    return DataType.INT64_VALUE;
                }
                case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN",
                     "IsInf" -> {
                    return DataType.BOOL_VALUE;
                }
                case "Cast" -> {
                    return (int) Nodes.intAttribute(n, "to", 0);
                }
                case "CastLike" -> {
                    return typeOf(Nodes.input(n, 1));
                }
                case "Where" -> {
                    return typeOf(Nodes.input(n, 1));
                }
                case "ConstantOfShape" -> {
                    return Nodes.attribute(n, "value").map(a -> a.getT().getDataType()).orElse(FLOAT);
                }
                case "Constant" -> {
                    return Nodes.attribute(n, "value").filter(OnnxMl.AttributeProto::hasT)
                        .map(a -> a.getT().getDataType())
                        .orElse(Nodes.attribute(n, "value_int").or(() -> Nodes.attribute(n, "value_ints")).isPresent()
                            ? DataType.INT64_VALUE : 0);
                }
                case "EyeLike", "RandomNormalLike", "RandomUniformLike" -> {
                    return Nodes.attribute(n, "dtype").map(a -> (int) a.getI()).orElse(typeOf(Nodes.input(n, 0)));
                }
                case "RandomNormal", "RandomUniform" -> {
                    return Nodes.attribute(n, "dtype").map(a -> (int) a.getI()).orElse(FLOAT);
                }
                case "TopK", "MaxPool" -> {
                    return index == 0 ? typeOf(Nodes.input(n, 0)) : DataType.INT64_VALUE;
                }
                case "Dropout" -> {
                    return index == 0 ? typeOf(Nodes.input(n, 0)) : DataType.BOOL_VALUE;
                }
                case "LayerNormalization" -> {
                    return index == 0 ? typeOf(Nodes.input(n, 0)) : FLOAT;
                }
                default -> {
                    for (String in : n.getInputList()) {
                        if (!in.isEmpty()) {
                            return typeOf(in);
                        }
                    }
                    return 0;
                }
            }
        }

        private int typeOf(String tensor) {
            return types.getOrDefault(tensor, 0);
        }

        private boolean isFloat(String tensor) {
            return !tensor.isEmpty() && typeOf(tensor) == FLOAT;
        }

        // ---- decisions ----

        private void decide(OnnxMl.NodeProto n) {
            String op = n.getOpType();
            boolean floatData = n.getInputList().stream().anyMatch(this::isFloat)
                || n.getOutputList().stream().anyMatch(this::isFloat);
            if (!floatData) {
                record(n, Role.UNTOUCHED, "no float tensors");
            } else if (!isDefaultDomain(n)) {
                record(n, Role.FP32, "op of domain " + n.getDomain() + " not converted");
            } else if (hasSubgraph(n)) {
                record(n, Role.FP32, "control flow: its subgraphs stay fp32");
            } else if (op.equals("Shape")) {
                record(n, Role.AGNOSTIC, "reads only the shape, in whichever precision its input has");
            } else if (op.equals("Cast") && !n.getOutputList().stream().anyMatch(this::isFloat)) {
                record(n, Role.AGNOSTIC, "casts to " + Tensors.typeName((int) Nodes.intAttribute(n, "to", 0))
                    + ", reading its input in whichever precision it has");
            } else if (recipe.excludedNodes().contains(n.getName())) {
                record(n, Role.FP32, "excluded by recipe");
            } else if (recipe.blockedOps().contains(op)) {
                record(n, Role.FP32, "blocked op, kept fp32 for numerics");
            } else if (n.getOutputList().stream().anyMatch(subgraphReads::contains)) {
                record(n, Role.FP32, "its output is read inside a subgraph");
            } else if (recipe.requireNativeKernels() && !CastKernelSupport.hasKernel(op, target, opset)) {
                record(n, Role.FP32, "ONNX Runtime CPU has no " + target + " kernel for " + op + " at opset " + opset);
            } else if (vanishingConstant(n).isPresent()) {
                record(n, Role.FP32, "constant input '" + vanishingConstant(n).get() + "' is below the " + target
                    + " range and would become 0");
            } else {
                record(n, Role.LOW, "computes in " + target);
            }
        }

        /** A float initializer input whose nonzero values all round to 0 in the target (a LayerNorm epsilon). */
        private Optional<String> vanishingConstant(OnnxMl.NodeProto n) {
            for (String in : n.getInputList()) {
                Optional<OnnxMl.TensorProto> init = editor.initializer(in);
                if (init.isPresent() && init.get().getDataType() == FLOAT && init.get().getDimsList().stream()
                    .mapToLong(Long::longValue).reduce(1, (x, y) -> x * y) <= MIN_ELEMENTS_STORED_LOW
                    && encode(Tensors.toFloatArray(init.get())).vanished()) {
                    return Optional.of(in);
                }
            }
            return Optional.empty();
        }

        private void record(OnnxMl.NodeProto n, Role role, String reason) {
            roles.put(n.getName(), role);
            decisions.put(n.getName(), new CastNodeDecision(n.getName(), n.getOpType(), role == Role.LOW, reason));
        }

        // ---- precisions ----

        private void assignNativePrecisions() {
            for (OnnxMl.ValueInfoProto v : editor.build().graph().getInputList()) {
                if (editor.isGraphInput(v.getName()) && isFloat(v.getName())) {
                    native_.put(v.getName(), recipe.keepIoFp32() ? Precision.FP32 : Precision.LOW);
                }
            }
            for (OnnxMl.NodeProto n : editor.nodes()) {
                Role role = roles.get(n.getName());
                for (int i = 0; i < n.getOutputCount(); i++) {
                    String out = n.getOutput(i);
                    if (isFloat(out)) {
                        native_.put(out, role == Role.LOW && writesLow(n, i) ? Precision.LOW : Precision.FP32);
                    }
                }
            }
            // initializers: decided by placeInitializers once the needs are known
        }

        private static boolean writesLow(OnnxMl.NodeProto n, int outputIndex) {
            return !(n.getOpType().equals("LayerNormalization") && outputIndex > 0);
        }

        private void collectNeeds() {
            for (OnnxMl.NodeProto n : editor.nodes()) {
                Role role = roles.get(n.getName());
                if (role == Role.UNTOUCHED || role == Role.AGNOSTIC) {
                    continue;
                }
                for (int i = 0; i < n.getInputCount(); i++) {
                    String in = n.getInput(i);
                    if (isFloat(in)) {
                        need(in, role == Role.LOW && !FP32_INPUTS.getOrDefault(n.getOpType(), Set.of()).contains(i)
                            ? Precision.LOW : Precision.FP32);
                    }
                }
            }
            for (OnnxMl.ValueInfoProto v : editor.build().graph().getOutputList()) {
                if (isFloat(v.getName())) {
                    need(v.getName(), recipe.keepIoFp32() ? Precision.FP32 : Precision.LOW);
                }
            }
            subgraphReads.stream().filter(this::isFloat).forEach(t -> need(t, Precision.FP32));
        }

        private void need(String tensor, Precision p) {
            needs.computeIfAbsent(tensor, k -> EnumSet.noneOf(Precision.class)).add(p);
        }

        /** Converts, duplicates or keeps each float initializer (see class doc); sets its native precision. */
        private void placeInitializers() {
            for (OnnxMl.TensorProto t : editor.initializers().values()) {
                String name = t.getName();
                if (t.getDataType() != FLOAT || !needs.containsKey(name)) {
                    continue;
                }
                EnumSet<Precision> wanted = needs.get(name);
                float[] values = Tensors.toFloatArray(t);
                boolean large = values.length >= MIN_ELEMENTS_STORED_LOW;
                boolean pinned = subgraphReads.contains(name) || editor.isGraphOutput(name);
                Encoded encoded = encode(values);
                if (wanted.equals(EnumSet.of(Precision.LOW)) && !pinned) {
                    warn(name, encoded, true);
                    editor.putInitializer(lowTensor(name, t, encoded.bits));
                    native_.put(name, Precision.LOW);
                } else if (!wanted.contains(Precision.LOW)) {
                    boolean storeLow = large && !pinned && encoded.clamped == 0 && !encoded.vanished;
                    if (storeLow) {
                        editor.putInitializer(lowTensor(name, t, encoded.bits));
                    }
                    native_.put(name, storeLow ? Precision.LOW : Precision.FP32);
                } else if (large && !pinned && encoded.clamped == 0 && !encoded.vanished) {
                    editor.putInitializer(lowTensor(name, t, encoded.bits));
                    native_.put(name, Precision.LOW);
                } else {
                    warn(name, encoded, false);
                    String copy = editor.uniqueName(name + "_" + target.shortName());
                    editor.putInitializer(lowTensor(copy, t, encoded.bits));
                    lowNames.put(name, copy);
                    native_.put(name, Precision.FP32);
                }
            }
        }

        /** {@code vanished}: every nonzero value became 0 (a constant such as an epsilon of 1e-12 is gone). */
        private record Encoded(short[] bits, int clamped, int flushed, boolean vanished) {
        }

        private Encoded encode(float[] values) {
            short[] bits = new short[values.length];
            int clamped = 0;
            int flushed = 0;
            int nonzero = 0;
            for (int i = 0; i < values.length; i++) {
                float v = values[i];
                bits[i] = target.encodeSaturating(v);
                if (v != 0f) {
                    nonzero++;
                }
                if (Float.isFinite(v) && target.isInfinite(target.encode(v))) {
                    clamped++;
                } else if (v != 0f && target.decode(bits[i]) == 0f) {
                    flushed++;
                }
            }
            return new Encoded(bits, clamped, flushed, nonzero > 0 && flushed == nonzero);
        }

        private void warn(String name, Encoded e, boolean only) {
            if (e.clamped > 0) {
                warnings.add("initializer '" + name + "': " + e.clamped + " finite value(s) beyond the " + target
                    + " range clamped to ±" + target.maxFinite() + (only ? "" : " in its " + target + " copy"));
            }
            if (e.vanished) {
                warnings.add("initializer '" + name + "': all " + e.flushed + " nonzero value(s) are below the "
                    + target + " range and became 0" + (only ? "" : " in its " + target + " copy"));
            }
        }

        private OnnxMl.TensorProto lowTensor(String name, OnnxMl.TensorProto source, short[] bits) {
            return HalfTensors.tensor(name, target.onnxType(), Tensors.dims(source), bits);
        }

        // ---- casts and rewriting ----

        /** Names every needed (tensor, precision) and inserts the Casts that produce the non-native ones. */
        private void placeCasts() {
            Set<String> graphOutputs = new HashSet<>();
            editor.build().graph().getOutputList().forEach(v -> graphOutputs.add(v.getName()));
            for (Map.Entry<String, EnumSet<Precision>> e : needs.entrySet()) {
                String tensor = e.getKey();
                Precision nat = native_.getOrDefault(tensor, Precision.FP32);
                String nativeName = tensor;
                if (graphOutputs.contains(tensor) && nat != outputPrecision()
                    && editor.initializer(tensor).isEmpty() && !editor.isGraphInput(tensor)) {
                    nativeName = editor.uniqueName(tensor + "_" + nameOf(nat));
                    renamedOutputs.put(tensor, nativeName);
                }
                nameFor(tensor, nat, nativeName);
                finalTypes.put(nativeName, typeFor(nat));
                for (Precision p : e.getValue()) {
                    if (p == nat || (p == Precision.LOW && lowNames.containsKey(tensor))) {
                        if (p == Precision.LOW && lowNames.containsKey(tensor)) {
                            finalTypes.put(lowNames.get(tensor), target.onnxType());
                        }
                        continue;
                    }
                    String castName = renamedOutputs.containsKey(tensor) && p == outputPrecision()
                        ? tensor : editor.uniqueName(tensor + "_" + nameOf(p));
                    nameFor(tensor, p, castName);
                    finalTypes.put(castName, typeFor(p));
                    OnnxMl.NodeProto cast = Nodes.create("Cast", editor.uniqueName(tensor + "_to_" + nameOf(p)),
                        List.of(nativeName), List.of(castName), Nodes.intAttribute("to", typeFor(p)));
                    Optional<OnnxMl.NodeProto> producer = editor.producer(tensor);
                    if (producer.isPresent()) {
                        editor.insertAfter(producer.get().getName(), List.of(cast));
                    } else {
                        editor.insertAtStart(List.of(cast));
                    }
                }
            }
            // float tensors nobody reads (dangling outputs) still get their final type
            native_.forEach((t, p) -> finalTypes.putIfAbsent(renamedOutputs.getOrDefault(t, t), typeFor(p)));
        }

        private Precision outputPrecision() {
            return recipe.keepIoFp32() ? Precision.FP32 : Precision.LOW;
        }

        private void nameFor(String tensor, Precision p, String name) {
            (p == Precision.LOW ? lowNames : fp32Names).putIfAbsent(tensor, name);
        }

        private String nameOf(Precision p) {
            return p == Precision.LOW ? target.shortName() : "fp32";
        }

        private int typeFor(Precision p) {
            return p == Precision.LOW ? target.onnxType() : FLOAT;
        }

        /** Points every reader at the tensor in the precision it needs; retypes 16-bit nodes' type attributes. */
        private void rewriteNodes() {
            for (OnnxMl.NodeProto n : editor.nodes()) {
                Role role = roles.get(n.getName());
                if (role == null) {
                    continue; // an inserted Cast
                }
                OnnxMl.NodeProto.Builder b = n.toBuilder();
                for (int i = 0; i < n.getInputCount(); i++) {
                    String in = n.getInput(i);
                    if (!isFloat(in)) {
                        continue;
                    }
                    String name;
                    if (role == Role.AGNOSTIC || role == Role.UNTOUCHED) {
                        name = renamedOutputs.getOrDefault(in, in);
                    } else {
                        boolean low = role == Role.LOW && !FP32_INPUTS.getOrDefault(n.getOpType(), Set.of()).contains(i);
                        name = (low ? lowNames : fp32Names).get(in);
                    }
                    b.setInput(i, name);
                }
                for (int i = 0; i < n.getOutputCount(); i++) {
                    String out = n.getOutput(i);
                    if (renamedOutputs.containsKey(out)) {
                        b.setOutput(i, renamedOutputs.get(out));
                    }
                }
                if (role == Role.LOW) {
                    retypeAttributes(n, b);
                }
                editor.replaceNode(n.getName(), List.of(b.build()));
            }
        }

        private void retypeAttributes(OnnxMl.NodeProto n, OnnxMl.NodeProto.Builder b) {
            String op = n.getOpType();
            for (int i = 0; i < b.getAttributeCount(); i++) {
                OnnxMl.AttributeProto a = b.getAttribute(i);
                if (op.equals("Cast") && a.getName().equals("to") && a.getI() == FLOAT) {
                    b.setAttribute(i, a.toBuilder().setI(target.onnxType()));
                } else if (DTYPE_ATTRIBUTE_OPS.contains(op) && a.getName().equals("dtype") && a.getI() == FLOAT) {
                    b.setAttribute(i, a.toBuilder().setI(target.onnxType()));
                } else if (op.equals("ConstantOfShape") && a.getName().equals("value") && a.getT().getDataType() == FLOAT) {
                    float[] v = Tensors.toFloatArray(a.getT());
                    short[] bits = new short[v.length];
                    for (int k = 0; k < v.length; k++) {
                        bits[k] = target.encodeSaturating(v[k]);
                    }
                    b.setAttribute(i, a.toBuilder().setT(lowTensor(a.getT().getName(), a.getT(), bits)));
                }
            }
            if (op.equals("ConstantOfShape") && Nodes.attribute(n, "value").isEmpty()) {
                b.addAttribute(OnnxMl.AttributeProto.newBuilder().setName("value")
                    .setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                    .setT(HalfTensors.tensor("", target.onnxType(), new long[] {1}, new short[] {0})));
            }
            if (DTYPE_ATTRIBUTE_OPS.contains(op) && Nodes.attribute(n, "dtype").isEmpty()
                && (op.startsWith("Random") && !op.endsWith("Like"))) {
                b.addAttribute(Nodes.intAttribute("dtype", target.onnxType()));
            }
        }

        /** Removes Cast→Cast chains between float types (see class doc). */
        private void removeCastPairs() {
            Set<String> graphOutputs = new HashSet<>();
            editor.build().graph().getOutputList().forEach(v -> graphOutputs.add(v.getName()));
            boolean changed = true;
            while (changed) {
                changed = false;
                for (OnnxMl.NodeProto second : editor.nodes()) {
                    if (!isCastToFloat(second) || !FLOAT_TYPES.contains(finalType(second.getInput(0)))) {
                        continue;
                    }
                    Optional<OnnxMl.NodeProto> first = editor.producer(second.getInput(0));
                    if (first.isEmpty() || !isCastToFloat(first.get())) {
                        continue;
                    }
                    String source = first.get().getInput(0);
                    int to = (int) Nodes.intAttribute(second, "to", 0);
                    String out = second.getOutput(0);
                    if (finalType(source) == to && !graphOutputs.contains(out)) {
                        editor.removeNode(second.getName());
                        for (OnnxMl.NodeProto reader : editor.consumers(out)) {
                            OnnxMl.NodeProto.Builder b = reader.toBuilder();
                            for (int i = 0; i < b.getInputCount(); i++) {
                                if (b.getInput(i).equals(out)) {
                                    b.setInput(i, source);
                                }
                            }
                            editor.replaceNode(reader.getName(), List.of(b.build()));
                        }
                    } else {
                        editor.replaceNode(second.getName(), List.of(second.toBuilder().setInput(0, source).build()));
                    }
                    String mid = first.get().getOutput(0);
                    if (editor.consumers(mid).isEmpty() && !graphOutputs.contains(mid)) {
                        editor.removeNode(first.get().getName());
                        if (decisions.containsKey(first.get().getName())) {
                            CastNodeDecision d = decisions.get(first.get().getName());
                            decisions.put(d.node(), new CastNodeDecision(d.node(), d.opType(), false,
                                "removed: it only fed another Cast between float types"));
                        }
                    }
                    changed = true;
                    break;
                }
            }
        }

        private static boolean isCastToFloat(OnnxMl.NodeProto n) {
            return n.getOpType().equals("Cast") && isDefaultDomain(n)
                && FLOAT_TYPES.contains((int) Nodes.intAttribute(n, "to", 0));
        }

        private int finalType(String tensor) {
            Integer t = finalTypes.get(tensor);
            if (t != null) {
                return t;
            }
            Optional<OnnxMl.NodeProto> producer = editor.producer(tensor);
            if (producer.isPresent() && producer.get().getOpType().equals("Cast")) {
                return (int) Nodes.intAttribute(producer.get(), "to", 0);
            }
            Optional<OnnxMl.TensorProto> init = editor.initializer(tensor);
            return init.map(OnnxMl.TensorProto::getDataType).orElse(typeOf(tensor));
        }

        /** Builds the model and writes the converted types into inputs, outputs and value_info. */
        private OnnxModel finish() {
            OnnxModel built = editor.build();
            OnnxMl.GraphProto.Builder g = built.graph().toBuilder();
            for (int i = 0; i < g.getInputCount(); i++) {
                g.setInput(i, retyped(g.getInput(i)));
            }
            for (int i = 0; i < g.getOutputCount(); i++) {
                g.setOutput(i, retyped(g.getOutput(i)));
            }
            for (int i = 0; i < g.getValueInfoCount(); i++) {
                g.setValueInfo(i, retyped(g.getValueInfo(i)));
            }
            return OnnxModel.wrap(built.proto().toBuilder().setGraph(g).build());
        }

        private OnnxMl.ValueInfoProto retyped(OnnxMl.ValueInfoProto v) {
            if (!v.hasType() || !v.getType().hasTensorType() || v.getType().getTensorType().getElemType() != FLOAT) {
                return v;
            }
            int t = finalType(v.getName());
            if (t == 0 || t == FLOAT) {
                return v;
            }
            return v.toBuilder().setType(v.getType().toBuilder().setTensorType(
                v.getType().getTensorType().toBuilder().setElemType(t))).build();
        }

        // ---- helpers ----

        private static boolean isDefaultDomain(OnnxMl.NodeProto n) {
            return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
        }

        private static boolean hasSubgraph(OnnxMl.NodeProto n) {
            return n.getAttributeList().stream().anyMatch(a -> a.hasG() || a.getGraphsCount() > 0);
        }

        private static void collectSubgraphReads(OnnxMl.NodeProto node, Set<String> into) {
            for (OnnxMl.AttributeProto a : node.getAttributeList()) {
                if (a.hasG()) {
                    a.getG().getNodeList().forEach(n -> {
                        into.addAll(n.getInputList());
                        collectSubgraphReads(n, into);
                    });
                }
                for (OnnxMl.GraphProto sub : a.getGraphsList()) {
                    sub.getNodeList().forEach(n -> {
                        into.addAll(n.getInputList());
                        collectSubgraphReads(n, into);
                    });
                }
            }
        }
    }
}
