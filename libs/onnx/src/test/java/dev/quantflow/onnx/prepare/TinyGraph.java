package dev.quantflow.onnx.prepare;

import static org.assertj.core.api.Assertions.assertThat;
import dev.quantflow.onnx.ValueInfos;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;


import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/** Builds tiny ONNX graphs in Java for the preparation tests, and runs them in ONNX Runtime to compare. */
final class TinyGraph {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private final OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("g");
    private final Map<String, long[]> inputShapes = new LinkedHashMap<>();
    private int nodeIndex;

    TinyGraph input(String name, long... dims) {
        inputShapes.put(name, dims);
        g.addInput(typed(name, dims));
        return this;
    }

    /** A float graph output without shape. */
    TinyGraph output(String name) {
        g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1))));
        return this;
    }

    /** A graph output of element type {@code elemType} without shape. */
    TinyGraph output(String name, int elemType) {
        g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elemType))));
        return this;
    }

    TinyGraph valueInfo(String name, long... dims) {
        g.addValueInfo(typed(name, dims));
        return this;
    }

    TinyGraph init(String name, long[] dims, float... values) {
        g.addInitializer(Tensors.floatTensor(name, dims, values));
        return this;
    }

    /** A float initializer of {@code dims} with seeded values in [lo, hi]. */
    TinyGraph randomInit(String name, long seed, float lo, float hi, long... dims) {
        return init(name, dims, random(seed, (int) Tensors.elementCount(dims), lo, hi));
    }

    TinyGraph initLongs(String name, long[] dims, long... values) {
        g.addInitializer(Tensors.int64Tensor(name, dims, values));
        return this;
    }

    TinyGraph node(String op, List<String> inputs, List<String> outputs, OnnxMl.AttributeProto... attributes) {
        g.addNode(Nodes.create(op, op.toLowerCase() + "_" + nodeIndex++, inputs, outputs, attributes));
        return this;
    }

    OnnxModel model(int opset) {
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(opset >= 13 ? 7 : 6).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(opset)).build().toByteArray());
    }

    Map<String, long[]> inputShapes() {
        return inputShapes;
    }

    static OnnxMl.AttributeProto floats(String name, float... values) {
        OnnxMl.AttributeProto.Builder b = OnnxMl.AttributeProto.newBuilder().setName(name)
            .setType(OnnxMl.AttributeProto.AttributeType.FLOATS);
        for (float v : values) {
            b.addFloats(v);
        }
        return b.build();
    }

    static OnnxMl.AttributeProto tensor(String name, OnnxMl.TensorProto t) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
            .setT(t).build();
    }

    static float[] random(long seed, int n, float lo, float hi) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + (hi - lo) * r.nextFloat();
        }
        return v;
    }

    static List<String> opTypes(OnnxModel m) {
        return m.graph().getNodeList().stream().map(OnnxMl.NodeProto::getOpType).toList();
    }

    /**
     * Runs both models in ONNX Runtime (optimizations off) on the same seeded inputs (uniform in [-4, 4], shapes as
     * declared) and checks every output agrees to {@code 1e-5 · max(1, |original|)}; returns the original's outputs.
     */
    static Map<String, double[]> assertSameOutputs(OnnxModel original, OnnxModel prepared, Map<String, long[]> shapes)
        throws Exception {
        Map<String, double[]> a = run(original, shapes, 11);
        Map<String, double[]> b = run(prepared, shapes, 11);
        assertThat(b.keySet()).containsExactlyElementsOf(a.keySet());
        for (String k : a.keySet()) {
            double[] x = a.get(k);
            double[] y = b.get(k);
            assertThat(y).as(k).hasSameSizeAs(x);
            for (int i = 0; i < x.length; i++) {
                assertThat(Math.abs(x[i] - y[i])).as(k + "[" + i + "]: " + x[i] + " vs " + y[i])
                    .isLessThanOrEqualTo(1e-5 * Math.max(1, Math.abs(x[i])));
            }
        }
        return a;
    }

    static Map<String, double[]> run(OnnxModel model, Map<String, long[]> shapes, long seed) throws Exception {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        List<AutoCloseable> toClose = new ArrayList<>();
        long s = seed;
        for (OnnxModel.ValueInfo in : model.inputs()) {
            long[] dims = shapes.get(in.name());
            float[] v = random(s++, (int) Tensors.elementCount(dims), -4, 4);
            OnnxTensor t = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(v), dims);
            feeds.put(in.name(), t);
            toClose.add(t);
        }
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            try (OrtSession session = ENV.createSession(model.toByteArray(), o);
                 OrtSession.Result r = session.run(feeds)) {
                Map<String, double[]> out = new LinkedHashMap<>();
                for (Map.Entry<String, OnnxValue> e : r) {
                    out.put(e.getKey(), values((OnnxTensor) e.getValue()));
                }
                return out;
            }
        } finally {
            for (AutoCloseable c : toClose) {
                c.close();
            }
        }
    }

    /** The tensor's elements in row-major order, as doubles (float and integer outputs alike). */
    private static double[] values(OnnxTensor t) throws ai.onnxruntime.OrtException {
        java.util.stream.DoubleStream.Builder out = java.util.stream.DoubleStream.builder();
        flatten(t.getValue(), out);
        return out.build().toArray();
    }

    private static void flatten(Object value, java.util.stream.DoubleStream.Builder out) {
        if (value.getClass().isArray()) {
            for (int i = 0; i < java.lang.reflect.Array.getLength(value); i++) {
                flatten(java.lang.reflect.Array.get(value, i), out);
            }
        } else {
            out.add(((Number) value).doubleValue());
        }
    }

    private static OnnxMl.ValueInfoProto typed(String name, long... dims) {
        return ValueInfos.floatTensor(name, dims);
    }
}
