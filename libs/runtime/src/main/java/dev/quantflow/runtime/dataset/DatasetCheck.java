package dev.quantflow.runtime.dataset;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/**
 * Checks that an .npz file can be fed to a model before any session is opened, and says what is wrong in sentences
 * a user can act on (which array, what the model expects, how to fix it with NumPy).
 *
 * <p>The file must hold one array per model input, named like the input, with the input's element type, its rank
 * and its fixed dimensions (symbolic or unknown dimensions accept any size; the sample axis, chosen by
 * {@link SampleAxes} — axis 0, or the batch axis of a state laid out [directions, batch, hidden] — is always free).
 * A model input that is a scalar (a sample rate, a flag) takes a scalar array, given once for every sample. Every input array and {@code labels} must have the same, non-zero number of samples. {@code labels}, when
 * present or required, is an integer array of shape [N] with values in [0, classes) when the first output's last
 * dimension gives the class count. Float inputs must be finite. Other arrays are ignored.
 */
public final class DatasetCheck {

    /** Name of the optional array of class labels used for accuracy. */
    public static final String LABELS = "labels";

    private DatasetCheck() {
    }

    /**
     * @param labelsRequired whether a missing {@value #LABELS} array is a problem (evaluation needs it)
     * @return problems, one sentence each, in a stable order; empty when the data can be used
     */
    public static List<String> check(OnnxModel model, NpzArchive data, boolean labelsRequired) {
        List<String> problems = new ArrayList<>();
        List<OnnxModel.ValueInfo> inputs = model.inputs();
        List<String> expectedNames = inputs.stream().map(OnnxModel.ValueInfo::name).toList();
        Map<String, Integer> sampleCounts = new LinkedHashMap<>();

        for (OnnxModel.ValueInfo input : inputs) {
            NdArray array = data.get(input.name()).orElse(null);
            if (array == null) {
                problems.add("The model input '" + input.name() + "' has no array in the data file: the file has arrays "
                    + data.names() + " but the model expects " + expectedNames
                    + (labelsRequired ? " (plus '" + LABELS + "' for accuracy)" : "")
                    + "; save each input under its model name, e.g. np.savez_compressed(path, " + input.name() + "=x).");
                continue;
            }
            String wantedDtype = npyDtype(input.elemType());
            if (wantedDtype == null) {
                problems.add("The model input '" + input.name() + "' has element type " + input.elemTypeName()
                    + ", which cannot be fed from an .npz file.");
                continue;
            }
            boolean dtypeOk = wantedDtype.equals(array.dtype());
            if (!dtypeOk) {
                String wanted = numpyName(input.elemType());
                problems.add("Array '" + array.name() + "' has dtype " + array.dtypeName() + " but the model input '"
                    + input.name() + "' expects " + wanted + "; convert it with x.astype(np." + wanted + ").");
            }
            if (array.rank() == 0) {
                if (hasDeclaredShape(model, input.name()) && input.shape().length > 0) {
                    problems.add("Array '" + array.name() + "' is a scalar but the model input '" + input.name()
                        + "' expects shape " + describe(input.shape(), input.dimNames()) + "; a scalar is given once "
                        + "for every sample only where the model input is a scalar.");
                }
                continue; // given once: the same value with every batch
            }
            int axis = SampleAxes.axis(model, input, array);
            checkShape(model, input, array, axis, problems);
            sampleCounts.put(array.name(), SampleAxes.samples(array, axis));
            if (dtypeOk && array.isFloat()) {
                checkFinite(array, problems);
            }
        }

        NdArray labels = data.get(LABELS).orElse(null);
        if (labels == null) {
            if (labelsRequired) {
                problems.add("The data file has no '" + LABELS + "' array, which accuracy needs: add integer class labels of "
                    + "shape [N], e.g. np.savez_compressed(path, ..., " + LABELS + "=y.astype(np.int64)).");
            }
        } else if (!expectedNames.contains(LABELS)) {
            checkLabels(model, labels, problems, sampleCounts);
        }

        if (sampleCounts.values().stream().distinct().count() > 1) {
            StringBuilder counts = new StringBuilder();
            sampleCounts.forEach((n, c) -> counts.append(counts.isEmpty() ? "" : ", ").append(n).append(" has ").append(c));
            problems.add("The arrays have different sample counts (" + counts + "); every array needs the same first "
                + "dimension, one entry per sample.");
        }
        sampleCounts.forEach((name, count) -> {
            if (count == 0) {
                problems.add("Array '" + name + "' has 0 samples; the data file must hold at least one sample.");
            }
        });
        return problems;
    }

