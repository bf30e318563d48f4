package dev.quantflow.runtime.dataset;

import java.util.Locale;
import java.util.Map;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Which axis of a dataset array counts samples, for models with several inputs: the one rule every stage uses to
 * cut batches and count samples (calibration, evaluation, diagnostics, the intake check).
 *
 * <p>Each array is stored in its model input's own layout. For an input the rule picks, in order:
 * <ol>
 *   <li>an array of rank 0 (a scalar: a sample rate, a flag) is <b>given once</b> ({@link #GIVEN_ONCE}) and fed
 *       as it is with every batch;</li>
 *   <li>the axis whose declared dimension is named like a batch ({@code batch}, {@code batch_size}, …);</li>
 *   <li>axis 0 when it is dynamic (symbolic or unknown), or the model declares no shape;</li>
 *   <li>when axis 0 is a fixed size above 1 and exactly one other axis is dynamic, that axis: a recurrent state
 *       {@code [directions·layers, batch, hidden]} as ONNX's LSTM and exporters lay it out;</li>
 *   <li>else axis 0.</li>
 * </ol>
 * The sample count of a dataset is the size of the sample axis, the same for every array that has one
 * ({@link DatasetCheck} says so when not); a dataset of given-once arrays only has one sample.
 */
public final class SampleAxes {

    /** The array is one value for every sample. */
    public static final int GIVEN_ONCE = -1;

    private SampleAxes() {
    }

    /**
     * @param declared the input's declared dims (dynamic ≤ 0), or null when the model declares no shape
     * @param names    the dims' symbolic names ("" or null where none), may be null
     * @param arrayRank the rank of the array that will be fed
     */
    public static int axis(long[] declared, String[] names, int arrayRank) {
        if (arrayRank == 0) {
            return GIVEN_ONCE;
        }
        if (declared == null || declared.length == 0 || declared.length != arrayRank) {
            return 0;
        }
        if (names != null) {
            for (int d = 0; d < Math.min(names.length, declared.length); d++) {
                String n = names[d] == null ? "" : names[d].toLowerCase(Locale.ROOT);
                if (declared[d] <= 0 && (n.equals("n") || n.equals("b") || n.contains("batch"))) {
                    return d;
                }
            }
        }
        if (declared[0] <= 0) {
            return 0;
        }
        int dynamic = -1;
        int count = 0;
        for (int d = 1; d < declared.length; d++) {
            if (declared[d] <= 0) {
                dynamic = d;
                count++;
            }
        }
        return declared[0] > 1 && count == 1 ? dynamic : 0;
    }

    /** The sample axis of {@code array} fed to the model input {@code input}. */
    public static int axis(OnnxModel model, OnnxModel.ValueInfo input, NdArray array) {
        boolean declared = model.graph().getInputList().stream().filter(v -> v.getName().equals(input.name()))
            .anyMatch(v -> v.hasType() && v.getType().hasTensorType() && v.getType().getTensorType().hasShape());
        return axis(declared ? input.shape() : null, input.dimNames().toArray(String[]::new), array.rank());
    }

    /** The sample axis of {@code array} fed to a session input described by {@code info}. */
    public static int axis(TensorInfo info, NdArray array) {
        long[] shape = info.getShape();
        return axis(shape.length == 0 && array.rank() > 0 ? null : shape, info.getDimensionNames(), array.rank());
    }

    /** Size of {@code array} along {@code axis}; {@link Integer#MAX_VALUE} when it is given once. */
    public static int samples(NdArray array, int axis) {
        if (axis == GIVEN_ONCE) {
            return Integer.MAX_VALUE;
        }
        long n = array.shape()[axis];
        if (n > Integer.MAX_VALUE) {
            throw new DatasetException("array '" + array.name() + "' has " + n + " samples, more than supported");
        }
        return (int) n;
    }

    /** Samples {@code [from, to)} of {@code array}; a given-once array as it is. */
    public static NdArray slice(NdArray array, int axis, int from, int to) {
        return axis == GIVEN_ONCE ? array : array.slice(axis, from, to);
    }

    /**
     * Number of samples {@code data} holds for {@code model}: the smallest sample-axis size over the model inputs
     * that have an array (1 when every input is given once).
     */
    public static int samples(OnnxModel model, NpzArchive data) {
        int n = Integer.MAX_VALUE;
        for (OnnxModel.ValueInfo in : model.inputs()) {
            NdArray a = data.get(in.name()).orElse(null);
            if (a != null) {
                n = Math.min(n, samples(a, axis(model, in, a)));
            }
        }
        return n == Integer.MAX_VALUE ? 1 : n;
    }

    /** {@link #samples(OnnxModel, NpzArchive)} for the inputs of an open session. */
    public static int samples(OrtSession session, NpzArchive data) {
        int n = Integer.MAX_VALUE;
        try {
            for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
                NdArray a = data.get(e.getKey()).orElse(null);
                if (a != null && e.getValue().getInfo() instanceof TensorInfo info) {
                    n = Math.min(n, samples(a, axis(info, a)));
                }
            }
        } catch (ai.onnxruntime.OrtException e) {
            throw new dev.quantflow.runtime.ModelRunException("cannot read the model inputs: " + e.getMessage(), e);
        }
        return n == Integer.MAX_VALUE ? 1 : n;
    }

    /** Samples {@code [from, to)} of every model input's array, each cut along its own sample axis. */
    public static NpzArchive slice(OnnxModel model, NpzArchive data, int from, int to) {
        java.util.List<NdArray> arrays = new java.util.ArrayList<>();
        for (OnnxModel.ValueInfo in : model.inputs()) {
            NdArray a = data.array(in.name());
            arrays.add(slice(a, axis(model, in, a), from, to));
        }
        return NpzArchive.of(arrays);
    }
}
