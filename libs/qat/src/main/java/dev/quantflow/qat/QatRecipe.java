package dev.quantflow.qat;

/**
 * What a quantization-aware fine-tuning run does.
 *
 * <p>Weights are fake-quantized symmetrically to {@code weightBits} (per tensor or per output channel),
 * activations asymmetrically to UINT8 per tensor at the model input and after every Conv / Gemm / MatMul (after its
 * Relu/Clip when that is the only reader), as {@link QatFakeQuant} describes. Activation ranges start from the
 * min/max the fp32 model produces on the first {@code calibrationBatches} batches of the calibration data; the state
 * after calibration and before the first step is plain post-training quantization (PTQ).
 *
 * <p>The loss is {@code distillationWeight · T² · KL(softmax(t/T) ‖ softmax(s/T)) + crossEntropyWeight · CE(s, y)}
 * with {@code t} the fp32 model's logits, {@code s} the fake-quantized model's, both averaged over the batch; the
 * cross-entropy term only applies when labels are given. Adam ({@code β = (0.9, 0.999)}, {@code ε = 1e-8}, no weight
 * decay) with a linear warm-up over {@code warmupSteps} then a cosine decay to 0 at {@code steps}:
 * <pre>
 *   lr(t) = lr · (t + 1) / warmup                                  for t &lt; warmup
 *   lr(t) = lr · ½ · (1 + cos(π · (t − warmup) / (steps − warmup)))  after
 * </pre>
 * Learned step sizes use {@code learningRate · scaleLearningRateFactor}.
 *
 * @param weightBits              bits of the weight codes, 2 to 8 (4: codes in [−8, 7]; 8: [−127, 127])
 * @param perChannelWeights       one weight scale per output channel instead of one per tensor
 * @param learnedStepSizes        learn weight and activation scales with LSQ (otherwise weight scales follow
 *                                max|w| and activation scales stay at their calibrated values)
 * @param steps                   optimizer steps (0: PTQ only)
 * @param batchSize               training examples per step
 * @param learningRate            peak Adam learning rate of the weights
 * @param scaleLearningRateFactor multiplier of the learning rate for learned step sizes
 * @param warmupSteps             steps of linear warm-up (less than {@code steps} when steps &gt; 0)
 * @param temperature             distillation temperature T
 * @param distillationWeight      weight of the distillation term (≥ 0)
 * @param crossEntropyWeight      weight of the cross-entropy term when labels are given (≥ 0)
 * @param calibrationBatches      batches of calibration data used to initialise activation ranges
 * @param seed                    seed of the batch order; the same inputs and seed give the same bytes out
 */
public record QatRecipe(int weightBits, boolean perChannelWeights, boolean learnedStepSizes, int steps, int batchSize,
                        double learningRate, double scaleLearningRateFactor, int warmupSteps, double temperature,
                        double distillationWeight, double crossEntropyWeight, int calibrationBatches, long seed) {

    public QatRecipe {
        if (weightBits < 2 || weightBits > 8) {
            throw new IllegalArgumentException("weightBits must be in [2, 8], was " + weightBits);
        }
        if (steps < 0 || batchSize < 1 || warmupSteps < 0 || (steps > 0 && warmupSteps >= steps)) {
            throw new IllegalArgumentException("need steps ≥ 0, batchSize ≥ 1, 0 ≤ warmupSteps < steps (was steps="
                + steps + ", batchSize=" + batchSize + ", warmupSteps=" + warmupSteps + ")");
        }
        if (!(learningRate > 0) || !(scaleLearningRateFactor >= 0) || !(temperature > 0)) {
            throw new IllegalArgumentException("learningRate and temperature must be positive, the scale factor ≥ 0");
        }
        if (!(distillationWeight >= 0) || !(crossEntropyWeight >= 0)) {
            throw new IllegalArgumentException("loss weights must be ≥ 0");
        }
        if (calibrationBatches < 1) {
            throw new IllegalArgumentException("calibrationBatches must be ≥ 1");
        }
    }

    /** W4A8 with one scale per weight tensor, learned step sizes, distillation only: the demanding case. */
    public static QatRecipe w4a8PerTensor(int steps) {
        return new QatRecipe(4, false, true, steps, 64, 1e-3, 1.0, Math.max(1, steps / 20), 4.0, 1.0, 0.0, 4, 20240601L);
    }

    /** W8A8 per output channel, learned step sizes, distillation only. */
    public static QatRecipe w8a8PerChannel(int steps) {
        return new QatRecipe(8, true, true, steps, 64, 1e-4, 1.0, Math.max(1, steps / 20), 4.0, 1.0, 0.0, 4, 20240601L);
    }

    public QatRecipe withSteps(int newSteps) {
        return new QatRecipe(weightBits, perChannelWeights, learnedStepSizes, newSteps, batchSize, learningRate,
            scaleLearningRateFactor, newSteps == 0 ? 0 : Math.min(warmupSteps, newSteps - 1), temperature,
            distillationWeight, crossEntropyWeight, calibrationBatches, seed);
    }

    public QatRecipe withLearningRate(double lr) {
        return new QatRecipe(weightBits, perChannelWeights, learnedStepSizes, steps, batchSize, lr,
            scaleLearningRateFactor, warmupSteps, temperature, distillationWeight, crossEntropyWeight,
            calibrationBatches, seed);
    }

    public QatRecipe withBatchSize(int size) {
        return new QatRecipe(weightBits, perChannelWeights, learnedStepSizes, steps, size, learningRate,
            scaleLearningRateFactor, warmupSteps, temperature, distillationWeight, crossEntropyWeight,
            calibrationBatches, seed);
    }

    public QatRecipe withCrossEntropyWeight(double weight) {
        return new QatRecipe(weightBits, perChannelWeights, learnedStepSizes, steps, batchSize, learningRate,
            scaleLearningRateFactor, warmupSteps, temperature, distillationWeight, weight, calibrationBatches, seed);
    }

    /** Learning rate of step {@code t} (0-based), see the class doc. */
    public double learningRateAt(int t) {
        if (t < warmupSteps) {
            return learningRate * (t + 1) / warmupSteps;
        }
        int span = Math.max(1, steps - warmupSteps);
        return learningRate * 0.5 * (1 + StrictMath.cos(Math.PI * (t - warmupSteps) / span));
    }
}
