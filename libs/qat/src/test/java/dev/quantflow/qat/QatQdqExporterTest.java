package dev.quantflow.qat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;

/**
 * The exported QDQ model, run by ONNX Runtime, against the Java fake-quantized model it came from (after a few
 * fine-tuning steps, so that learned scales differ from their initial values) on the whole eval set.
 */
class QatQdqExporterTest {

    private static QatDataset eval;

    @BeforeAll
    static void load() {
        eval = FashionFixture.eval();
    }

    private static QatGraph fineTuned(QatRecipe recipe) {
        QatTrainer trainer = new QatTrainer(recipe);
        QatGraph student = trainer.prepare(FashionFixture.model(), FashionFixture.calibration());
        trainer.fineTune(student, QatGraph.fromOnnx(FashionFixture.model()), FashionFixture.calibration(),
            QatProgressListener.NONE);
        return student;
    }

    @Test
    void fourBitPerTensorExportMatchesTheJavaModelInOnnxRuntime() throws Exception {
        QatGraph student = fineTuned(QatRecipe.w4a8PerTensor(6).withBatchSize(32));
        OnnxModel qdq = QatQdqExporter.export(student);

        Map<String, OnnxMl.TensorProto> inits = qdq.initializers();
        for (String w : new String[] {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"}) {
            OnnxMl.TensorProto codes = inits.get(w + "_quantized");
            assertThat(codes.getDataType()).isEqualTo(OnnxMl.TensorProto.DataType.INT8_VALUE);
            for (byte b : Tensors.toByteArray(codes)) {
                assertThat((int) b).isBetween(-8, 7);
            }
            assertThat(inits).doesNotContainKey(w);
        }
        assertThat(qdq.graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .contains("QuantizeLinear", "DequantizeLinear");

        compare(student, qdq, Map.of());
    }

    /**
     * 8-bit weight codes reach ±127: x86 CPUs without VNNI multiply u8·s8 pairs into a saturating int16
     * ({@code vpmaddubsw}), so ONNX Runtime's default fused kernels are not exact for them (see
     * SymmetricWeightQuantizer); {@code session.x64quantprecision=1} selects its exact kernels. 4-bit codes (|q| ≤ 8)
     * cannot saturate, so the test above runs with the defaults.
     */
    @Test
    void eightBitPerChannelExportMatchesTheJavaModelInOnnxRuntime() throws Exception {
        QatGraph student = fineTuned(QatRecipe.w8a8PerChannel(6).withBatchSize(32));
        OnnxModel qdq = QatQdqExporter.export(student);
        OnnxMl.NodeProto dq = qdq.graph().getNodeList().stream()
            .filter(n -> n.getInput(0).equals("conv2.weight_quantized")).findFirst().orElseThrow();
        assertThat(dq.getAttributeList()).anyMatch(a -> a.getName().equals("axis") && a.getI() == 0);
        assertThat(Tensors.dims(qdq.initializers().get("conv2.weight_scale"))).containsExactly(64L);
        compare(student, qdq, Map.of("session.x64quantprecision", "1"));
    }

    /** Fixed (not learned) scales: weight scales follow max|w| per channel, activation scales stay calibrated. */
    @Test
    void fourBitPerChannelWithoutLearnedScalesMatchesToo() throws Exception {
        QatRecipe recipe = new QatRecipe(4, true, false, 4, 32, 1e-3, 1.0, 1, 4.0, 1.0, 0.0, 2, 7L);
        QatGraph student = fineTuned(recipe);
        OnnxModel qdq = QatQdqExporter.export(student);
        assertThat(Tensors.dims(qdq.initializers().get("fc1.weight_scale"))).containsExactly(128L);
        compare(student, qdq, Map.of());
    }

    private static void compare(QatGraph student, OnnxModel qdq, Map<String, String> ortConfig) throws Exception {
        float[] ort = FashionFixture.ortOutputs(qdq, eval, 250, ortConfig);
        float[] jvm = new float[ort.length];
        int per = eval.sampleSize();
        for (int from = 0; from < eval.count(); from += 250) {
            QatTensor out = student.forward(java.util.Arrays.copyOfRange(eval.inputs(), from * per, (from + 250) * per),
                eval.batchShape(250));
            System.arraycopy(out.data(), 0, jvm, from * 10, out.size());
        }
        double ortAcc = FashionFixture.accuracy(ort, eval.labels());
        double javaAcc = FashionFixture.accuracy(jvm, eval.labels());
        assertThat(Math.abs(ortAcc - javaAcc)).as("ORT %.4f vs Java %.4f", ortAcc, javaAcc).isLessThanOrEqualTo(0.001);
        // logits are quantized: both sides land on the logits' grid; they may differ by one step where a value sits
        // on a rounding boundary (integer vs float accumulation, int32 bias)
        float logitStep = student.activationQuants().stream().filter(a -> a.tensor().equals("logits")).findFirst()
            .orElseThrow().scale().data()[0];
        int offGrid = 0;
        for (int i = 0; i < ort.length; i++) {
            double d = Math.abs(ort[i] - jvm[i]);
            assertThat(d).as("logit %d", i).isLessThanOrEqualTo(2.01 * logitStep);
            if (d > 1e-4) {
                offGrid++;
            }
        }
        System.out.printf("QDQ export: ORT top-1 %.2f%%, Java %.2f%%, %d of %d logits differ (≤ 2 steps of %.4f)%n",
            100 * ortAcc, 100 * javaAcc, offGrid, ort.length, logitStep);
        assertThat(offGrid).isLessThan(ort.length / 50);
    }
}
