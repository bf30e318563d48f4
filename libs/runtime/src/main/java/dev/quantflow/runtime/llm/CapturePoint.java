package dev.quantflow.runtime.llm;

import java.util.List;

/**
 * One activation tensor read by weight MatMuls: the input {@code X} of {@code MatMul(X, W)} with {@code W} a constant
 * float initializer {@code [k, n]}. MatMuls that read the same tensor (q, k and v projections) share one point.
 *
 * @param tensor the activation tensor's name
 * @param k its last dimension, the weights' first
 * @param matMulNodes the MatMul nodes that read it, in graph order
 * @param weights their weight initializers, in the same order
 */
public record CapturePoint(String tensor, int k, List<String> matMulNodes, List<String> weights) {

    public CapturePoint {
        matMulNodes = List.copyOf(matMulNodes);
        weights = List.copyOf(weights);
    }
}
