package dev.quantflow.profiler.service;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Makes input data for a model that came without any: one array per model input, shaped from the input's declared
 * shape with its dynamic dimensions filled in, values drawn from a fixed seed.
 *
 * <p>Shapes: the first dimension is the batch (a dynamic one becomes the requested batch; a fixed one stays and
 * caps the batch); every other dynamic dimension becomes {@code sequenceLength}. Values: floating-point inputs
 * uniform in [0, 1) (what normalized pixels and most features look like); integer inputs are token ids uniform in
 * [0, vocabSize) ([0, 100) without a vocabulary size), except inputs named like an attention mask (all 1) or token
 * type ids (all 0), so a transformer sees a plausible, unpadded sentence; booleans are true.
 */
public final class InputSynthesizer {

    /** Ids drawn when no vocabulary size is known: small enough for any embedding table worth profiling. */
    static final int DEFAULT_ID_BOUND = 100;

    /** One model input as ONNX Runtime reports it: name, element type, shape with -1 for dynamic dimensions. */
    public record InputSpec(String name, OnnxJavaType type, long[] shape) {
        public boolean integer() {
            return type == OnnxJavaType.INT64 || type == OnnxJavaType.INT32 || type == OnnxJavaType.INT16
                || type == OnnxJavaType.INT8 || type == OnnxJavaType.UINT8;
        }
    }

    private InputSynthesizer() {
    }

    /**
     * The model's tensor inputs.
     *
     * @throws IllegalArgumentException for a non-tensor or scalar input (nothing to batch)
     */
    public static List<InputSpec> specs(Map<String, NodeInfo> inputs) {
        List<InputSpec> out = new ArrayList<>();
        for (var e : inputs.entrySet()) {
            if (!(e.getValue().getInfo() instanceof TensorInfo info)) {
                throw new IllegalArgumentException("model input '" + e.getKey() + "' is not a tensor; only tensor inputs can be synthesized");
            }
            if (info.getShape().length == 0) {
                throw new IllegalArgumentException("model input '" + e.getKey() + "' is a scalar; it has no batch dimension to profile");
            }
            out.add(new InputSpec(e.getKey(), info.type, info.getShape()));
        }
        return out;
    }

    /** Whether any input takes integers (token ids): such a model is profiled as text. */
    public static boolean isText(List<InputSpec> specs) {
        return specs.stream().anyMatch(InputSpec::integer);
    }

    /**
     * The largest batch the model accepts, at most {@code requested}: the smallest fixed first dimension of any
     * input, else {@code requested}.
     */
    public static int batchFor(List<InputSpec> specs, int requested) {
        int batch = requested;
        for (InputSpec s : specs) {
            if (s.shape()[0] > 0) {
                batch = (int) Math.min(batch, s.shape()[0]);
            }
        }
        return batch;
    }

    /** The concrete shape of an input at a batch size. */
    public static long[] concreteShape(InputSpec spec, int batch, int sequenceLength) {
        long[] shape = spec.shape().clone();
        if (shape[0] < 0) {
            shape[0] = batch;
        }
        for (int i = 1; i < shape.length; i++) {
            if (shape[i] < 0) {
                shape[i] = sequenceLength;
            }
        }
        return shape;
    }

    /**
     * Inputs for {@code batch} samples.
     *
     * @throws IllegalArgumentException for an element type that cannot be synthesized (string, complex)
     */
    public static NpzArchive synthesize(List<InputSpec> specs, int batch, int sequenceLength, Integer vocabSize, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        int idBound = vocabSize == null ? DEFAULT_ID_BOUND : vocabSize;
        for (InputSpec spec : specs) {
            long[] shape = concreteShape(spec, batch, sequenceLength);
            long count = 1;
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            int n = Math.toIntExact(count);
            String lower = spec.name().toLowerCase(Locale.ROOT);
            long constant = lower.contains("mask") ? 1 : lower.contains("token_type") ? 0 : -1;
            arrays.put(spec.name(), switch (spec.type()) {
                case FLOAT -> {
                    float[] v = new float[n];
                    for (int i = 0; i < n; i++) {
                        v[i] = (float) random.nextDouble();
                    }
                    yield NdArray.ofFloats(spec.name(), v, shape);
                }
                case DOUBLE -> {
                    double[] v = new double[n];
                    for (int i = 0; i < n; i++) {
                        v[i] = random.nextDouble();
                    }
                    yield NdArray.ofDoubles(spec.name(), v, shape);
                }
                case FLOAT16 -> {
                    ByteBuffer b = ByteBuffer.allocate(n * 2).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < n; i++) {
                        b.putShort(Float.floatToFloat16((float) random.nextDouble()));
                    }
                    yield NdArray.of(spec.name(), "<f2", shape, b.array());
                }
                case INT64 -> {
                    long[] v = new long[n];
                    for (int i = 0; i < n; i++) {
                        v[i] = constant >= 0 ? constant : random.nextInt(idBound);
                    }
                    yield NdArray.ofLongs(spec.name(), v, shape);
                }
                case INT32 -> {
                    int[] v = new int[n];
                    for (int i = 0; i < n; i++) {
                        v[i] = constant >= 0 ? (int) constant : random.nextInt(idBound);
                    }
                    yield NdArray.ofInts(spec.name(), v, shape);
                }
                case INT8, UINT8, BOOL -> {
                    byte[] v = new byte[n];
                    for (int i = 0; i < n; i++) {
                        v[i] = spec.type() == OnnxJavaType.BOOL ? 1
                            : (byte) (constant >= 0 ? constant : random.nextInt(Math.min(idBound, 128)));
                    }
                    String dtype = spec.type() == OnnxJavaType.INT8 ? "|i1" : spec.type() == OnnxJavaType.UINT8 ? "|u1" : "|b1";
                    yield NdArray.of(spec.name(), dtype, shape, v);
                }
                default -> throw new IllegalArgumentException("model input '" + spec.name() + "' has element type "
                    + spec.type() + ", which the profiler cannot synthesize");
            });
        }
        return NpzArchive.of(arrays.values());
    }

    /** {@link #specs} for a session's inputs, wrapping ONNX Runtime's checked exception. */
    static List<InputSpec> specsOf(ai.onnxruntime.OrtSession session) {
        try {
            return specs(session.getInputInfo());
        } catch (OrtException e) {
            throw new IllegalArgumentException("cannot read the model's inputs: " + e.getMessage(), e);
        }
    }
}
