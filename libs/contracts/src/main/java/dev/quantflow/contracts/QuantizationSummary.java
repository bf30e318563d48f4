package dev.quantflow.contracts;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * {@code summary.json}: what a quantizer pool did in one attempt. Written by every quantizer, read by the validator
 * (node names for runtime errors, LLM reconstruction errors, the QAT loss) and the exporter. The JSON is flat (the
 * keys the pools have always written); the components are grouped by the pool that fills them, the others are
 * null and left out of the JSON.
 *
 * @param method          LLM pools ({@code gptq}, {@code awq}, {@code rtn}) and QAT ({@code qat}); absent otherwise
 * @param seconds         LLM: quantization time; QAT: training time
 * @param bits            LLM: weight bits
 * @param blockSize       LLM: weights per scale block
 * @param percDamp        LLM: GPTQ Hessian dampening, fraction of the mean diagonal
 * @param format          LLM: {@code matmulnbits} or {@code qdq_blocked}
 * @param weightBits      QAT: weight bits (activations are 8-bit)
 * @param learnedScales   QAT: LSQ step sizes learned with the weights
 * @param initialLoss     QAT: loss before the first step (may be NaN)
 * @param finalLoss       QAT: loss after the last step (may be NaN)
 * @param smoothQuant     dynamic: present when calibration statistics came with the job
 * @param warnings        cast: what the conversion warned about (values out of fp16 range, …)
 * @param isa             static, dynamic, QAT: the CPU class the recipe was made for and what it decided
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record QuantizationSummary(
    String method,
    Long fp32SizeBytes,
    Long quantizedSizeBytes,
    Double seconds,
    List<NodeDecision> quantizedNodes,
    List<NodeDecision> keptFloatNodes,
    // LLM weight-only pools
    Integer bits,
    Integer blockSize,
    Boolean symmetric,
    Boolean actOrder,
    Double percDamp,
    String format,
    // QAT
    Integer weightBits,
    Boolean perChannelWeights,
    Boolean learnedScales,
    Integer steps,
    Integer batchSize,
    Double learningRate,
    Integer trainingSamples,
    Boolean labelsUsed,
    Double stepsPerSecond,
    Double initialLoss,
    Double finalLoss,
    List<LossPoint> lossCurve,
    // dynamic
    SmoothQuant smoothQuant,
    // cast
    List<String> warnings,
    // static, dynamic, QAT
    IsaSummary isa) {

    /** An empty summary (an attempt whose quantizer wrote none): no nodes. */
    public static final QuantizationSummary EMPTY = nodes(null, null, List.of(), List.of());

    /** One point of the QAT loss curve. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record LossPoint(int step, double loss, double learningRate) {
    }

    /**
     * SmoothQuant in the dynamic pool.
     *
     * @param tensors MatMul inputs that had statistics (0 when no MatMul has a constant weight)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record SmoothQuant(double alpha, int tensors) {
    }

    /** The static, dynamic and cast pools' common part: sizes and node decisions. */
    public static QuantizationSummary nodes(Long fp32SizeBytes, Long quantizedSizeBytes, List<NodeDecision> quantizedNodes,
                                            List<NodeDecision> keptFloatNodes) {
        return new QuantizationSummary(null, fp32SizeBytes, quantizedSizeBytes, null, quantizedNodes, keptFloatNodes,
            null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
            null, null, null);
    }

    /** The LLM weight-only pools (gptq, awq, rtn). */
    public static QuantizationSummary llm(String method, int bits, int blockSize, boolean symmetric, boolean actOrder,
                                          double percDamp, String format, double seconds, long fp32SizeBytes,
                                          long quantizedSizeBytes, List<NodeDecision> quantizedNodes,
                                          List<NodeDecision> keptFloatNodes) {
        return new QuantizationSummary(method, fp32SizeBytes, quantizedSizeBytes, seconds, quantizedNodes, keptFloatNodes,
            bits, blockSize, symmetric, actOrder, percDamp, format, null, null, null, null, null, null, null, null, null,
            null, null, null, null, null, null);
    }

    /** QAT: the fine-tuning run (the QDQ export keeps no per-node list). */
    public static QuantizationSummary qat(int weightBits, boolean perChannelWeights, boolean learnedScales, int steps,
                                          int batchSize, double learningRate, int trainingSamples, boolean labelsUsed,
                                          double seconds, double initialLoss, double finalLoss, List<LossPoint> lossCurve,
                                          long fp32SizeBytes, long quantizedSizeBytes) {
        return new QuantizationSummary("qat", fp32SizeBytes, quantizedSizeBytes, seconds, List.of(), List.of(), null, null,
            null, null, null, null, weightBits, perChannelWeights, learnedScales, steps, batchSize, learningRate,
            trainingSamples, labelsUsed, seconds > 0 ? steps / seconds : null, initialLoss, finalLoss, lossCurve, null, null,
            null);
    }

    public QuantizationSummary withSmoothQuant(SmoothQuant smoothing) {
        return new QuantizationSummary(method, fp32SizeBytes, quantizedSizeBytes, seconds, quantizedNodes, keptFloatNodes,
            bits, blockSize, symmetric, actOrder, percDamp, format, weightBits, perChannelWeights, learnedScales, steps,
            batchSize, learningRate, trainingSamples, labelsUsed, stepsPerSecond, initialLoss, finalLoss, lossCurve,
            smoothing, warnings, isa);
    }

    public QuantizationSummary withWarnings(List<String> castWarnings) {
        return new QuantizationSummary(method, fp32SizeBytes, quantizedSizeBytes, seconds, quantizedNodes, keptFloatNodes,
            bits, blockSize, symmetric, actOrder, percDamp, format, weightBits, perChannelWeights, learnedScales, steps,
            batchSize, learningRate, trainingSamples, labelsUsed, stepsPerSecond, initialLoss, finalLoss, lossCurve,
            smoothQuant, castWarnings, isa);
    }

    public QuantizationSummary withIsa(IsaSummary recipeIsa) {
        return new QuantizationSummary(method, fp32SizeBytes, quantizedSizeBytes, seconds, quantizedNodes, keptFloatNodes,
            bits, blockSize, symmetric, actOrder, percDamp, format, weightBits, perChannelWeights, learnedScales, steps,
            batchSize, learningRate, trainingSamples, labelsUsed, stepsPerSecond, initialLoss, finalLoss, lossCurve,
            smoothQuant, warnings, recipeIsa);
    }

    /** Quantized nodes, never null. */
    public List<NodeDecision> quantizedNodesOrEmpty() {
        return quantizedNodes == null ? List.of() : quantizedNodes;
    }

    /** Nodes kept in floating point, never null. */
    public List<NodeDecision> keptFloatNodesOrEmpty() {
        return keptFloatNodes == null ? List.of() : keptFloatNodes;
    }

    /** Whether this is a QAT summary (it has a loss curve). */
    @JsonIgnore // a helper, not a key: Jackson would otherwise write it as one
    public boolean isTraining() {
        return lossCurve != null;
    }
}
