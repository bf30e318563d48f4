package dev.quantflow.runtime.diagnostics;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Per-layer diagnostics: runs an fp32 model and its QDQ-quantized version on the same samples and measures, node by
 * node, how much of the fp32 signal survives quantization.
 *
 * <h2>SQNR</h2>
 * For an fp32 tensor {@code x} and the quantized model's value {@code x̂} of the same tensor, over every element of
 * every compared sample:
 * <pre>  SQNR = 10 · log10( Σ x² / Σ (x − x̂)² )  dB</pre>
 * capped to ±{@value #SQNR_CAP_DB} dB: identical values (no noise, including two all-zero tensors) give
 * +{@value #SQNR_CAP_DB}, a zero signal with some noise gives −{@value #SQNR_CAP_DB}. A NaN anywhere gives NaN. Sums
 * are taken in double. Rule of thumb: each bit of an 8-bit grid is worth about 6 dB, so a single well-calibrated
 * uint8 quantization of a tensor gives 35–45 dB, and error accumulates layer after layer.
 *
 * <h2>Which tensors are compared</h2>
 * Every node of the fp32 graph whose first output is a float activation (one that depends on a graph input; see
 * {@link CalibrationRunner#allFloatActivations}) gets one {@link LayerReport}, in graph order. Its output {@code x̂} is
 * the dequantized value the next layer consumes: the output of a DequantizeLinear of the node's QuantizeLinear, or the
 * node's own output where it is not quantized; where the quantizer folded a Relu into the node, the Relu's output is
 * the fp32 tensor compared, and the Relu's own row says so and is not compared. Tensors are matched by node name and
 * output position and checked before use; a node that cannot be matched with certainty is skipped with the reason,
 * never compared with another tensor (the rules are in {@link QdqGraphMatch}). Only the first output of a node is
 * compared.
 *
 * <h2>Error a layer adds</h2>
 * {@code inputSqnrDb} is the SQNR of the node's activation inputs <i>as the node reads them in the quantized model</i>
 * — after their DequantizeLinear when it reads them quantized — against the fp32 model's inputs, with signal and
 * noise energies summed over all its activation inputs (so an Add's two inputs count by their energy). For the first
 * layer this is the SQNR of the quantized graph input. Two figures follow from it and the output SQNR:
 * <ul>
 *   <li>{@code addedErrorDb = inputSqnrDb − sqnrDb}: the dB the layer loses between what it reads and what it hands
 *       on. Easy to read along a chain, but not comparable between layers: a layer whose input is almost exact (an
 *       image of {@code k/255} pixels quantizes without error, ~145 dB) shows a drop of 100 dB for the same noise
 *       that costs a later layer 3 dB.</li>
 *   <li>{@code layerSqnrDb = −10·log10(NSR_out − NSR_in)}, {@code NSR = 10^(−SQNR/10)} (noise-to-signal power
 *       ratio): the SQNR the layer would have on its own, under the model that it passes its input's relative noise
 *       through unchanged and adds independent noise of its own (weight quantization, output requantization, the
 *       Relu folded into it). This is a cheap estimate of the ideal — running each quantized layer on the fp32
 *       model's inputs — and comparable across layers; +{@value #SQNR_CAP_DB} when {@code NSR_out ≤ NSR_in}, i.e.
 *       when the layer's own noise is hidden by how it transforms the noise it receives (a Gemm may raise the SQNR).
 *       </li>
 * </ul>
 * The quantization of a tensor that enters the integer domain from fp32 (a graph input, or the output of a node kept
 * in fp32) is in neither figure of any layer: it shows as that reader's low {@code inputSqnrDb}. Errors are not
 * additive in dB, so the figures of successive layers do not sum to the output SQNR.
 *
 * <h2>How the models run</h2>
 * Both run in ONNX Runtime with {@code BASIC_OPT} on the first {@link DiagnosticsOptions#maxSamples} samples in file
 * order, batch by batch; the compared tensors are added as graph outputs (ONNX Runtime cannot expose intermediate
 * tensors otherwise). Memory is bounded: the layers are compared in groups whose fetched tensors stay within
 * {@link #DEFAULT_FETCH_BUDGET_BYTES} per run (fewer samples per run, or one layer at a time, for large activations),
 * read in place from ONNX Runtime's buffers. The quantized model therefore runs as its QDQ graph is written (fp32 arithmetic on dequantized
 * values). The integer kernels ONNX Runtime fuses at deployment compute the same values up to float rounding in
 * requantization (exactly, with the quantizer's saturation-safe reduced-range weights). Deterministic.
 */
public final class LayerDiagnostics {

    /** Largest |SQNR| reported, in dB (a finite stand-in for identical tensors or a zero signal). */
    public static final double SQNR_CAP_DB = 200.0;

    private LayerDiagnostics() {
    }

    /**
     * Compares every layer of {@code quantizedModel} (a QDQ model made from {@code fp32Model} by
     * {@link dev.quantflow.quant.qdq.StaticQdqQuantizer}, which keeps node names) with {@code fp32Model}.
     *
     * @param data one array per model input (see {@link DatasetCheck}); {@code labels} is not used
     * @return one report per node with a float output, in the fp32 graph's order
     * @throws DatasetException if the data does not fit either model
     * @throws ModelRunException if ONNX Runtime cannot load or run a model
     * @throws CancellationException if the thread is interrupted between batches
     */
    public static List<LayerReport> compare(byte[] fp32Model, byte[] quantizedModel, NpzArchive data,
                                            DiagnosticsOptions options) {
        return compare(fp32Model, quantizedModel, data, options, DEFAULT_FETCH_BUDGET_BYTES);
    }

    /** As {@link #compare(byte[], byte[], NpzArchive, DiagnosticsOptions)}, with the fetch budget per model run. */
    static List<LayerReport> compare(byte[] fp32Model, byte[] quantizedModel, NpzArchive data,
                                     DiagnosticsOptions options, long fetchBudgetBytes) {
        Objects.requireNonNull(options, "options");
        OnnxModel fp32 = OnnxModel.parse(fp32Model);
        OnnxModel quantized = OnnxModel.parse(quantizedModel);
        List<String> problems = new ArrayList<>(DatasetCheck.check(fp32, data, false));
        if (problems.isEmpty()) {
            DatasetCheck.check(quantized, data, false).forEach(p -> problems.add("quantized model: " + p));
        }
        if (!problems.isEmpty()) {
            throw new DatasetException(String.join(" ", problems));
        }
        List<QdqGraphMatch.Layer> layers = QdqGraphMatch.match(fp32, quantized,
            CalibrationRunner.allFloatActivations(fp32));

        Set<QdqGraphMatch.TensorPair> pairs = new LinkedHashSet<>();
        for (QdqGraphMatch.Layer l : layers) {
            if (l.output() != null) {
                pairs.add(l.output());
                if (l.inputs() != null) {
                    pairs.addAll(l.inputs());
                }
            }
        }
        Map<QdqGraphMatch.TensorPair, SqnrAccumulator> sums = new LinkedHashMap<>();
        Map<QdqGraphMatch.TensorPair, String> mismatched = new HashMap<>();
        if (!pairs.isEmpty()) {
            accumulate(fp32, quantized, data, options, pairs, sums, mismatched, fetchBudgetBytes);
        }

        List<LayerReport> reports = new ArrayList<>(layers.size());
        for (QdqGraphMatch.Layer l : layers) {
            reports.add(report(l, sums, mismatched));
        }
        return List.copyOf(reports);
    }

    /**
     * Node names of at most {@code n} quantized layers that add the most noise of their own: lowest
     * {@link LayerReport#layerSqnrDb()} first, the layers to keep in fp32 first.
     *
     * <p>Ranked by the layer's own SQNR, not by its output SQNR, because output SQNR is cumulative: every layer
     * downstream of a badly quantized one has a low SQNR too, often lower than the culprit's, so ranking by it points
     * at the end of the graph. Not by {@code addedErrorDb} either, which blames a first layer with a near-exact input
     * (see the class doc). Only compared, quantized layers that add measurable noise (below
     * {@value #SQNR_CAP_DB} dB) are ranked; a NaN ranks first (the quantized model produced a NaN there). Ties go to
     * the lower output SQNR, then to the node name in string order.
     */
    public static List<String> mostSensitive(List<LayerReport> reports, int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, was " + n);
        }
        return reports.stream()
            .filter(r -> r.quantized() && r.compared() && r.layerSqnrDb() != null
                && !(r.layerSqnrDb() >= SQNR_CAP_DB))
            .sorted(Comparator.comparingDouble((LayerReport r) -> nanFirst(r.layerSqnrDb()))
                .thenComparingDouble(r -> nanFirst(r.sqnrDb()))
                .thenComparing(LayerReport::node))
            .limit(n)
            .map(LayerReport::node)
            .toList();
    }

    /** {@link #noisyPrefix}: a quantized layer whose own SQNR is below this adds noise of ≥ 1/10 of its signal. */
    public static final double NOISY_LAYER_DB = 10.0;

    /** {@link #noisyPrefix}: how far into the graph (fraction of its compared layers) the rule looks. */
    public static final double NOISY_PREFIX_FRACTION = 0.10;

    /**
     * The graph prefix to keep fp32 when the front of the network amplifies quantization noise.
     *
     * @param node         the last noisy layer of the prefix (see {@link #noisyPrefix})
     * @param layerSqnrDb  its own SQNR
     * @param inputSqnrDb  the SQNR of what it reads in the quantized model
     * @param sqnrDb       its output SQNR
     * @param nodes        every reported node from the first through {@code node}, in graph order
     * @param graphLayers  how many layers the report has
     */
    public record NoisyPrefix(String node, double layerSqnrDb, double inputSqnrDb, double sqnrDb, List<String> nodes,
                              int graphLayers) {

        public NoisyPrefix {
            nodes = List.copyOf(nodes);
        }

        /** The rule in numbers, for the report. */
        public String reason() {
            return String.format(java.util.Locale.ROOT, "graph prefix kept fp32: %s (layer %d of %d, within the first"
                    + " %.0f%%) adds noise at %.1f dB own SQNR (< %.0f dB), input %.1f dB -> output %.1f dB; it amplifies"
                    + " the quantization noise of what it reads, so only an fp32 prefix gives it an exact input",
                node, nodes.size(), graphLayers, NOISY_PREFIX_FRACTION * 100, layerSqnrDb, NOISY_LAYER_DB,
                inputSqnrDb, sqnrDb);
        }
    }

    /**
     * The front of the graph to keep in fp32, or empty: the last quantized, compared layer among the first
     * {@value #NOISY_PREFIX_FRACTION} of the reports (graph order, at least one) whose own SQNR
     * ({@link LayerReport#layerSqnrDb}) is below {@value #NOISY_LAYER_DB} dB, with every node before it.
     *
     * <p>Why a prefix and not the layer: a layer with a low own SQNR and weights that quantize well (a 3×3 depthwise
     * conv whose taps nearly cancel, a stride-2 high-pass) does not make noise, it amplifies the relative noise of its
     * input (under the estimate's model that the input's relative noise passes through unchanged, that shows as the
     * layer's own noise). Kept fp32 alone, it still reads the dequantized input and the noise is the same; the input is
     * exact only if everything before it is fp32. On PaddleOCR's PP-OCRv4 detector the 4th conv (3×3 depthwise,
     * stride 2; weights 42 dB) turns a 14.3 dB input into a 2.6 dB output: keeping it and the 10 layers after it fp32
     * changed nothing (mean IoU 0.919), keeping its 14-node prefix fp32 gave 0.961 (docs/benchmarks.md). The rule
     * looks at the front only: there the prefix is small, a few per cent of the layers; deeper, it would be most of
     * the model.
     */
    public static Optional<NoisyPrefix> noisyPrefix(List<LayerReport> reports) {
        int window = Math.max(1, (int) Math.ceil(NOISY_PREFIX_FRACTION * reports.size()));
        int last = -1;
        for (int i = 0; i < Math.min(window, reports.size()); i++) {
            LayerReport r = reports.get(i);
            if (r.quantized() && r.compared() && r.layerSqnrDb() != null && r.inputSqnrDb() != null
                && r.layerSqnrDb() < NOISY_LAYER_DB) {
                last = i;
            }
        }
        if (last < 0) {
            return Optional.empty();
        }
        LayerReport r = reports.get(last);
        List<String> nodes = reports.subList(0, last + 1).stream().map(LayerReport::node).toList();
        return Optional.of(new NoisyPrefix(r.node(), r.layerSqnrDb(), r.inputSqnrDb(), r.sqnrDb(), nodes,
            reports.size()));
    }

    /**
     * The SQNR of the noise a layer adds by itself, from its input and output SQNR (see the class doc):
     * {@code −10·log10(10^(−out/10) − 10^(−in/10))}, capped to ±{@value #SQNR_CAP_DB}; +cap when the output is no
     * noisier than the input; NaN if either is NaN.
     */
    static double layerSqnrDb(double inputSqnrDb, double outputSqnrDb) {
        if (Double.isNaN(inputSqnrDb) || Double.isNaN(outputSqnrDb)) {
            return Double.NaN;
        }
        double added = Math.pow(10, -outputSqnrDb / 10) - Math.pow(10, -inputSqnrDb / 10);
        return added <= 0 ? SQNR_CAP_DB : sqnrDb(1.0, added);
    }

    private static double nanFirst(double v) {
        return Double.isNaN(v) ? Double.NEGATIVE_INFINITY : v;
    }

    /**
     * {@code 10 · log10(Σ x² / Σ (x − x̂)²)} in dB, capped to ±{@value #SQNR_CAP_DB} (see the class doc).
     *
     * @throws IllegalArgumentException if the arrays differ in length
     */
    public static double sqnrDb(float[] reference, float[] approx) {
        SqnrAccumulator acc = new SqnrAccumulator();
        acc.add(reference, approx);
        return acc.sqnrDb();
    }

    /** SQNR from the energy sums: no noise → +cap, no signal (with noise) → −cap, NaN stays NaN. */
    static double sqnrDb(double signalEnergy, double noiseEnergy) {
        if (Double.isNaN(signalEnergy) || Double.isNaN(noiseEnergy)) {
            return Double.NaN;
        }
        if (noiseEnergy == 0) {
            return SQNR_CAP_DB;
        }
        if (signalEnergy == 0) {
            return -SQNR_CAP_DB;
        }
        double db = 10 * Math.log10(signalEnergy / noiseEnergy);
        return Math.max(-SQNR_CAP_DB, Math.min(SQNR_CAP_DB, db));
    }

    private static LayerReport report(QdqGraphMatch.Layer l, Map<QdqGraphMatch.TensorPair, SqnrAccumulator> sums,
                                      Map<QdqGraphMatch.TensorPair, String> mismatched) {
        if (l.output() == null) {
            return new LayerReport(l.node(), l.opType(), l.tensor(), l.quantized(), null, null, null, null,
                l.skipReason());
        }
        if (mismatched.containsKey(l.output())) {
            return new LayerReport(l.node(), l.opType(), l.tensor(), l.quantized(), null, null, null, null,
                mismatched.get(l.output()));
        }
        double sqnr = sums.get(l.output()).sqnrDb();
        Double inputSqnr = null;
        if (l.inputs() != null && !l.inputs().isEmpty() && l.inputs().stream().noneMatch(mismatched::containsKey)) {
            SqnrAccumulator pooled = new SqnrAccumulator();
            l.inputs().forEach(p -> pooled.add(sums.get(p)));
            inputSqnr = pooled.sqnrDb();
        }
        if (inputSqnr == null) {
            return new LayerReport(l.node(), l.opType(), l.tensor(), l.quantized(), sqnr, null, null, null, null);
        }
        return new LayerReport(l.node(), l.opType(), l.tensor(), l.quantized(), sqnr, inputSqnr, inputSqnr - sqnr,
            layerSqnrDb(inputSqnr, sqnr), null);
    }

    /**
     * Bytes of fetched tensors one model run may return, by default. ONNX Runtime hands back every requested tensor of
     * a run at once, so fetching every layer of a large-activation model (PaddleOCR det at 320×320: hundreds of MB
     * per sample and model) for a whole batch held gigabytes and killed the validator; layers are compared a group at
     * a time instead (see {@link #groups}).
     */
    public static final long DEFAULT_FETCH_BUDGET_BYTES = 128L << 20;

    private static void accumulate(OnnxModel fp32, OnnxModel quantized, NpzArchive data, DiagnosticsOptions options,
                                   Set<QdqGraphMatch.TensorPair> pairs,
                                   Map<QdqGraphMatch.TensorPair, SqnrAccumulator> sums,
                                   Map<QdqGraphMatch.TensorPair, String> mismatched, long fetchBudgetBytes) {
        Set<String> fpInputs = new LinkedHashSet<>();
        fp32.inputs().forEach(v -> fpInputs.add(v.name()));
        Set<String> qInputs = new LinkedHashSet<>();
        quantized.inputs().forEach(v -> qInputs.add(v.name()));
        for (QdqGraphMatch.TensorPair p : pairs) {
            sums.put(p, new SqnrAccumulator());
        }
        int total = dev.quantflow.runtime.dataset.SampleAxes.samples(fp32, data);
        int samples = options.maxSamples() > 0 ? Math.min(options.maxSamples(), total) : total;
        Map<String, Long> bytesPerRow = probe(fp32, pairs, fpInputs, data, options);
        for (Group g : groups(pairs, bytesPerRow, options.batchSize(), fetchBudgetBytes)) {
            compareGroup(fp32, quantized, data, options, g, samples, fpInputs, qInputs, sums, mismatched);
        }
    }

    /** Layers compared together, and how many samples one run of the group takes. */
    record Group(List<QdqGraphMatch.TensorPair> pairs, int rowsPerRun) {
    }

    /**
     * Bytes per sample of each fp32 tensor the pairs compare, from one ONNX Runtime run on the first sample with every
     * such tensor fetched (its sizes only are read; nothing is copied to the heap).
     */
    private static Map<String, Long> probe(OnnxModel fp32, Set<QdqGraphMatch.TensorPair> pairs, Set<String> fpInputs,
                                           NpzArchive data, DiagnosticsOptions options) {
        Set<String> fetch = new LinkedHashSet<>();
        pairs.forEach(p -> {
            if (!fpInputs.contains(p.reference())) {
                fetch.add(p.reference());
            }
        });
        Map<String, Long> bytes = new HashMap<>();
        for (String in : fpInputs) {
            NdArray a = data.array(in);
            bytes.put(in, 4L * a.rowElements());
        }
        if (fetch.isEmpty()) {
            return bytes;
        }
        OrtSession session = open(fp32, fetch, options);
        try (OrtModels.InputBatch batch = OrtModels.feed(session, data, 0, 1);
             OrtSession.Result result = session.run(batch.tensors(), fetch)) {
            for (Map.Entry<String, OnnxValue> e : result) {
                if (e.getValue() instanceof OnnxTensor t) {
                    bytes.put(e.getKey(), 4L * t.getInfo().getNumElements());
                }
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed on the fp32 model for sample 0: " + e.getMessage(), e);
        } finally {
            closeQuietly(session);
        }
        return bytes;
    }

    /**
     * Pairs in graph order cut into groups whose fetched bytes per sample (fp32 tensor + its quantized counterpart,
     * each tensor counted once per group) stay within {@code budget}; a group's run takes
     * {@code max(1, min(batchSize, budget / bytesPerSample))} samples. A single pair larger than the budget is a group
     * of its own, one sample per run. The figures do not depend on the grouping: every pair sees every sample once.
     */
    static List<Group> groups(Set<QdqGraphMatch.TensorPair> pairs, Map<String, Long> bytesPerRow, int batchSize,
                              long budget) {
        List<Group> out = new ArrayList<>();
        List<QdqGraphMatch.TensorPair> current = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        long currentBytes = 0;
        for (QdqGraphMatch.TensorPair p : pairs) {
            long add = seen.contains(p.reference()) ? 0 : 2 * bytesPerRow.getOrDefault(p.reference(), 0L);
            if (!current.isEmpty() && currentBytes + add > budget) {
                out.add(new Group(List.copyOf(current), rows(currentBytes, batchSize, budget)));
                current.clear();
                seen.clear();
                currentBytes = 0;
                add = 2 * bytesPerRow.getOrDefault(p.reference(), 0L);
            }
            current.add(p);
            seen.add(p.reference());
            currentBytes += add;
        }
        if (!current.isEmpty()) {
            out.add(new Group(List.copyOf(current), rows(currentBytes, batchSize, budget)));
        }
        return out;
    }

    private static int rows(long bytesPerRow, int batchSize, long budget) {
        return (int) Math.max(1, Math.min(batchSize, bytesPerRow == 0 ? batchSize : budget / bytesPerRow));
    }

    private static void compareGroup(OnnxModel fp32, OnnxModel quantized, NpzArchive data, DiagnosticsOptions options,
                                     Group group, int samples, Set<String> fpInputs, Set<String> qInputs,
                                     Map<QdqGraphMatch.TensorPair, SqnrAccumulator> sums,
                                     Map<QdqGraphMatch.TensorPair, String> mismatched) {
        Set<String> fpFetch = new LinkedHashSet<>();
        Set<String> qFetch = new LinkedHashSet<>();
        for (QdqGraphMatch.TensorPair p : group.pairs()) {
            if (!fpInputs.contains(p.reference())) {
                fpFetch.add(p.reference());
            }
            if (!qInputs.contains(p.quantized())) {
                qFetch.add(p.quantized());
            }
        }
        OrtSession fpSession = open(fp32, fpFetch, options);
        try {
            OrtSession qSession = open(quantized, qFetch, options);
            try {
                for (int from = 0; from < samples; from += group.rowsPerRun()) {
                    if (Thread.interrupted()) {
                        throw new CancellationException("diagnostics interrupted after " + from + " of " + samples
                            + " samples");
                    }
                    int to = Math.min(samples, from + group.rowsPerRun());
                    try (Fetched reference = run(fpSession, fpFetch, fpInputs, data, from, to, "fp32");
                         Fetched approx = run(qSession, qFetch, qInputs, data, from, to, "quantized")) {
                        for (QdqGraphMatch.TensorPair p : group.pairs()) {
                            if (mismatched.containsKey(p)) {
                                continue;
                            }
                            FloatBuffer x = reference.get(p.reference());
                            FloatBuffer xHat = approx.get(p.quantized());
                            if (x.remaining() != xHat.remaining()) {
                                mismatched.put(p, "the fp32 tensor '" + p.reference() + "' has " + x.remaining()
                                    + " values per batch but its quantized counterpart '" + p.quantized() + "' has "
                                    + xHat.remaining());
                                continue;
                            }
                            sums.get(p).add(x, xHat);
                        }
                    }
                }
            } finally {
                closeQuietly(qSession);
            }
        } finally {
            closeQuietly(fpSession);
        }
    }

    private static OrtSession open(OnnxModel model, Set<String> fetch, DiagnosticsOptions options) {
        return OrtModels.createSession(model.withAdditionalOutputs(List.copyOf(fetch)).toByteArray(),
            options.intraOpThreads(), OrtSession.SessionOptions.OptLevel.BASIC_OPT);
    }

    /** One run's tensors, read in place from ONNX Runtime's buffers; closing releases them. */
    private static final class Fetched implements AutoCloseable {
        private final Map<String, FloatBuffer> values = new HashMap<>();
        private OrtSession.Result result;

        FloatBuffer get(String name) {
            return values.get(name);
        }

        @Override
        public void close() {
            if (result != null) {
                result.close();
            }
        }
    }

    /** The fetched tensors of one batch, plus the graph inputs among {@code inputs} read from the data. */
    private static Fetched run(OrtSession session, Set<String> fetch, Set<String> inputs, NpzArchive data, int from,
                               int to, String which) {
        Fetched out = new Fetched();
        for (String in : inputs) {
            if (data.array(in).isFloat()) {
                out.values.put(in, FloatBuffer.wrap(data.array(in).slice(from, to).toFloats()));
            }
        }
        if (fetch.isEmpty()) {
            return out;
        }
        try (OrtModels.InputBatch batch = OrtModels.feed(session, data, from, to)) {
            out.result = session.run(batch.tensors(), fetch);
            for (Map.Entry<String, OnnxValue> e : out.result) {
                if (!(e.getValue() instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT) {
                    out.close();
                    throw new ModelRunException("the " + which + " model's tensor '" + e.getKey()
                        + "' is not float32 and cannot be compared", null);
                }
                out.values.put(e.getKey(), t.getFloatBuffer());
            }
        } catch (OrtException e) {
            out.close();
            throw new ModelRunException("ONNX Runtime failed on the " + which + " model for samples [" + from + ", "
                + to + "): " + e.getMessage(), e);
        }
        return out;
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            // Nothing to recover: the session's native memory is released or lost either way.
        }
    }
}
