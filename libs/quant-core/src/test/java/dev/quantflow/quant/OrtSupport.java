package dev.quantflow.quant;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.TensorRange;

/** Test helper: run models in ONNX Runtime, calibrate min/max, inspect what ORT's optimizer made of a graph. */
public final class OrtSupport {

    public static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private OrtSupport() {
    }

    /** Runs {@code model} on one float input and returns every float output. */
    public static Map<String, float[]> run(OnnxModel model, String input, float[] data, long[] shape,
                                           OrtSession.SessionOptions.OptLevel level) {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(level);
            opts.setIntraOpNumThreads(1);
            return run(model.toByteArray(), opts, Map.of(input, tensor(data, shape)));
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Map<String, float[]> run(OnnxModel model, String input, float[] data, long[] shape) {
        return run(model, input, data, shape, OrtSession.SessionOptions.OptLevel.ALL_OPT);
    }

    /** Runs with the given inputs (closed afterwards); float outputs as float[], 8-bit outputs widened to float. */
    public static Map<String, float[]> run(byte[] model, OrtSession.SessionOptions opts, Map<String, OnnxTensor> inputs)
        throws OrtException {
        try (OrtSession session = ENV.createSession(model, opts); OrtSession.Result result = session.run(inputs)) {
            Map<String, float[]> out = new LinkedHashMap<>();
            for (Map.Entry<String, OnnxValue> e : result) {
                OnnxTensor t = (OnnxTensor) e.getValue();
                switch (t.getInfo().type) {
                    case FLOAT -> {
                        FloatBuffer b = t.getFloatBuffer();
                        float[] a = new float[b.remaining()];
                        b.get(a);
                        out.put(e.getKey(), a);
                    }
                    case UINT8, INT8 -> {
                        ByteBuffer b = t.getByteBuffer();
                        boolean unsigned = t.getInfo().type == ai.onnxruntime.OnnxJavaType.UINT8;
                        float[] a = new float[b.remaining()];
                        for (int i = 0; i < a.length; i++) {
                            byte v = b.get();
                            a[i] = unsigned ? v & 0xFF : v;
                        }
                        out.put(e.getKey(), a);
                    }
                    default -> throw new IllegalStateException("unexpected output type " + t.getInfo().type);
                }
            }
            return out;
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    public static OnnxTensor tensor(float[] data, long[] shape) throws OrtException {
        return OnnxTensor.createTensor(ENV, FloatBuffer.wrap(data), shape);
    }

    /** Min/max of each of {@code tensors} over one run of {@code fp32} on {@code data} (the test's calibration). */
    public static ActivationStatistics minMax(OnnxModel fp32, List<String> tensors, String input, float[] data,
                                              long[] shape) {
        Map<String, float[]> outputs = run(fp32.withAdditionalOutputs(tensors), input, data, shape);
        Map<String, TensorRange> ranges = new LinkedHashMap<>();
        for (String t : tensors) {
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            for (float v : outputs.get(t)) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            ranges.put(t, new TensorRange(min, max));
        }
        return new ActivationStatistics("minmax", (int) shape[0], ranges);
    }

    /** Op types (domain-qualified when not ai.onnx) of the graph ORT's optimizer produces at {@code level}. */
    public static Set<String> optimizedOpTypes(OnnxModel model, OrtSession.SessionOptions.OptLevel level)
        throws OrtException, IOException {
        Path file = Files.createTempFile("optimized", ".onnx");
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(level);
            opts.setOptimizedModelFilePath(file.toString());
            try (OrtSession ignored = ENV.createSession(model.toByteArray(), opts)) {
                // creating the session writes the optimized graph
            }
            OnnxMl.ModelProto optimized = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(file));
            Set<String> ops = new TreeSet<>();
            for (OnnxMl.NodeProto n : optimized.getGraph().getNodeList()) {
                ops.add(n.getDomain().isEmpty() ? n.getOpType() : n.getDomain() + ":" + n.getOpType());
            }
            return ops;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Plain op types of the graph ORT's optimizer produces, domain dropped, with multiplicity. */
    public static List<String> optimizedOps(OnnxModel model) throws OrtException, IOException {
        List<String> ops = new ArrayList<>();
        for (String op : optimizedOpTypes(model, OrtSession.SessionOptions.OptLevel.EXTENDED_OPT)) {
            ops.add(op.substring(op.indexOf(':') + 1));
        }
        return ops;
    }
}
