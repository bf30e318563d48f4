package dev.quantflow.qat;

/** Receives the trainer's progress after every optimizer step (the service publishes it as job status). */
@FunctionalInterface
public interface QatProgressListener {

    /**
     * @param step         steps done so far (1-based)
     * @param totalSteps   steps the recipe asks for
     * @param loss         the step's loss (before its update)
     * @param learningRate the learning rate the step used
     */
    void onStep(int step, int totalSteps, double loss, double learningRate);

    QatProgressListener NONE = (step, total, loss, lr) -> { };
}
