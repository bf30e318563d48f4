package dev.quantflow.runtime.diagnostics;

/**
 * One node of the fp32 graph compared with its counterpart in the quantized model; field names are those of the
 * JSON report. See {@link LayerDiagnostics} for how tensors are matched and what each figure means.
 *
 * @param node         node name (as the quantizer names it: unnamed nodes are {@code <OpType>_<index>})
 * @param opType       the node's op type
 * @param tensor       the fp32 tensor compared: the node's first output, or the output of the Relu folded into it
 * @param quantized    whether the node runs quantized in the QDQ model (see {@link LayerDiagnostics} for the rule)
 * @param sqnrDb       SQNR of the node's output in the quantized model against the fp32 model, in dB, capped to
 *                     ±{@value LayerDiagnostics#SQNR_CAP_DB}; null when not compared
 * @param inputSqnrDb  SQNR of the node's activation inputs as the node reads them in the quantized model (after
 *                     DequantizeLinear), energies pooled over all its activation inputs; null when not compared or
 *                     when an input could not be matched
 * @param addedErrorDb {@code inputSqnrDb - sqnrDb}: how many dB of SQNR the node loses between what it reads and
 *                     what it hands on; null when either is null
 * @param layerSqnrDb  estimated SQNR of the noise this node adds by itself: {@code −10·log10(NSR_out − NSR_in)} with
 *                     {@code NSR = 10^(−SQNR/10)}; +{@value LayerDiagnostics#SQNR_CAP_DB} when the node adds no
 *                     measurable noise; null when {@code addedErrorDb} is null. What ranks sensitive layers.
 * @param skipReason   why the node was not compared, in words for the report; null when it was
 */
public record LayerReport(String node, String opType, String tensor, boolean quantized, Double sqnrDb,
                          Double inputSqnrDb, Double addedErrorDb, Double layerSqnrDb, String skipReason) {

    /** Whether the node's output was compared ({@link #sqnrDb} is set). */
    public boolean compared() {
        return skipReason == null;
    }
}
