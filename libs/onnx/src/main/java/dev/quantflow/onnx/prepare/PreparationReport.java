package dev.quantflow.onnx.prepare;

import java.util.List;
import java.util.Map;

/**
 * What {@link ModelPreparation} changed in a model, with counts (zero where a rewrite found nothing to do).
 *
 * @param opsetFrom                    the ai.onnx opset the model imported
 * @param opsetTo                      the opset it imports now (= {@code opsetFrom} when it was already modern)
 * @param nodesBefore                  nodes of the main graph before
 * @param nodesAfter                   nodes of the main graph after
 * @param constantsToInitializers      {@code Constant} nodes turned into initializers
 * @param foldedConstantNodes          weight-only nodes (Transpose, Reshape, …) computed ahead into initializers
 * @param removedIdentities            {@code Identity} nodes removed
 * @param removedDropouts              {@code Dropout} nodes removed (inference: the identity)
 * @param upgradedOps                  nodes rewritten by the opset upgrade, by op type
 * @param foldedBatchNorms             BatchNormalizations folded into the Conv / ConvTranspose / Gemm before them
 * @param standaloneBatchNormsToMulAdd BatchNormalizations with no foldable producer, written as Mul + Add
 * @param recognizedHardSwish          {@code x·HardSigmoid(x)} (alpha 1/6, beta 1/2) or {@code x·Clip(x+3,0,6)/6}
 *                                     replaced by one {@code HardSwish}
 * @param recognizedRelu6              {@code Clip(x, 0, 6)} nodes (kept as Clip; counted for the quantizer)
 * @param notes                        what was left as it was and why (e.g. a BatchNormalization of unknown rank)
 */
public record PreparationReport(long opsetFrom, long opsetTo, int nodesBefore, int nodesAfter,
                                int constantsToInitializers, int foldedConstantNodes, int removedIdentities,
                                int removedDropouts, Map<String, Integer> upgradedOps, int foldedBatchNorms,
                                int standaloneBatchNormsToMulAdd, int recognizedHardSwish, int recognizedRelu6,
                                List<String> notes) {

    public PreparationReport {
        upgradedOps = Map.copyOf(upgradedOps);
        notes = List.copyOf(notes);
    }

    /** Number of nodes the opset upgrade rewrote. */
    public int upgradedOpCount() {
        return upgradedOps.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** One line per non-zero count, for logs and reports. */
    public String summary() {
        StringBuilder b = new StringBuilder();
        b.append("opset ").append(opsetFrom).append(" -> ").append(opsetTo)
            .append("; nodes ").append(nodesBefore).append(" -> ").append(nodesAfter);
        append(b, "Constant -> initializer", constantsToInitializers);
        append(b, "folded constant nodes", foldedConstantNodes);
        append(b, "Identity removed", removedIdentities);
        append(b, "Dropout removed", removedDropouts);
        if (!upgradedOps.isEmpty()) {
            b.append("; upgraded ").append(new java.util.TreeMap<>(upgradedOps));
        }
        append(b, "BatchNormalization folded", foldedBatchNorms);
        append(b, "BatchNormalization -> Mul+Add", standaloneBatchNormsToMulAdd);
        append(b, "HardSwish recognized", recognizedHardSwish);
        append(b, "ReLU6 (Clip 0..6)", recognizedRelu6);
        return b.toString();
    }

    private static void append(StringBuilder b, String label, int count) {
        if (count > 0) {
            b.append("; ").append(label).append(' ').append(count);
        }
    }
}
