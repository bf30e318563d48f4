package dev.quantflow.runtime.calib;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.calib.CalibrationObserver;
import dev.quantflow.quant.calib.Calibrators;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.dataset.SampleAxes;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Runs an fp32 model over calibration data and records the range of each requested tensor.
 *
 * <p>Batches are streamed: each batch's activations are merged into fixed-size per-tensor statistics
 * ({@link CalibrationObserver}: min/max, a 2048-bin histogram when the calibrator or the outlier summary needs one,
 * per-sample moving average, optional per-channel min/max) and dropped, so the calibration's working memory depends on
 * the rows of one run and the number of tensors, never on the number of samples. The rows of one run are at most
 * {@code batchSize} and are cut further so that the fetched activations of a run stay under a byte budget
 * ({@link #DEFAULT_FETCH_BUDGET_BYTES}); the first run has one row and measures the bytes per row. The calibrator
 * ({@link CalibrationOptions#calibrator()}, any {@link Calibrators#parse} recipe) turns the statistics into ranges
 * at the end.
 *
 * <p>ONNX Runtime cannot expose intermediate tensors, so the requested tensors are added as graph outputs
 * ({@link OnnxModel#withAdditionalOutputs}) and fetched on every batch. Requested tensors that are graph inputs are
 * observed from the fed data itself. The session uses {@code BASIC_OPT}: constant folding and redundant-node removal
 * only, which leave every computed value as the graph defines it. The first {@code maxSamples} samples are used, in
 * file order, so the same model, data and options always give the same statistics.
 */
public final class CalibrationRunner {

    private CalibrationRunner() {
    }

    /**
     * @param fp32ModelBytes serialized ONNX model
     * @param tensorNames tensors to calibrate (graph inputs or node outputs, float); duplicates are ignored
     * @param data one array per model input (see {@link DatasetCheck}); {@code labels} is not used
     * @param listener told after every batch; the pass stops with a {@link CancellationException} if the thread is
     *                 interrupted between batches
     * @throws DatasetException if the data does not fit the model (all problems in one message)
     * @throws CalibrationException for an unknown, non-float or empty tensor, or a NaN/Inf value (naming the tensor)
     * @throws ModelRunException if ONNX Runtime cannot load or run the model
     */
    public static ActivationStatistics run(byte[] fp32ModelBytes, List<String> tensorNames, NpzArchive data,
                                           CalibrationOptions options, ProgressListener listener) {
        return run(fp32ModelBytes, tensorNames, data, options, listener, DEFAULT_FETCH_BUDGET_BYTES);
    }

    /**
     * Bytes of fetched activations one model run may return, by default. ONNX Runtime hands back every requested
     * intermediate tensor of a run at once (graph outputs are never reused by its memory planner), so a run of
     * {@code batchSize} rows of a large-activation model (PaddleOCR det at 320x320: hundreds of MB per sample) would
     * hold gigabytes; the rows of a run are cut so that their fetched bytes stay under this budget.
     */
    public static final long DEFAULT_FETCH_BUDGET_BYTES = 256L << 20;

    /**
     * As {@link #run(byte[], List, NpzArchive, CalibrationOptions, ProgressListener)}, with the bytes of fetched
     * activations one model run may return: the first run has one row and measures the fetched bytes per row; later
     * runs take {@code max(1, min(batchSize, fetchBudgetBytes / bytesPerRow))} rows. The statistics do not depend on
     * how the samples are cut into runs.
     */
    public static ActivationStatistics run(byte[] fp32ModelBytes, List<String> tensorNames, NpzArchive data,
                                           CalibrationOptions options, ProgressListener listener,
                                           long fetchBudgetBytes) {
        if (fetchBudgetBytes < 1) {
            throw new IllegalArgumentException("fetchBudgetBytes must be >= 1, was " + fetchBudgetBytes);
        }
        OnnxModel model = OnnxModel.parse(fp32ModelBytes);
        List<String> problems = DatasetCheck.check(model, data, false);
        if (!problems.isEmpty()) {
            throw new DatasetException(String.join(" ", problems));
        }
        Set<String> requested = new LinkedHashSet<>(tensorNames);
        if (requested.isEmpty()) {
            throw new CalibrationException("no tensors were named for calibration");
        }
        List<String> inputNames = model.inputs().stream().map(OnnxModel.ValueInfo::name).toList();
        List<String> fromGraph = classify(model, requested, inputNames, data);

        int total = SampleAxes.samples(model, data);
        int samples = options.maxSamples() > 0 ? Math.min(options.maxSamples(), total) : total;
        CalibrationObserver observer = new CalibrationObserver(Calibrators.parse(options.calibrator()),
            options.perChannel(), options.outlierSummary());

        OrtSession session = fromGraph.isEmpty() ? null : openWithOutputs(model, fromGraph, options.intraOpThreads());
        try {
            Set<String> fetch = new LinkedHashSet<>(fromGraph);
            int step = session == null ? options.batchSize() : 1;
            for (int from = 0; from < samples; ) {
                if (Thread.interrupted()) {
                    throw new CancellationException("calibration interrupted after " + from + " of " + samples + " samples");
                }
                int to = Math.min(samples, from + step);
                for (String name : requested) {
                    if (inputNames.contains(name)) {
                        NdArray whole = data.array(name);
                        NdArray batch = SampleAxes.slice(whole, SampleAxes.axis(model,
                            model.inputs().get(inputNames.indexOf(name)), whole), from, to);
                        float[] values = batch.toFloats();
                        observer.observe(name, values, 0, values.length, to - from, batch.shape());
                    }
                }
                if (session != null) {
                    long bytes = runBatch(session, data, from, to, fetch, observer);
                    long perRow = Math.max(1, bytes / (to - from));
                    step = (int) Math.max(1, Math.min(options.batchSize(), fetchBudgetBytes / perRow));
                }
                listener.onProgress(to, samples);
                from = to;
            }
        } finally {
            if (session != null) {
                closeQuietly(session);
            }
        }
        return observer.toStatistics(samples, requested);
    }

    /**
     * Per-channel {@code max |x|} over the last axis of each named activation, over all calibration samples: the
     * statistics SmoothQuant needs ({@link dev.quantflow.quant.dynamic.SmoothQuant#accumulateAbsMax}). Streams batch
     * by batch; memory is one batch plus one float per channel.
     *
     * @throws CalibrationException for a non-float tensor
     * @throws ModelRunException if ONNX Runtime cannot load or run the model
     */
    public static Map<String, float[]> channelAbsMax(byte[] fp32ModelBytes, List<String> tensorNames, NpzArchive data,
                                                     CalibrationOptions options, ProgressListener listener) {
        OnnxModel model = OnnxModel.parse(fp32ModelBytes);
        List<String> problems = DatasetCheck.check(model, data, false);
        if (!problems.isEmpty()) {
            throw new DatasetException(String.join(" ", problems));
        }
        Map<String, float[]> max = new java.util.LinkedHashMap<>();
        if (tensorNames.isEmpty()) {
            return max;
        }
        String first = model.inputs().get(0).name();
        int total = SampleAxes.samples(model, data);
        int samples = options.maxSamples() > 0 ? Math.min(options.maxSamples(), total) : total;
        Set<String> fetch = new LinkedHashSet<>(tensorNames);
        OrtSession session = openWithOutputs(model, List.copyOf(fetch), options.intraOpThreads());
        try {
            for (int from = 0; from < samples; from += options.batchSize()) {
                int to = Math.min(samples, from + options.batchSize());
                try (OrtModels.InputBatch batch = OrtModels.feed(session, data, from, to);
                     OrtSession.Result result = session.run(batch.tensors(), fetch)) {
                    for (Map.Entry<String, OnnxValue> e : result) {
                        if (!(e.getValue() instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT) {
                            throw new CalibrationException("tensor '" + e.getKey() + "' is " + describe(e.getValue())
                                + ", not float32");
                        }
                        long[] shape = t.getInfo().getShape();
                        int channels = (int) shape[shape.length - 1];
                        java.nio.FloatBuffer buf = t.getFloatBuffer();
                        float[] values = new float[buf.remaining()];
                        buf.get(values);
                        float[] into = max.computeIfAbsent(e.getKey(), k -> new float[channels]);
                        dev.quantflow.quant.dynamic.SmoothQuant.accumulateAbsMax(values, values.length, into);
                    }
                } catch (OrtException e) {
                    throw new ModelRunException("ONNX Runtime failed on samples [" + from + ", " + to + "): " + e.getMessage(), e);
                }
                listener.onProgress(to, samples);
            }
        } finally {
            closeQuietly(session);
        }
        return max;
    }

    /** Runs rows [from, to), observes every fetched tensor and returns the bytes fetched. */
    private static long runBatch(OrtSession session, NpzArchive data, int from, int to, Set<String> fetch,
                                 CalibrationObserver observer) {
        long bytes = 0;
        try (OrtModels.InputBatch batch = OrtModels.feed(session, data, from, to);
             OrtSession.Result result = session.run(batch.tensors(), fetch)) {
            for (Map.Entry<String, OnnxValue> e : result) {
                if (!(e.getValue() instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT) {
                    throw new CalibrationException("tensor '" + e.getKey() + "' is " + describe(e.getValue())
                        + ", not float32; only float32 activations can be calibrated");
                }
                observer.observe(e.getKey(), t.getFloatBuffer(), to - from, t.getInfo().getShape());
                bytes += t.getInfo().getNumElements() * Float.BYTES;
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed on samples [" + from + ", " + to + "): " + e.getMessage(), e);
        }
        return bytes;
    }

    /** Checks every requested name and returns those that must be fetched from the graph (not graph inputs). */
    private static List<String> classify(OnnxModel model, Set<String> requested, List<String> inputNames, NpzArchive data) {
        Set<String> nodeOutputs = new HashSet<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            nodeOutputs.addAll(n.getOutputList());
        }
        Set<String> initializers = model.initializerNames();
        List<String> unknown = new ArrayList<>();
        List<String> fromGraph = new ArrayList<>();
        for (String name : requested) {
            if (inputNames.contains(name)) {
                NdArray array = data.array(name);
                if (!array.isFloat()) {
                    throw new CalibrationException("tensor '" + name + "' is a " + array.dtypeName()
                        + " graph input; only float activations can be calibrated");
                }
            } else if (initializers.contains(name)) {
                throw new CalibrationException("tensor '" + name + "' is a weight (initializer), not an activation; "
                    + "weights are quantized from their values, not calibrated");
            } else if (nodeOutputs.contains(name)) {
                fromGraph.add(name);
            } else {
                unknown.add(name);
            }
        }
        if (!unknown.isEmpty()) {
            throw new CalibrationException("tensor(s) " + unknown + " are not in the model (neither a graph input nor a "
                + "node output)");
        }
        return fromGraph;
    }

    /**
     * Every tensor worth calibrating when the caller has no list: float graph inputs, then float node outputs in
     * node order, leaving out tensors that do not depend on any graph input (they are constants, such as reshaped
     * weights). Element types come from ONNX Runtime's own type inference: the node outputs are added as untyped
     * graph outputs and the loaded session reports their types, so a model without {@code value_info} works too.
     *
     * @throws ModelRunException if ONNX Runtime cannot load the model
     */
    public static List<String> allFloatActivations(OnnxModel model) {
        Set<String> dynamic = new HashSet<>();
        List<String> result = new ArrayList<>();
        for (OnnxModel.ValueInfo in : model.inputs()) {
            dynamic.add(in.name());
            if (in.elemType() == OnnxMl.TensorProto.DataType.FLOAT.getNumber()) {
                result.add(in.name());
            }
        }
        List<String> candidates = new ArrayList<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getInputList().stream().anyMatch(dynamic::contains)) {
                for (String out : n.getOutputList()) {
                    if (!out.isEmpty() && dynamic.add(out)) {
                        candidates.add(out);
                    }
                }
            }
        }
        if (candidates.isEmpty()) {
            return result;
        }
        Map<String, OnnxJavaType> types = inferTypes(model, candidates);
        for (String c : candidates) {
            if (types.get(c) == OnnxJavaType.FLOAT) {
                result.add(c);
            }
        }
        return result;
    }

    /**
     * Opens a session whose graph also outputs {@code tensors}. {@link OnnxModel#withAdditionalOutputs} declares a
     * tensor without {@code value_info} as float, so a non-float tensor makes ONNX Runtime refuse the model; in that
     * case the types are looked up to say which tensor is at fault.
     */
    private static OrtSession openWithOutputs(OnnxModel model, List<String> tensors, int threads) {
        try {
            return OrtModels.createSession(model.withAdditionalOutputs(tensors).toByteArray(), threads,
                OrtSession.SessionOptions.OptLevel.BASIC_OPT);
        } catch (ModelRunException e) {
            Map<String, OnnxJavaType> types = inferTypes(model, tensors);
            for (String t : tensors) {
                OnnxJavaType type = types.get(t);
                if (type != null && type != OnnxJavaType.FLOAT) {
                    throw new CalibrationException("tensor '" + t + "' is " + type.name().toLowerCase()
                        + ", not float32; only float32 activations can be calibrated", e);
                }
            }
            throw e;
        }
    }

    /**
     * Element types of the named tensors as ONNX Runtime infers them: they are added as untyped graph outputs and the
     * loaded session reports their types (works for models without {@code value_info}). Absent if not a tensor.
     */
    private static Map<String, OnnxJavaType> inferTypes(OnnxModel model, List<String> tensors) {
        Set<String> outputs = new HashSet<>();
        model.graph().getOutputList().forEach(o -> outputs.add(o.getName()));
        OnnxMl.GraphProto.Builder g = model.graph().toBuilder();
        for (String t : tensors) {
            if (outputs.add(t)) {
                g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(t));
            }
        }
        byte[] probe = model.proto().toBuilder().setGraph(g).build().toByteArray();
        Map<String, OnnxJavaType> types = new HashMap<>();
        try (OrtSession session = OrtModels.createSession(probe, 1, OrtSession.SessionOptions.OptLevel.NO_OPT)) {
            for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
                if (e.getValue().getInfo() instanceof TensorInfo ti) {
                    types.put(e.getKey(), ti.type);
                }
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime cannot read the model's tensor types: " + e.getMessage(), e);
        }
        return types;
    }

    private static String describe(OnnxValue value) {
        if (value instanceof OnnxTensor t) {
            return t.getInfo().type.name().toLowerCase();
        }
        return "not a tensor (" + value.getType() + ")";
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            // Nothing to recover: the session's native memory is released or lost either way.
        }
    }
}
