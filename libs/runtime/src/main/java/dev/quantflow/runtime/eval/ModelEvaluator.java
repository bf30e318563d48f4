package dev.quantflow.runtime.eval;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Measures a model on evaluation data: top-1 predictions and accuracy, latency per batch size, and peak memory.
 *
 * <p><b>Predictions.</b> For sample {@code i} with output values {@code y_i[0..C)} (the output flattened per sample),
 * {@code pred_i = argmax_c y_i[c]}, the lowest index on ties, NaN never winning; -1 if all are NaN. Accuracy is
 * {@code #{i : pred_i = labels_i} / N}.
 *
 * <p><b>Binary outputs.</b> An output of one value per sample ([N] or [N, 1]) is a binary classifier with labels 0/1:
 * {@code pred_i = 1} if {@code y_i >= t}, 0 if below, -1 if NaN. The threshold is decided once per model, from the
 * graph, not from the values (a logit of 0.3 and a probability of 0.3 mean opposite classes): {@code t = 0.5} when the
 * output is produced by a Sigmoid (or HardSigmoid) node, i.e. a probability; otherwise {@code t = 0}, a logit
 * ({@code sigmoid(y) >= 0.5 ⇔ y >= 0}).
 *
 * <p><b>Latency.</b> For each {@link EvalOptions.LatencyPlan}: warm-up runs, then timed runs of {@code session.run}
 * on the same input tensors (wall clock, {@link System#nanoTime}). p50 and p95 are nearest-rank percentiles;
 * throughput is {@code batchSize / mean}. The session uses all graph optimizations, as a deployment would.
 *
 * <p><b>Peak RAM</b> (Linux only): measured by {@link IsolatedMemoryProbe} in a fresh JVM that loads the runtime,
 * then creates the session and runs one batch of the largest timed batch size: {@code VmHWM - VmRSS before the
 * session}. A fresh process matters: in one process, the second model reuses pages and allocator arenas the first
 * one left resident and looks far smaller than it is. When no child JVM can be started, the fallback is the same
 * difference measured in this process around the whole evaluation (peak reset through {@code /proc/self/clear_refs});
 * null when neither works. Because that peak is process-wide, evaluations in one JVM are serialized.
 */
public final class ModelEvaluator {

    private static final Object PROCESS_WIDE = new Object();

    private ModelEvaluator() {
    }

    /**
     * @throws DatasetException if the data does not fit the model (all problems in one message)
     * @throws ModelRunException if ONNX Runtime cannot load or run the model
     */
    public static EvalResult evaluate(byte[] modelBytes, NpzArchive data, EvalOptions options) {
        OnnxModel model = OnnxModel.parse(modelBytes);
        List<String> problems = DatasetCheck.check(model, data, false);
        if (!problems.isEmpty()) {
            throw new DatasetException(String.join(" ", problems));
        }
        String output = outputName(model, options);
        int samples = dev.quantflow.runtime.dataset.SampleAxes.samples(model, data);
        // Saturating: a label beyond int range can never equal a prediction, which is what it should count as.
        int[] labels = data.get(DatasetCheck.LABELS)
            .map(a -> Arrays.stream(a.toLongs()).mapToInt(v -> (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v))).toArray())
            .orElse(null);

        synchronized (PROCESS_WIDE) {
            // One-time costs (native library, ORT environment) must not be charged to whichever model runs first.
            OrtModels.environment();
            System.gc();
            OptionalLong rssBefore = ProcessMemory.rssKb();
            boolean peakReset = rssBefore.isPresent() && ProcessMemory.resetPeak();
            int[] predictions;
            List<EvalResult.LatencyStats> latency = new ArrayList<>();
            try (OrtSession session = OrtModels.createSession(modelBytes, options.intraOpThreads(),
                    OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
                predictions = predict(session, data, output, samples, options.batchSize(), binaryThreshold(model, output));
                for (EvalOptions.LatencyPlan plan : options.latency()) {
                    latency.add(time(session, data, output, Math.min(plan.batchSize(), samples), plan));
                }
            } catch (OrtException e) {
                throw new ModelRunException("ONNX Runtime failed to close the session: " + e.getMessage(), e);
            }
            OptionalLong peakAfter = ProcessMemory.peakKb();
            Double inProcessPeakMb = peakReset && peakAfter.isPresent()
                ? Math.max(0, peakAfter.getAsLong() - rssBefore.getAsLong()) / 1024.0 : null;
            int probeRows = Math.min(samples, options.latency().stream().mapToInt(EvalOptions.LatencyPlan::batchSize).max().orElse(1));
            Double peakRamMb = IsolatedMemoryProbe.measureMb(modelBytes,
                    dev.quantflow.runtime.dataset.SampleAxes.slice(model, data, 0, probeRows),
                    options.intraOpThreads())
                .orElse(inProcessPeakMb);
            Double accuracy = labels == null ? null : agreement(predictions, labels);
            return new EvalResult(modelBytes.length, samples, accuracy, predictions, List.copyOf(latency), peakRamMb);
        }
    }

    /**
     * Fraction of samples on which two models predict the same class: {@code #{i : a_i = b_i} / N}.
     *
     * @throws IllegalArgumentException if the arrays differ in length or are empty
     */
    public static double top1Agreement(int[] a, int[] b) {
        return agreement(a, b);
    }

    private static double agreement(int[] a, int[] b) {
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("need two non-empty prediction arrays of equal length, got " + a.length
                + " and " + b.length);
        }
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) {
                same++;
            }
        }
        return (double) same / a.length;
    }

    /**
     * The threshold for a one-value-per-sample output (see the class comment): 0.5 when {@code output} is produced by a
     * Sigmoid or HardSigmoid node (a probability), else 0 (a logit).
     */
    static float binaryThreshold(OnnxModel model, String output) {
        for (var node : model.graph().getNodeList()) {
            if (node.getOutputList().contains(output)) {
                String op = node.getOpType();
                return op.equals("Sigmoid") || op.equals("HardSigmoid") ? 0.5f : 0f;
            }
        }
        return 0f;
    }

    /** The binary prediction of one value against {@code threshold}: 1 at or above, 0 below, -1 for NaN. */
    static int binaryPrediction(float y, float threshold) {
        return Float.isNaN(y) ? -1 : y >= threshold ? 1 : 0;
    }

    private static int[] predict(OrtSession session, NpzArchive data, String output, int samples, int batchSize,
                                 float binaryThreshold) {
        int[] predictions = new int[samples];
        float[] scratch = new float[0];
        for (int from = 0; from < samples; from += batchSize) {
            int to = Math.min(samples, from + batchSize);
            try (OrtModels.InputBatch batch = OrtModels.feed(session, data, from, to);
                 OrtSession.Result result = session.run(batch.tensors(), Set.of(output))) {
                OnnxValue value = result.get(0);
                int rows = to - from;
                if (!(value instanceof OnnxTensor t)) {
                    throw new ModelRunException("output '" + output + "' is not a tensor", null);
                }
                long count = t.getInfo().getNumElements();
                if (count % rows != 0 || count == 0) {
                    throw new ModelRunException("output '" + output + "' has " + count + " values for " + rows
                        + " samples; it must have a first (sample) axis", null);
                }
                int perSample = Math.toIntExact(count / rows);
                if (scratch.length < count) {
                    scratch = new float[Math.toIntExact(count)];
                }
                readFloats(t, output, scratch);
                for (int r = 0; r < rows; r++) {
                    predictions[from + r] = perSample == 1 ? binaryPrediction(scratch[r], binaryThreshold)
                        : argmax(scratch, r * perSample, perSample);
                }
            } catch (OrtException e) {
                throw new ModelRunException("ONNX Runtime failed on samples [" + from + ", " + to + "): " + e.getMessage(), e);
            }
        }
        return predictions;
    }

    /** Copies a float32 or float64 output into {@code into} (caller-owned). */
    private static void readFloats(OnnxTensor t, String output, float[] into) {
        OnnxJavaType type = t.getInfo().type;
        if (type == OnnxJavaType.FLOAT) {
            FloatBuffer fb = t.getFloatBuffer();
            fb.get(into, 0, fb.remaining());
        } else if (type == OnnxJavaType.DOUBLE) {
            DoubleBuffer db = t.getDoubleBuffer();
            for (int i = 0; db.hasRemaining(); i++) {
                into[i] = (float) db.get();
            }
        } else {
            throw new ModelRunException("output '" + output + "' is " + type.name().toLowerCase()
                + "; predictions need float scores", null);
        }
    }

    /** Index of the largest of {@code v[offset .. offset+n)}; lowest index on ties, NaN skipped, -1 if all NaN. */
    static int argmax(float[] v, int offset, int n) {
        int best = -1;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < n; c++) {
            float x = v[offset + c];
            if (!Float.isNaN(x) && (best < 0 || x > bestValue)) {
                best = c;
                bestValue = x;
            }
        }
        return best;
    }

    private static EvalResult.LatencyStats time(OrtSession session, NpzArchive data, String output, int batchSize,
                                                EvalOptions.LatencyPlan plan) {
        Set<String> fetch = Set.of(output);
        double[] ms = new double[plan.measuredRuns()];
        try (OrtModels.InputBatch batch = OrtModels.feed(session, data, 0, batchSize)) {
            for (int i = 0; i < plan.warmupRuns(); i++) {
                session.run(batch.tensors(), fetch).close();
            }
            for (int i = 0; i < ms.length; i++) {
                long start = System.nanoTime();
                OrtSession.Result r = session.run(batch.tensors(), fetch);
                ms[i] = (System.nanoTime() - start) / 1e6;
                r.close();
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed while timing batch size " + batchSize + ": " + e.getMessage(), e);
        }
        double mean = Arrays.stream(ms).average().orElse(0);
        Arrays.sort(ms);
        return new EvalResult.LatencyStats(batchSize, ms.length, nearestRank(ms, 0.50), nearestRank(ms, 0.95), mean,
            mean > 0 ? batchSize * 1000.0 / mean : 0);
    }

    /** Nearest-rank percentile of sorted values: the value at rank ceil(q * n). */
    static double nearestRank(double[] sorted, double q) {
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    private static String outputName(OnnxModel model, EvalOptions options) {
        List<String> outputs = model.outputs().stream().map(OnnxModel.ValueInfo::name).toList();
        if (options.outputName() == null) {
            return outputs.get(0);
        }
        if (!outputs.contains(options.outputName())) {
            throw new IllegalArgumentException("the model has no output '" + options.outputName() + "'; outputs: " + outputs);
        }
        return options.outputName();
    }
}
