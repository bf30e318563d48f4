package dev.quantflow.runtime.prepare;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.quantflow.onnx.OnnxFormatException;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.prepare.ModelPreparation;
import dev.quantflow.onnx.prepare.PreparationResult;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Prepares a model ({@link ModelPreparation}) and proves in ONNX Runtime that the result computes what the
 * original does. The ORT half of model preparation; the graph rewriting lives in libs/onnx.
 *
 * <ol>
 *   <li><b>Shapes.</b> The original is run once on the first input with every main-graph tensor added as a graph
 *       output (ONNX Runtime cannot expose intermediates otherwise); the shapes it reports are handed to the
 *       rewriting.</li>
 *   <li><b>Prepare</b> in libs/onnx.</li>
 *   <li><b>Check.</b> Original and prepared model run on {@link PreparationOptions#samples()} inputs, one at a time
 *       (batch 1): rows of the given data first, then inputs synthesized with a fixed seed (uniform in [-1, 1]; dims
 *       from the declared input shape, a dynamic first dim = 1, other dynamic dims from
 *       {@link PreparationOptions#inputShapes()}). Every output element must satisfy
 *       {@code |prepared − original| ≤ tolerance · max(1, |original|)} (1e-4 by default). Both sessions run with
 *       ONNX Runtime's graph optimizations off, so what is compared is the two graphs as written.</li>
 * </ol>
 * Any failure is a {@link ModelPreparationException} with the numbers (or the op and opset that could not be
 * upgraded).
 */
public final class ModelPreparer {

    private ModelPreparer() {
    }

    /**
     * @param modelBytes the model as uploaded
     * @param sample     data with one array per model input (rows = samples), or null to synthesize every input
     */
    public static PreparedModel prepare(byte[] modelBytes, NpzArchive sample, PreparationOptions options) {
        Objects.requireNonNull(options, "options");
        OnnxModel original = OnnxModel.parse(modelBytes);
        List<Map<String, NdArray>> inputs = inputs(original, sample, options);
        Map<String, long[]> shapes = intermediateShapes(original, inputs.get(0), options.threads());
        PreparationResult result;
        try {
            result = ModelPreparation.prepare(original, shapes);
        } catch (OnnxFormatException e) {
            throw new ModelPreparationException("model preparation refused: " + e.getMessage(), e);
        }
        PreparationCheck check = compare(original, result.model(), inputs, sample == null ? 0
            : Math.min(options.samples(), rows(original, sample)), options);
        if (!check.passed()) {
            throw new ModelPreparationException("the prepared model does not compute what the original does: "
                + check.summary() + "; preparation did " + result.report().summary());
        }
        return new PreparedModel(result.model(), result.report(), check);
    }

    /** Shapes of every main-graph tensor of {@code model} on one input, from one ONNX Runtime run. */
    public static Map<String, long[]> intermediateShapes(OnnxModel model, Map<String, NdArray> input, int threads) {
        Set<String> outputs = new LinkedHashSet<>();
        model.graph().getOutputList().forEach(o -> outputs.add(o.getName()));
        OnnxMl.GraphProto.Builder g = model.graph().toBuilder();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            for (String out : n.getOutputList()) {
                if (!out.isEmpty() && outputs.add(out)) {
                    g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(out));
                }
            }
        }
        byte[] probe = model.proto().toBuilder().setGraph(g).build().toByteArray();
        Map<String, long[]> shapes = new HashMap<>();
        input.forEach((name, array) -> shapes.put(name, array.shape()));
        try (OrtSession session = session(probe, threads);
             Feed feed = new Feed(input);
             OrtSession.Result r = session.run(feed.tensors)) {
            for (Map.Entry<String, OnnxValue> e : r) {
                if (e.getValue() instanceof OnnxTensor t) {
                    shapes.put(e.getKey(), t.getInfo().getShape());
                }
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime cannot run the original model: " + e.getMessage(), e);
        }
        return shapes;
    }

    /**
     * A sequential CPU session with graph optimizations off (the graph as written is what is compared) and ONNX
     * Runtime's log at ERROR: old exports list their initializers as inputs, which ORT warns about once per tensor.
     */
    private static OrtSession session(byte[] model, int threads) {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            options.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            return OrtModels.environment().createSession(model, options);
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    private static int rows(OnnxModel model, NpzArchive sample) {
        return dev.quantflow.runtime.dataset.SampleAxes.samples(model, sample);
    }

    /** One map (input name → batch-1 array) per compared sample. */
    static List<Map<String, NdArray>> inputs(OnnxModel model, NpzArchive sample, PreparationOptions options) {
        List<Map<String, NdArray>> result = new ArrayList<>();
        int fromData = sample == null ? 0 : Math.min(options.samples(), rows(model, sample));
        for (int i = 0; i < fromData; i++) {
            Map<String, NdArray> row = new LinkedHashMap<>();
            for (OnnxModel.ValueInfo in : model.inputs()) {
                NdArray whole = sample.array(in.name());
                row.put(in.name(), dev.quantflow.runtime.dataset.SampleAxes.slice(whole,
                    dev.quantflow.runtime.dataset.SampleAxes.axis(model, in, whole), i, i + 1));
            }
            result.add(row);
        }
        Random random = new Random(options.seed());
        for (int i = fromData; i < options.samples(); i++) {
            Map<String, NdArray> row = new LinkedHashMap<>();
            for (OnnxModel.ValueInfo in : model.inputs()) {
                // A non-float input (a sample rate, token ids) cannot be made up: the first sample's value is reused.
                boolean reuse = in.elemType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE && !result.isEmpty();
                row.put(in.name(), reuse ? result.get(0).get(in.name()) : synthesize(in, options, random));
            }
            result.add(row);
        }
        return result;
    }

    private static NdArray synthesize(OnnxModel.ValueInfo in, PreparationOptions options, Random random) {
        long[] shape = options.inputShapes().get(in.name());
        if (shape == null) {
            shape = in.shape().clone();
            int sampleAxis = dev.quantflow.runtime.dataset.SampleAxes.axis(shape, in.dimNames().toArray(String[]::new),
                shape.length);
            for (int d = 0; d < shape.length; d++) {
                if (shape[d] < 0) {
                    if (d != sampleAxis) {
                        throw new ModelPreparationException("input '" + in.name() + "' has a dynamic dimension "
                            + (in.dimNames().get(d).isEmpty() ? "" : "'" + in.dimNames().get(d) + "' ") + "at axis "
                            + d + " and no data was given: name its shape to check the prepared model");
                    }
                    shape[d] = 1;
                }
            }
        }
        if (in.elemType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE) {
            throw new ModelPreparationException("input '" + in.name() + "' is " + in.elemTypeName()
                + ": only float inputs can be synthesized; give data to check the prepared model");
        }
        float[] v = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
        for (int i = 0; i < v.length; i++) {
            v[i] = random.nextFloat() * 2 - 1;
        }
        return NdArray.ofFloats(in.name(), v, shape);
    }

    private static PreparationCheck compare(OnnxModel original, OnnxModel prepared, List<Map<String, NdArray>> inputs,
                                            int fromData, PreparationOptions options) {
        double maxAbs = 0;
        double maxScaled = 0;
        String worst = original.outputs().get(0).name();
        try (OrtSession a = session(original.toByteArray(), options.threads());
             OrtSession b = session(prepared.toByteArray(), options.threads())) {
            for (Map<String, NdArray> input : inputs) {
                try (Feed feed = new Feed(input);
                     OrtSession.Result ra = a.run(feed.tensors);
                     OrtSession.Result rb = b.run(feed.tensors)) {
                    for (Map.Entry<String, OnnxValue> e : ra) {
                        String name = e.getKey();
                        var other = rb.get(name);
                        if (other.isEmpty()) {
                            throw new ModelPreparationException("the prepared model lost output '" + name + "'");
                        }
                        double[] x = values((OnnxTensor) e.getValue());
                        double[] y = values((OnnxTensor) other.get());
                        long[] sx = ((OnnxTensor) e.getValue()).getInfo().getShape();
                        long[] sy = ((OnnxTensor) other.get()).getInfo().getShape();
                        if (!Arrays.equals(sx, sy)) {
                            throw new ModelPreparationException("output '" + name + "' has shape "
                                + Arrays.toString(sy) + " in the prepared model, " + Arrays.toString(sx)
                                + " in the original");
                        }
                        for (int i = 0; i < x.length; i++) {
                            double diff = Math.abs(x[i] - y[i]);
                            if (Double.isNaN(diff)) {
                                diff = Double.isNaN(x[i]) && Double.isNaN(y[i]) ? 0 : Double.POSITIVE_INFINITY;
                            }
                            double scaled = diff / Math.max(1, Math.abs(x[i]));
                            maxAbs = Math.max(maxAbs, diff);
                            if (scaled > maxScaled) {
                                maxScaled = scaled;
                                worst = name;
                            }
                        }
                    }
                }
            }
        } catch (OrtException e) {
            throw new ModelPreparationException("ONNX Runtime cannot run the prepared model: " + e.getMessage(), e);
        } catch (ModelRunException e) {
            throw new ModelPreparationException("ONNX Runtime cannot load the prepared model: " + e.getMessage(), e);
        }
        return new PreparationCheck(inputs.size(), fromData, maxAbs, maxScaled, worst, options.tolerance());
    }

    private static double[] values(OnnxTensor t) {
        TensorInfo info = t.getInfo();
        int n = Math.toIntExact(info.getNumElements());
        double[] out = new double[n];
        switch (info.type) {
            case FLOAT -> {
                var b = t.getFloatBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = b.get(i);
                }
            }
            case DOUBLE -> {
                var b = t.getDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = b.get(i);
                }
            }
            case INT64 -> {
                var b = t.getLongBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = b.get(i);
                }
            }
            case INT32 -> {
                var b = t.getIntBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = b.get(i);
                }
            }
            default -> {
                ByteBuffer b = t.getByteBuffer().order(ByteOrder.nativeOrder());
                out = new double[b.remaining()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = b.get(i);
                }
            }
        }
        return out;
    }

    /** Input tensors for one sample. */
    private static final class Feed implements AutoCloseable {
        final Map<String, OnnxTensor> tensors = new LinkedHashMap<>();

        Feed(Map<String, NdArray> input) {
            // Each array is already one sample in its input's layout (a scalar stays a scalar).
            input.forEach((name, array) -> tensors.put(name, OrtModels.whole(array)));
        }

        @Override
        public void close() {
            tensors.values().forEach(OnnxTensor::close);
        }
    }
}
