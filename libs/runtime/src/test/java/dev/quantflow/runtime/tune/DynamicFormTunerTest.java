package dev.quantflow.runtime.tune;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.dynamic.DynamicGraphForm;
import dev.quantflow.quant.dynamic.DynamicQuantRecipe;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

class DynamicFormTunerTest {

    private static final DynamicFormTuner.Options OPTIONS = new DynamicFormTuner.Options(4, 1, 0, 0.05, 1e-4);

    /** x [N, 16] → MatMul W [16, 8] → y: one MatMul with a constant weight, quantized in either form. */
    private static OnnxModel matMul() {
        Random r = new Random(7);
        float[] w = new float[16 * 8];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("mm")
            .addInput(value("x", 16)).addOutput(value("y", 8))
            .addInitializer(Tensors.floatTensor("W", new long[] {16, 8}, w))
            .addNode(Nodes.create("MatMul", "mm", List.of("x", "W"), List.of("y")));
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13)).build().toByteArray());
    }

    private static OnnxMl.ValueInfoProto value(String name, long n) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                .setShape(OnnxMl.TensorShapeProto.newBuilder()
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(n))))).build();
    }

    private static NpzArchive samples(int rows) {
        Random r = new Random(3);
        float[] x = new float[rows * 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return NpzArchive.of(List.of(NdArray.ofFloats("x", x, rows, 16)));
    }

    /** A measurer that returns fixed figures and records what it was given. */
    private static final class Fixed implements DynamicFormTuner.Measurer {
        final List<DynamicFormTuner.Measurement> figures;
        final List<String> ops = new ArrayList<>();
        int rows;

        Fixed(DynamicFormTuner.Measurement... figures) {
            this.figures = List.of(figures);
        }

        @Override
        public List<DynamicFormTuner.Measurement> measure(byte[] fp32, List<byte[]> candidates, NpzArchive samples,
                                                          int rows, DynamicFormTuner.Options options) {
            this.rows = rows;
            for (byte[] c : candidates) {
                ops.add(String.join(",", OnnxModel.parse(c).graph().getNodeList().stream()
                    .map(OnnxMl.NodeProto::getOpType).toList()));
            }
            return figures;
        }
    }

    private static DynamicFormTuner.Measurement m(double ms, double cos) {
        return new DynamicFormTuner.Measurement(ms, cos);
    }

    @Test
    void candidatesAreTheRecipesFormThenOrtContrib() {
        assertThat(DynamicFormTuner.candidates(DynamicQuantRecipe.defaults()))
            .containsExactly(DynamicGraphForm.INTEGER_OPS, DynamicGraphForm.ORT_CONTRIB);
        assertThat(DynamicFormTuner.candidates(DynamicQuantRecipe.defaults().withGraphForm(DynamicGraphForm.ORT_CONTRIB)))
            .containsExactly(DynamicGraphForm.ORT_CONTRIB);
    }

    @Test
    void theFasterContribFormIsChosenAndItsGraphReturnedWithTheTimingsInTheReason() {
        Fixed timer = new Fixed(m(10.0, 0.9990), m(8.0, 0.9991));
        DynamicFormTuner.Choice c = DynamicFormTuner.choose(matMul(), DynamicQuantRecipe.defaults(), samples(10),
            OPTIONS, timer);

        assertThat(timer.rows).as("the first rows only").isEqualTo(4);
        assertThat(timer.ops.get(0)).contains("MatMulInteger").doesNotContain("DynamicQuantizeMatMul");
        assertThat(timer.ops.get(1)).contains("DynamicQuantizeMatMul");
        assertThat(c.form()).isEqualTo(DynamicGraphForm.ORT_CONTRIB);
        assertThat(c.recipe().graphForm()).isEqualTo(DynamicGraphForm.ORT_CONTRIB);
        assertThat(c.result().model().graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .contains("DynamicQuantizeMatMul");
        assertThat(c.reason()).contains("INTEGER_OPS 10.000 ms", "ORT_CONTRIB 8.000 ms (0.80×)", "only in ONNX Runtime");
    }

    @Test
    void theIntegerOpsFormIsKeptWhenContribIsSlowerOrNotFasterByTheMinimumGain() {
        DynamicFormTuner.Choice slower = DynamicFormTuner.choose(matMul(), DynamicQuantRecipe.defaults(), samples(2),
            OPTIONS, new Fixed(m(8.0, 0.999), m(10.0, 0.999)));
        assertThat(slower.form()).isEqualTo(DynamicGraphForm.INTEGER_OPS);
        assertThat(slower.result().model().graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .contains("MatMulInteger");
        assertThat(slower.reason()).startsWith("graph form INTEGER_OPS measured").contains("ORT_CONTRIB 10.000 ms (1.25×)");

        assertThat(DynamicFormTuner.choose(matMul(), DynamicQuantRecipe.defaults(), samples(2), OPTIONS,
            new Fixed(m(10.0, 0.999), m(9.7, 0.999))).form()).as("3% is within noise").isEqualTo(DynamicGraphForm.INTEGER_OPS);
    }

    @Test
    void aFasterButLessAccurateFormIsNotChosen() {
        assertThat(DynamicFormTuner.choose(matMul(), DynamicQuantRecipe.defaults(), samples(4), OPTIONS,
            new Fixed(m(10.0, 0.999), m(5.0, 0.990))).form()).isEqualTo(DynamicGraphForm.INTEGER_OPS);
        assertThat(DynamicFormTuner.pick(List.of(new DynamicFormTuner.Timing(DynamicGraphForm.INTEGER_OPS, 1, 10, 0.99900),
            new DynamicFormTuner.Timing(DynamicGraphForm.ORT_CONTRIB, 1, 5, 0.99895)), 0.05, 1e-4))
            .as("within the cosine tolerance").isOne();
    }

    /** The real measurer runs both graphs in ONNX Runtime: positive times, cosines close to 1. */
    @Test
    void measuresBothFormsInOnnxRuntime() {
        DynamicFormTuner.Choice c = DynamicFormTuner.choose(matMul(), DynamicQuantRecipe.defaults(), samples(3),
            new DynamicFormTuner.Options(3, 1, 0, 0.05, 1e-4));
        assertThat(c.timings()).hasSize(2).allSatisfy(t -> {
            assertThat(t.medianMs()).isPositive();
            assertThat(t.meanCosine()).isGreaterThan(0.99);
        });
    }

    @Test
    void tokenRowsAreCutToTheirRealTokensAndOtherDataIsFedAsIs() {
        NpzArchive text = NpzArchive.of(List.of(
            NdArray.ofLongs("input_ids", new long[] {101, 7, 102, 0, 0, 101, 8, 9, 10, 102}, 2, 5),
            NdArray.ofLongs("attention_mask", new long[] {1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, 2, 5)));
        NpzArchive row0 = DynamicFormTuner.unpadded(text, 0);
        assertThat(row0.array("input_ids").shape()).containsExactly(1, 3);
        assertThat(row0.array("input_ids").toLongs()).containsExactly(101, 7, 102);
        assertThat(DynamicFormTuner.unpadded(text, 1).array("attention_mask").shape()).containsExactly(1, 5);
        assertThat(DynamicFormTuner.unpadded(samples(2), 0)).as("no attention_mask").isNull();
    }
}