    private static void checkShape(OnnxModel model, OnnxModel.ValueInfo input, NdArray array, int sampleAxis,
                                   List<String> problems) {
        if (!hasDeclaredShape(model, input.name())) {
            return; // the model does not say; ONNX Runtime will check at run time
        }
        long[] want = input.shape();
        long[] have = array.shape();
        String wantText = describe(want, input.dimNames());
        if (want.length != have.length) {
            problems.add("Array '" + array.name() + "' has shape " + Arrays.toString(have) + " (rank " + have.length
                + ") but the model input '" + input.name() + "' expects rank " + want.length + ", shape " + wantText
                + reshapeHint(want));
            return;
        }
        for (int d = 0; d < want.length; d++) {
            if (d != sampleAxis && want[d] > 0 && want[d] != have[d]) {
                problems.add("Array '" + array.name() + "' has shape " + Arrays.toString(have) + " but the model input '"
                    + input.name() + "' expects " + wantText + " (dimension " + d + " must be " + want[d] + ")"
                    + reshapeHint(want));
                return;
            }
        }
    }

    private static void checkFinite(NdArray array, List<String> problems) {
        long nan = 0;
        long inf = 0;
        long first = -1;
        float[] values = array.toFloats();
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            if (!Float.isFinite(v)) {
                if (Float.isNaN(v)) {
                    nan++;
                } else {
                    inf++;
                }
                if (first < 0) {
                    first = i;
                }
            }
        }
        if (first >= 0) {
            long perRow = Math.max(1, array.rowElements());
            problems.add("Array '" + array.name() + "' contains " + nan + " NaN and " + inf + " infinite values (first in "
                + "sample " + first / perRow + "); clean or drop those samples, e.g. x[np.isfinite(x).all(axis=tuple("
                + "range(1, x.ndim)))], and normalize inputs the way the model expects (e.g. pixels to [0, 1]).");
        }
    }

    private static void checkLabels(OnnxModel model, NdArray labels, List<String> problems, Map<String, Integer> counts) {
        if (labels.isFloat() || labels.dtype().equals("|b1")) {
            problems.add("Array '" + LABELS + "' has dtype " + labels.dtypeName() + " but labels must be integer class "
                + "indices; convert with y.astype(np.int64).");
            if (labels.rank() >= 1) {
                counts.put(LABELS, labels.rows());
            }
            return;
        }
        if (labels.rank() != 1) {
            problems.add("Array '" + LABELS + "' has shape " + Arrays.toString(labels.shape()) + " but labels must have "
                + "shape [N], one class index per sample; flatten with y.reshape(-1) (or y.argmax(axis=1) for one-hot).");
            if (labels.rank() == 0) {
                return;
            }
        }
        counts.put(LABELS, labels.rows());
        if (labels.rank() != 1) {
            return;
        }
        long classes = classCount(model);
        // One value per sample is a binary classifier (a sigmoid probability or a logit): labels 0/1.
        if (classes == 1 || firstOutputRank(model) == 1) {
            classes = 2;
        }
        long[] values = labels.toLongs();
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || (classes > 0 && values[i] >= classes)) {
                problems.add("Array '" + LABELS + "' holds " + values[i] + " at sample " + i + ", outside the model's class "
                    + "range [0, " + (classes > 0 ? classes - 1 : "…") + "]; labels must be class indices.");
                return;
            }
        }
    }

    /** Rank of the first output as declared (0 when there is none or it declares no shape). */
    private static int firstOutputRank(OnnxModel model) {
        List<OnnxModel.ValueInfo> outputs = model.outputs();
        return outputs.isEmpty() ? 0 : outputs.get(0).shape().length;
    }

    /** Size of the first output's last dimension when fixed, else -1. */
    private static long classCount(OnnxModel model) {
        List<OnnxModel.ValueInfo> outputs = model.outputs();
        if (outputs.isEmpty()) {
            return -1;
        }
        long[] shape = outputs.get(0).shape();
        return shape.length >= 2 && shape[shape.length - 1] > 0 ? shape[shape.length - 1] : -1;
    }

    private static boolean hasDeclaredShape(OnnxModel model, String inputName) {
        for (OnnxMl.ValueInfoProto vi : model.graph().getInputList()) {
            if (vi.getName().equals(inputName)) {
                return vi.hasType() && vi.getType().hasTensorType() && vi.getType().getTensorType().hasShape();
            }
        }
        return false;
    }

    private static String describe(long[] shape, List<String> dimNames) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : ", ");
            if (shape[i] > 0) {
                s.append(shape[i]);
            } else {
                String n = i < dimNames.size() ? dimNames.get(i) : "";
                s.append(n.isEmpty() ? (i == 0 ? "N" : "?") : n);
            }
        }
        return s.append(']').toString();
    }

    private static String reshapeHint(long[] want) {
        StringBuilder s = new StringBuilder("; reshape it, e.g. x.reshape(-1");
        for (int i = 1; i < want.length; i++) {
            if (want[i] <= 0) {
                return ".";
            }
            s.append(", ").append(want[i]);
        }
        return s.append(").").toString();
    }

    /** NumPy dtype string for an ONNX element type, or null if it has none here. */
    static String npyDtype(int onnxElemType) {
        var t = OnnxMl.TensorProto.DataType.forNumber(onnxElemType);
        if (t == null) {
            return null;
        }
        return switch (t) {
            case FLOAT -> "<f4";
            case DOUBLE -> "<f8";
            case FLOAT16 -> "<f2";
            case INT8 -> "|i1";
            case INT16 -> "<i2";
            case INT32 -> "<i4";
            case INT64 -> "<i8";
            case UINT8 -> "|u1";
            case BOOL -> "|b1";
            default -> null;
        };
    }

    private static String numpyName(int onnxElemType) {
        return switch (npyDtype(onnxElemType)) {
            case "<f4" -> "float32";
            case "<f8" -> "float64";
            case "<f2" -> "float16";
            case "|i1" -> "int8";
            case "<i2" -> "int16";
            case "<i4" -> "int32";
            case "<i8" -> "int64";
            case "|u1" -> "uint8";
            default -> "bool_";
        };
    }

    /** Above this ratio between the two sets' typical magnitudes, calibration data does not look like validation data. */
    public static final double MAX_RANGE_RATIO = 10.0;

    /**
     * Input range mismatch: for every float model input, the 99th percentile of {@code |x|} of the calibration set
     * and of the validation set (robust to a few extreme values; read from at most ~200k evenly strided elements,
     * deterministic). When one is more than {@link #MAX_RANGE_RATIO} times the other, the sets were not normalized
     * the same way (e.g. pixels 0..255 in one, 0..1 in the other) and calibrated ranges would not fit the data the
     * model sees: the problem says so and what to do.
     */
    public static List<String> compareRanges(OnnxModel model, NpzArchive calibration, NpzArchive validation) {
        List<String> problems = new ArrayList<>();
        for (OnnxModel.ValueInfo input : model.inputs()) {
            var c = calibration.get(input.name());
            var v = validation.get(input.name());
            if (c.isEmpty() || v.isEmpty() || !c.get().isFloat() || !v.get().isFloat()) {
                continue;
            }
            double pc = absPercentile99(c.get());
            double pv = absPercentile99(v.get());
            double hi = Math.max(pc, pv);
            double lo = Math.min(pc, pv);
            if (hi > 0 && (lo == 0 || hi / lo > MAX_RANGE_RATIO)) {
                problems.add(String.format(java.util.Locale.ROOT, "Input '%s': calibration values reach about %.4g and "
                    + "validation values about %.4g (99th percentile of |x|): the two sets are not normalized the same "
                    + "way. Normalize both as the model expects (e.g. pixels to [0, 1]) before quantizing.",
                    input.name(), pc, pv));
            }
        }
        return problems;
    }

    private static double absPercentile99(NdArray array) {
        float[] values = array.toFloats();
        int stride = Math.max(1, values.length / 200_000);
        float[] sample = new float[(values.length + stride - 1) / stride];
        int n = 0;
        for (int i = 0; i < values.length && n < sample.length; i += stride) {
            sample[n++] = Math.abs(values[i]);
        }
        if (n == 0) {
            return 0;
        }
        java.util.Arrays.sort(sample, 0, n);
        return sample[Math.min(n - 1, (int) Math.ceil(0.99 * n) - 1)];
    }
}
