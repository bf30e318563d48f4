package dev.quantflow.runtime.prepare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Opset-9 and opset-11 exports of the repo's own fixtures ({@code fixtures/legacy}, made by export_legacy.py from the
 * fixtures' weights), prepared and checked against the originals in ONNX Runtime on 32 rows of the fixtures'
 * calibration data.
 */
class LegacyExportPreparationTest {

    private static final Path LEGACY = Path.of("../../fixtures/legacy");
    private static final Path CNN_CALIB = Path.of("../../fixtures/fashion-cnn/calib.npz");
    private static final Path LSTM_CALIB = Path.of("../../fixtures/lstm/calib.npz");

    private static PreparedModel prepare(String file, Path calib) throws Exception {
        PreparedModel prepared = ModelPreparer.prepare(Files.readAllBytes(LEGACY.resolve(file)),
            NpzArchive.read(calib), PreparationOptions.defaults());
        System.out.println(file + ": " + prepared.report().summary() + " | " + prepared.check().summary()
            + " | ops " + opCounts(prepared));
        assertThat(prepared.model().opsetVersion()).isEqualTo(17);
        assertThat(prepared.check().samples()).isEqualTo(32);
        assertThat(prepared.check().fromData()).isEqualTo(32);
        assertThat(prepared.check().maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        return prepared;
    }

    private static void assertCnn(PreparedModel prepared) {
        OnnxModel m = prepared.model();
        assertThat(prepared.report().foldedBatchNorms()).isEqualTo(3);
        assertThat(prepared.report().recognizedRelu6()).isEqualTo(2);
        assertThat(prepared.report().upgradedOps()).containsEntry("Softmax", 1);
        assertThat(m.graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .containsExactly("Conv", "Clip", "MaxPool", "Conv", "Clip", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm",
                "Softmax");
        assertThat(m.inputs()).extracting(OnnxModel.ValueInfo::name).containsExactly("input");
        assertThat(m.outputs()).extracting(OnnxModel.ValueInfo::name).containsExactly("logits", "probs");
    }

    @Test
    void cnnWithBatchNormOpset9InitializersAsInputs() throws Exception {
        PreparedModel prepared = prepare("cnn_bn_opset9.onnx", CNN_CALIB);
        assertCnn(prepared);
        assertThat(prepared.report().opsetFrom()).isEqualTo(9);
        assertThat(prepared.report().upgradedOps()).containsEntry("Clip", 2);
        // the original lists every weight as a graph input too; the prepared model only the image
        OnnxModel original = OnnxModel.parse(Files.readAllBytes(LEGACY.resolve("cnn_bn_opset9.onnx")));
        assertThat(original.graph().getInputCount()).isGreaterThan(10);
        assertThat(prepared.model().graph().getInputList()).extracting(OnnxMl.ValueInfoProto::getName)
            .containsExactly("input");
    }

    @Test
    void cnnWithBatchNormOpset11() throws Exception {
        PreparedModel prepared = prepare("cnn_bn_opset11.onnx", CNN_CALIB);
        assertCnn(prepared);
        assertThat(prepared.report().opsetFrom()).isEqualTo(11);
        assertThat(prepared.report().upgradedOps()).doesNotContainKey("Clip");
    }

    @Test
    void cnnWithBatchNormOpset9WeightsAsConstants() throws Exception {
        OnnxModel original = OnnxModel.parse(Files.readAllBytes(LEGACY.resolve("cnn_bn_opset9_constants.onnx")));
        assertThat(original.graph().getInitializerCount()).isZero();
        PreparedModel prepared = prepare("cnn_bn_opset9_constants.onnx", CNN_CALIB);
        assertCnn(prepared);
        assertThat(prepared.report().constantsToInitializers())
            .isEqualTo((int) original.graph().getNodeList().stream().filter(n -> n.getOpType().equals("Constant"))
                .count());
    }

    @Test
    void lstmOpset9() throws Exception {
        PreparedModel prepared = prepare("lstm_opset9.onnx", LSTM_CALIB);
        assertThat(prepared.report().opsetFrom()).isEqualTo(9);
        assertThat(prepared.report().upgradedOps()).containsKeys("Squeeze", "Unsqueeze", "Slice");
        assertThat(prepared.model().graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType).contains("LSTM");
    }

    @Test
    void lstmOpset11() throws Exception {
        PreparedModel prepared = prepare("lstm_opset11.onnx", LSTM_CALIB);
        assertThat(prepared.report().opsetFrom()).isEqualTo(11);
        assertThat(prepared.report().upgradedOps()).containsKeys("Squeeze", "Unsqueeze");
    }

    static java.util.Map<String, Long> opCounts(PreparedModel prepared) {
        return prepared.model().graph().getNodeList().stream().collect(java.util.stream.Collectors.groupingBy(
            OnnxMl.NodeProto::getOpType, java.util.TreeMap::new, java.util.stream.Collectors.counting()));
    }
}
