package dev.quantflow.runtime;

import dev.quantflow.runtime.npz.NdArray;

/** Deterministic test arrays. */
public final class TestData {

    private TestData() {
    }

    /** {@code count} floats {@code v_i = ((i * 37) % 101 - 50) / 25}: spread over [-2, 2], no randomness. */
    public static float[] ramp(int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = ((i * 37) % 101 - 50) / 25f;
        }
        return v;
    }

    /** Float array of the given shape filled with {@link #ramp}. */
    public static NdArray floats(String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return NdArray.ofFloats(name, ramp((int) n), shape);
    }
}
