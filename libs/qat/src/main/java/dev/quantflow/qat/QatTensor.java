package dev.quantflow.qat;

import java.util.Arrays;

/**
 * A float32 tensor of the QAT engine: row-major values, their gradient, and whether it is a trainable parameter.
 *
 * <p>Buffers are reused between steps: {@link #reshape} only reallocates when the element count grows, so a training
 * loop with a fixed batch size allocates nothing after its first step. {@link #size()} is the live element count;
 * the arrays may be longer.
 */
public final class QatTensor {

    private final String name;
    private int[] shape;
    private int size;
    private float[] data;
    private float[] grad;
    private final boolean trainable;
    private final boolean needsGrad;

    QatTensor(String name, int[] shape, float[] data, boolean trainable, boolean needsGrad) {
        this.name = name;
        this.shape = shape.clone();
        this.size = count(shape);
        this.data = data == null ? new float[size] : data;
        this.trainable = trainable;
        this.needsGrad = needsGrad;
        this.grad = needsGrad ? new float[Math.max(size, this.data.length)] : null;
    }

    public String name() {
        return name;
    }

    public int[] shape() {
        return shape.clone();
    }

    int[] shapeRef() {
        return shape;
    }

    int dim(int axis) {
        return shape[axis];
    }

    int rank() {
        return shape.length;
    }

    public int size() {
        return size;
    }

    /** The values (the array may be longer than {@link #size()}). */
    public float[] data() {
        return data;
    }

    /** The gradient of the loss with respect to the values, or null for a tensor without one. */
    public float[] grad() {
        return grad;
    }

    public boolean trainable() {
        return trainable;
    }

    boolean needsGrad() {
        return needsGrad;
    }

    /** Sets the shape, growing the buffers when needed (old contents are then lost). */
    void reshape(int... newShape) {
        int n = count(newShape);
        if (!Arrays.equals(shape, newShape)) {
            shape = newShape.clone();
        }
        size = n;
        if (data.length < n) {
            data = new float[n];
        }
        if (needsGrad && grad.length < n) {
            grad = new float[n];
        }
    }

    void zeroGrad() {
        if (grad != null) {
            Arrays.fill(grad, 0, size, 0f);
        }
    }

    /** A copy of the live values. */
    public float[] values() {
        return Arrays.copyOf(data, size);
    }

    static int count(int[] shape) {
        int n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
