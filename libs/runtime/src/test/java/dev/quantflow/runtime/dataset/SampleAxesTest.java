package dev.quantflow.runtime.dataset;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.FloatBuffer;
import java.util.List;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Datasets for models with several inputs: a scalar given once, a state [2, batch, H] cut along axis 1, a missing
 * input named.
 */
class SampleAxesTest {

    private static OnnxMl.ValueInfoProto input(String name, int type, Object... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            shape.addDim(d instanceof String s ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(s)
                : d == null ? OnnxMl.TensorShapeProto.Dimension.newBuilder()
                : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue((Integer) d));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape))).build();
    }

    /** z = Concat(x, ReduceSum(state, axis 0), axis 1) · float(sr): x [batch, 2], state [2, (unnamed), 3], sr []. */
    private static OnnxModel model() {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("vad_like")
            .addInput(input("x", DataType.FLOAT_VALUE, "batch", 2))
            .addInput(input("state", DataType.FLOAT_VALUE, 2, null, 3))
            .addInput(input("sr", DataType.INT64_VALUE))
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("z"))
            .addInitializer(Tensors.int64Tensor("axis0", new long[] {1}, new long[] {0}))
            .addNode(Nodes.create("ReduceSum", "sum", List.of("state", "axis0"), List.of("s"),
                Nodes.intAttribute("keepdims", 0)))
            .addNode(Nodes.create("Concat", "cat", List.of("x", "s"), List.of("y"), Nodes.intAttribute("axis", 1)))
            .addNode(Nodes.create("Cast", "cast", List.of("sr"), List.of("srf"), Nodes.intAttribute("to", 1)))
            .addNode(Nodes.create("Mul", "mul", List.of("y", "srf"), List.of("z")));
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
    }

    private static NdArray state(int n) {
        float[] v = new float[2 * n * 3];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return NdArray.ofFloats("state", v, 2, n, 3);
    }

    private static NdArray x(int n) {
        float[] v = new float[n * 2];
        for (int i = 0; i < v.length; i++) {
            v[i] = -i;
        }
        return NdArray.ofFloats("x", v, n, 2);
    }

    @Test
    void axisRules() {
        assertThat(SampleAxes.axis(new long[0], null, 0)).isEqualTo(SampleAxes.GIVEN_ONCE);
        assertThat(SampleAxes.axis(new long[] {-1, 64}, new String[] {"", ""}, 2)).isZero();
        assertThat(SampleAxes.axis(new long[] {2, -1, 64}, new String[] {"", "", ""}, 3)).isEqualTo(1);
        assertThat(SampleAxes.axis(new long[] {2, -1, 64}, new String[] {"", "batch", ""}, 3)).isEqualTo(1);
        assertThat(SampleAxes.axis(new long[] {1, -1, 64}, new String[] {"", "batch_size", ""}, 3)).isEqualTo(1);
        // Batch fixed to 1 with dynamic spatial dims: axis 0 stays the sample axis.
        assertThat(SampleAxes.axis(new long[] {1, 3, -1, -1}, new String[] {"", "", "h", "w"}, 4)).isZero();
        assertThat(SampleAxes.axis(new long[] {1, 3, -1}, new String[] {"", "", ""}, 3)).isZero();
        assertThat(SampleAxes.axis(null, null, 3)).isZero();
    }

    @Test
    void sliceAlongAxisOne() {
        NdArray s = state(4).slice(1, 1, 3);
        assertThat(s.shape()).containsExactly(2, 2, 3);
        assertThat(s.toFloats()).containsExactly(3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19, 20);
    }

    @Test
    void datasetWithScalarAndStateChecksAndFeedsEveryInput() throws Exception {
        OnnxModel model = model();
        NpzArchive data = NpzArchive.of(List.of(x(4), state(4), NdArray.ofLongs("sr", new long[] {2})));
        assertThat(DatasetCheck.check(model, data, false)).isEmpty();
        assertThat(SampleAxes.samples(model, data)).isEqualTo(4);

        try (OrtSession session = OrtModels.createSession(model.toByteArray(), 1,
                 OrtSession.SessionOptions.OptLevel.BASIC_OPT);
             OrtModels.InputBatch batch = OrtModels.feed(session, data, 1, 3);
             OrtSession.Result r = session.run(batch.tensors())) {
            assertThat(SampleAxes.samples(session, data)).isEqualTo(4);
            assertThat(batch.tensors().get("sr").getInfo().getShape()).isEmpty();
            assertThat(batch.tensors().get("state").getInfo().getShape()).containsExactly(2, 2, 3);
            FloatBuffer z = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] got = new float[z.remaining()];
            z.get(got);
            // sample 1: x = (-2, -3), state[:,1,:] sums to (3+15, 4+16, 5+17); sample 2: x = (-4, -5), (6+18, …)
            assertThat(got).containsExactly(-4, -6, 36, 40, 44, -8, -10, 48, 52, 56);
        }
    }

    @Test
    void problemsNameTheInput() {
        OnnxModel model = model();
        // A state whose batch axis disagrees with x, a missing sample-rate entry.
        List<String> p = DatasetCheck.check(model, NpzArchive.of(List.of(x(4), state(3))), false);
        assertThat(p).anySatisfy(s -> assertThat(s).contains("'sr'").contains("sr=x"));
        assertThat(p).anySatisfy(s -> assertThat(s).contains("different sample counts").contains("state has 3"));
        // The sample rate given per sample instead of once, and a scalar where a tensor is expected.
        List<String> q = DatasetCheck.check(model, NpzArchive.of(List.of(NdArray.ofFloats("x", new float[] {1}),
            state(4), NdArray.ofLongs("sr", new long[] {1, 2, 3, 4}, 4))), false);
        assertThat(q).anySatisfy(s -> assertThat(s).contains("'x'").contains("is a scalar").contains("[batch, 2]"));
        assertThat(q).anySatisfy(s -> assertThat(s).contains("'sr'").contains("rank"));
    }
}
