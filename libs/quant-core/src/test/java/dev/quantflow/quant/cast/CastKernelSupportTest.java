package dev.quantflow.quant.cast;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.HalfTensors;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;

/**
 * Evidence for {@link CastKernelSupport}: every listed op loads and runs in ONNX Runtime CPU with 16-bit inputs and
 * outputs, and the optimized graph has no Cast in it (no hidden fp32 fallback); some unlisted ops still need Casts.
 */
class CastKernelSupportTest {

    @Test
    void everyListedOpRunsNativelyInItsType() throws Exception {
        List<String> failures = new ArrayList<>();
        for (CastTarget target : CastTarget.values()) {
            Map<String, Integer> listed = target == CastTarget.FP16 ? CastKernelSupport.FP16 : CastKernelSupport.BF16;
            for (Map.Entry<String, Integer> e : listed.entrySet()) {
                int opset = Math.max(e.getValue(), 13);
                Optional<String> problem = probe(e.getKey(), target, opset);
                problem.ifPresent(p -> failures.add(target + " " + e.getKey() + "@" + opset + ": " + p));
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void unlistedOpsNeedCastsOrDoNotLoad() throws Exception {
        assertThat(probe("Add", CastTarget.FP16, 13)).contains("runtime inserted Casts");
        assertThat(probe("Softmax", CastTarget.FP16, 13)).contains("runtime inserted Casts");
        assertThat(probe("MatMul", CastTarget.BF16, 13)).hasValueSatisfying(p -> assertThat(p).startsWith("load failed"));
        assertThat(probe("Reshape", CastTarget.BF16, 11)).hasValueSatisfying(p -> assertThat(p).startsWith("load failed"));
        assertThat(CastKernelSupport.hasKernel("Reshape", CastTarget.BF16, 11)).isFalse();
        assertThat(CastKernelSupport.hasKernel("LayerNormalization", CastTarget.FP16, 17)).isTrue();
    }

    /** Empty when {@code op} loads, runs and keeps no Cast; otherwise what went wrong. */
    private static Optional<String> probe(String op, CastTarget target, int opset) throws IOException {
        int t = target.onnxType();
        long[] shape = {2, 4};
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("probe");
        OnnxMl.NodeProto.Builder node = OnnxMl.NodeProto.newBuilder().setOpType(op).setName("n").addInput("x");
        List<String> extraFeeds = new ArrayList<>();
        switch (op) {
            case "MatMul" -> node.addInput("w");
            case "Gemm" -> node.addInput("w").addInput("c");
            case "LayerNormalization" -> node.addInput("g").addInput("c4");
            case "Max", "Min", "Concat", "Add" -> {
                node.addInput("x2");
                extraFeeds.add("x2");
            }
            case "Reshape" -> node.addInput("shape");
            case "Expand" -> node.addInput("expand");
            case "Slice" -> node.addInput("starts").addInput("ends");
            case "Gather" -> node.addInput("idx");
            case "Unsqueeze" -> node.addInput("axes0");
            case "Cast" -> node.addAttribute(Nodes.intAttribute("to", t));
            default -> {
            }
        }
        if (op.equals("Concat")) {
            node.addAttribute(Nodes.intAttribute("axis", 0));
        }
        if (op.equals("Split")) {
            node.addAttribute(Nodes.intAttribute("axis", 1));
        }
        int outputs = op.equals("Split") ? 2 : 1;
        for (int i = 0; i < outputs; i++) {
            node.addOutput("y" + i);
            g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y" + i));
        }
        g.addInput(value("x", t, shape));
        for (String f : extraFeeds) {
            g.addInput(value(f, t, shape));
        }
        g.addInitializer(half("w", t, 4, 3)).addInitializer(half("c", t, 3)).addInitializer(half("g", t, 4))
            .addInitializer(half("c4", t, 4))
            .addInitializer(Tensors.int64Tensor("shape", new long[] {1}, new long[] {8}))
            .addInitializer(Tensors.int64Tensor("expand", new long[] {3}, new long[] {3, 2, 4}))
            .addInitializer(Tensors.int64Tensor("starts", new long[] {1}, new long[] {0}))
            .addInitializer(Tensors.int64Tensor("ends", new long[] {1}, new long[] {1}))
            .addInitializer(Tensors.int64Tensor("idx", new long[] {2}, new long[] {1, 0}))
            .addInitializer(Tensors.int64Tensor("axes0", new long[] {1}, new long[] {0}));
        g.addNode(node);
        if (op.equals("Squeeze")) {
            g.setInput(0, value("x", t, 1, 4));
        }
        OnnxMl.ModelProto model = OnnxMl.ModelProto.newBuilder().setIrVersion(opset >= 17 ? 8 : 7).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(opset)).build();
        Path optimized = Files.createTempFile("probe", ".onnx");
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizedModelFilePath(optimized.toString());
            try (OrtSession session = OrtSupport.ENV.createSession(model.toByteArray(), opts)) {
                Map<String, OnnxTensor> feeds = new HashMap<>();
                for (OnnxMl.ValueInfoProto in : g.getInputList()) {
                    long[] dims = in.getType().getTensorType().getShape().getDimList().stream()
                        .mapToLong(OnnxMl.TensorShapeProto.Dimension::getDimValue).toArray();
                    int n = (int) Tensors.elementCount(dims);
                    ByteBuffer b = ByteBuffer.allocateDirect(n * 2).order(ByteOrder.nativeOrder());
                    for (int i = 0; i < n; i++) {
                        b.putShort(target.encode(0.25f * (i + 1)));
                    }
                    b.rewind();
                    feeds.put(in.getName(), OnnxTensor.createTensor(OrtSupport.ENV, b, dims,
                        target == CastTarget.FP16 ? OnnxJavaType.FLOAT16 : OnnxJavaType.BFLOAT16));
                }
                try (OrtSession.Result ignored = session.run(feeds)) {
                    // ran
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
            }
            OnnxMl.ModelProto opt = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(optimized));
            boolean casts = opt.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("Cast"))
                && !op.equals("Cast");
            return casts ? Optional.of("runtime inserted Casts") : Optional.empty();
        } catch (OrtException e) {
            return Optional.of("load failed: " + e.getMessage());
        } finally {
            Files.deleteIfExists(optimized);
        }
    }

    private static OnnxMl.TensorProto half(String name, int type, long... dims) {
        short[] bits = new short[(int) Tensors.elementCount(dims)];
        CastTarget t = type == CastTarget.FP16.onnxType() ? CastTarget.FP16 : CastTarget.BF16;
        for (int i = 0; i < bits.length; i++) {
            bits[i] = t.encode(0.5f);
        }
        return HalfTensors.tensor(name, type, dims, bits);
    }

    private static OnnxMl.ValueInfoProto value(String name, int type, long... dims) {
        OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
    }
}
