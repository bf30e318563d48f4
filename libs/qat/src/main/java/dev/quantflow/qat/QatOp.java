package dev.quantflow.qat;

/**
 * One differentiable operator of the training graph.
 *
 * <p>{@link #forward} sets the output's shape and values from the inputs (and may cache what its backward needs);
 * {@link #backward} reads the output gradient and <em>adds</em> the input gradients into every input whose
 * {@link QatTensor#grad()} is non-null, so a tensor read by several nodes sums their contributions. Backward must
 * follow the forward of the same inputs.
 */
interface QatOp {

    void forward(QatTensor[] in, QatTensor out);

    void backward(QatTensor[] in, QatTensor out);
}
