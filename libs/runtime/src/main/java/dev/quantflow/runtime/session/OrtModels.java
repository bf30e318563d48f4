package dev.quantflow.runtime.session;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * The two things every stage does with ONNX Runtime: open a session on model bytes, and feed it rows of an .npz
 * archive. Both return {@link AutoCloseable} objects that own native memory: use them in try-with-resources.
 */
public final class OrtModels {

    static {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            // .npy data is fed to ONNX Runtime byte for byte; a big-endian host would need a swap on every batch.
            throw new ExceptionInInitializerError("quantflow runtime needs a little-endian host");
        }
    }

    private OrtModels() {
    }

    /** The process-wide ONNX Runtime environment. */
    public static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment();
    }

    /**
     * Opens a CPU session on serialized model bytes, running operators sequentially.
     *
     * @param intraOpThreads threads inside one operator (1 = deterministic single-core timing)
     * @param level graph optimization level; {@code BASIC_OPT} keeps numerics identical to the graph as written,
     *              higher levels fuse operators as a deployment would
     * @throws ModelRunException if ONNX Runtime rejects the model
     */
    public static OrtSession createSession(byte[] modelBytes, int intraOpThreads, OrtSession.SessionOptions.OptLevel level) {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, was " + intraOpThreads);
        }
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(intraOpThreads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(level);
            return environment().createSession(modelBytes, options);
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    /**
     * Samples {@code [from, to)} of {@code data} as input tensors for every input of {@code session}, cut along each
     * array's sample axis ({@link dev.quantflow.runtime.dataset.SampleAxes}: a scalar is given once and fed whole,
     * a state [directions, batch, hidden] is cut along axis 1): array names must equal input names and dtypes must
     * match exactly (no silent conversion; {@code DatasetCheck} explains mismatches
     * to the user beforehand).
     *
     * @throws DatasetException if an input's array is missing or has another dtype
     */
    public static InputBatch feed(OrtSession session, NpzArchive data, int from, int to) {
        Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, NodeInfo> input : session.getInputInfo().entrySet()) {
                if (!(input.getValue().getInfo() instanceof TensorInfo info)) {
                    throw new DatasetException("model input '" + input.getKey() + "' is not a tensor; only tensor inputs can be fed");
                }
                NdArray array = data.array(input.getKey());
                OnnxJavaType expected = javaType(array.dtype());
                if (expected != info.type) {
                    throw new DatasetException("array '" + array.name() + "' is " + array.dtypeName() + " but model input '"
                        + input.getKey() + "' needs " + info.type.name().toLowerCase());
                }
                int axis = dev.quantflow.runtime.dataset.SampleAxes.axis(info, array);
                tensors.put(input.getKey(), axis == dev.quantflow.runtime.dataset.SampleAxes.GIVEN_ONCE
                    ? tensor(array, 0, 0, expected, true)
                    : axis == 0 ? tensor(array, from, to, expected) : tensor(array.slice(axis, from, to), 0, to - from,
                        expected, true));
            }
            return new InputBatch(tensors, to - from);
        } catch (OrtException | RuntimeException e) {
            tensors.values().forEach(OnnxTensor::close);
            if (e instanceof OrtException ort) {
                throw new ModelRunException("cannot create input tensors: " + ort.getMessage(), ort);
            }
            throw (RuntimeException) e;
        }
    }

    /** The whole array as a tensor of its own dtype and shape (a scalar stays a scalar). */
    public static OnnxTensor whole(NdArray array) {
        try {
            return tensor(array, 0, 0, javaType(array.dtype()), true);
        } catch (OrtException e) {
            throw new ModelRunException("cannot create a tensor for '" + array.name() + "': " + e.getMessage(), e);
        }
    }

    /** Rows {@code [from, to)} of one array as a tensor of its own dtype. */
    public static OnnxTensor tensor(NdArray array, int from, int to) {
        try {
            return tensor(array, from, to, javaType(array.dtype()));
        } catch (OrtException e) {
            throw new ModelRunException("cannot create a tensor for '" + array.name() + "': " + e.getMessage(), e);
        }
    }

    private static OnnxTensor tensor(NdArray array, int from, int to, OnnxJavaType type) throws OrtException {
        return tensor(array, from, to, type, false);
    }

    /** With {@code whole}, the array as it is (its own shape; a scalar stays a scalar). */
    private static OnnxTensor tensor(NdArray array, int from, int to, OnnxJavaType type, boolean whole)
        throws OrtException {
        if (whole) {
            ByteBuffer src = array.buffer();
            ByteBuffer direct = ByteBuffer.allocateDirect(src.remaining()).order(ByteOrder.nativeOrder());
            direct.put(src).flip();
            return OnnxTensor.createTensor(environment(), direct, array.shape(), type);
        }
        int rows = array.rows();
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of array '" + array.name() + "' with " + rows + " rows");
        }
        long rowBytes = array.rowElements() * array.itemSize();
        ByteBuffer src = array.buffer();
        src.position(Math.toIntExact(from * rowBytes)).limit(Math.toIntExact(to * rowBytes));
        // A direct buffer is handed to ONNX Runtime without a further copy.
        ByteBuffer direct = ByteBuffer.allocateDirect(src.remaining()).order(ByteOrder.nativeOrder());
        direct.put(src).flip();
        long[] shape = array.shape();
        shape[0] = to - from;
        return OnnxTensor.createTensor(environment(), direct, shape, type);
    }

    /** ONNX Runtime's Java type for a NumPy dtype. */
    public static OnnxJavaType javaType(String dtype) {
        return switch (dtype) {
            case "<f4" -> OnnxJavaType.FLOAT;
            case "<f8" -> OnnxJavaType.DOUBLE;
            case "<f2" -> OnnxJavaType.FLOAT16;
            case "|i1" -> OnnxJavaType.INT8;
            case "<i2" -> OnnxJavaType.INT16;
            case "<i4" -> OnnxJavaType.INT32;
            case "<i8" -> OnnxJavaType.INT64;
            case "|u1" -> OnnxJavaType.UINT8;
            case "|b1" -> OnnxJavaType.BOOL;
            default -> throw new DatasetException("dtype " + dtype + " cannot be fed to a model");
        };
    }

    /** Input tensors for one batch, keyed by model input name; closing frees their native memory. */
    public static final class InputBatch implements AutoCloseable {
        private final Map<String, OnnxTensor> tensors;
        private final int rows;

        private InputBatch(Map<String, OnnxTensor> tensors, int rows) {
            this.tensors = tensors;
            this.rows = rows;
        }

        /** Tensors in model input order, ready for {@link OrtSession#run(Map)}. */
        public Map<String, OnnxTensor> tensors() {
            return tensors;
        }

        /** Number of samples in the batch. */
        public int rows() {
            return rows;
        }

        @Override
        public void close() {
            tensors.values().forEach(OnnxTensor::close);
        }
    }
}
