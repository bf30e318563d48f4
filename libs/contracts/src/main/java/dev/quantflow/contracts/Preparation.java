package dev.quantflow.contracts;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What intake's model preparation did to the uploaded model before anything else ran: the {@code preparation}
 * section of {@code report.json}, and intake's {@code jobs/<job>/prepared/preparation.json}. Every stage of the
 * job ran on the prepared model; the original is kept as {@code originalModelKey}.
 *
 * @param changed                 whether the prepared model differs from the upload (false: the upload was used as is)
 * @param opsetFrom               the ai.onnx opset of the upload
 * @param opsetTo                 the opset of the prepared model
 * @param nodesBefore             main-graph nodes of the upload
 * @param nodesAfter              main-graph nodes of the prepared model
 * @param constantsToInitializers {@code Constant} nodes turned into initializers
 * @param foldedConstantNodes     weight-only nodes computed ahead into initializers
 * @param removedIdentities       {@code Identity} nodes removed
 * @param removedDropouts         {@code Dropout} nodes removed
 * @param upgradedOps             nodes rewritten by the opset upgrade, by op type
 * @param foldedBatchNorms        BatchNormalizations folded into the Conv / ConvTranspose / Gemm before them
 * @param batchNormsToMulAdd      standalone BatchNormalizations written as Mul + Add
 * @param hardSwishRecognized     {@code x·HardSigmoid(x)} / {@code x·Clip(x+3,0,6)/6} replaced by {@code HardSwish}
 * @param relu6Recognized         {@code Clip(0, 6)} nodes (ReLU6)
 * @param notes                   what was left as it was and why
 * @param checkedInputs           inputs on which ONNX Runtime ran both models (absent when nothing changed)
 * @param checkedFromData         how many of them were rows of the job's data
 * @param maxAbsDiff              largest {@code |prepared − original|} over every output element checked
 * @param maxScaledDiff           largest {@code |prepared − original| / max(1, |original|)}, what the tolerance bounds
 * @param tolerance               the bound on {@code maxScaledDiff}
 * @param seconds                 wall time of the preparation and its check
 * @param originalModelKey        store key of the model as uploaded
 * @param preparedModelKey        store key of the prepared model (absent when nothing changed)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Preparation(Boolean changed, Long opsetFrom, Long opsetTo, Integer nodesBefore, Integer nodesAfter,
                          Integer constantsToInitializers, Integer foldedConstantNodes, Integer removedIdentities,
                          Integer removedDropouts, Map<String, Integer> upgradedOps, Integer foldedBatchNorms,
                          Integer batchNormsToMulAdd, Integer hardSwishRecognized, Integer relu6Recognized,
                          List<String> notes, Integer checkedInputs, Integer checkedFromData, Double maxAbsDiff,
                          Double maxScaledDiff, Double tolerance, Double seconds, String originalModelKey,
                          String preparedModelKey) {

    /** The counts as one line: {@code opset 9 → 17; 250 Constant → initializer; 35 BatchNormalization folded; …}. */
    public String summary() {
        if (!Boolean.TRUE.equals(changed)) {
            return "nothing to change (opset " + opsetFrom + ")";
        }
        StringBuilder b = new StringBuilder("opset ").append(opsetFrom).append(" → ").append(opsetTo)
            .append("; nodes ").append(nodesBefore).append(" → ").append(nodesAfter);
        count(b, constantsToInitializers, "Constant → initializer");
        count(b, foldedConstantNodes, "weight-only nodes folded");
        count(b, removedIdentities, "Identity removed");
        count(b, removedDropouts, "Dropout removed");
        if (upgradedOps != null && !upgradedOps.isEmpty()) {
            b.append("; upgraded ").append(new java.util.TreeMap<>(upgradedOps));
        }
        count(b, foldedBatchNorms, "BatchNormalization folded");
        count(b, batchNormsToMulAdd, "BatchNormalization → Mul+Add");
        count(b, hardSwishRecognized, "HardSwish recognized");
        count(b, relu6Recognized, "ReLU6 (Clip 0..6)");
        return b.toString();
    }

    private static void count(StringBuilder b, Integer n, String what) {
        if (n != null && n > 0) {
            b.append("; ").append(n).append(' ').append(what);
        }
    }
}
