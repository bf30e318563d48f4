package dev.quantflow.runtime.llm;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.calib.CalibrationException;
import dev.quantflow.quant.llm.LayerInputStats;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;
import dev.quantflow.runtime.text.TokenizedText;

/**
 * Runs an fp32 causal LM over calibration windows and collects, for every weight MatMul input, the statistics the
 * 4-bit weight quantizers need ({@link LayerInputStats}: {@code XᵀX} for GPTQ's Hessian, mean |x| per channel and a
 * row sample for AWQ).
 *
 * <p><b>What is captured.</b> Every {@code MatMul(X, W)} whose second input {@code W} is a float initializer of rank 2
 * ({@code [k, n]}, a Linear layer as exporters write it) is a consumer of its first input {@code X}. MatMuls that read
 * the same {@code X} (q/k/v projections) share one {@link CapturePoint} and one statistics object, since GPTQ's
 * Hessian depends on the input only. A weight reached through another node ({@code DequantizeLinear}) or a Gemm is not a capture
 * point, except {@code Transpose(E, perm=[1, 0])} of an initializer: a head tied to the token embedding.
 *
 * <p><b>How.</b> ONNX Runtime cannot expose intermediate tensors, so every {@code X} is added as a graph output and
 * fetched on each run (one session, {@code BASIC_OPT}, which keeps every value as the graph defines it). A fetched
 * tensor of shape {@code [b, s, …, k]} is read as {@code rows = b·s·… } rows of {@code k} values (the row-major
 * flattening of all leading axes) and accumulated: for every row {@code x}, {@code XᵀX += x xᵀ},
 * {@code Σ|x_j| += |x_j|}, and the reservoir sample is offered {@code x}. A window's activations are dropped after
 * its batch, so memory is the statistics ({@code 8k² + 8k + 4·maxSampleRows·k} bytes per tensor) plus one batch of
 * activations, whatever the number of windows.
 *
 * <p><b>Data.</b> Windows are the rows of an int64 (or other integer) {@code input_ids [n, seq]} array, used whole
 * and in file order; every token must lie in {@code [0, vocab)}. Each statistics object gets the same seed, so for a
 * given model, data and options the result (and its serialized artifact) is the same byte for byte.
 */
public final class LlmCalibration {

    private LlmCalibration() {
    }

    /**
     * @param fp32ModelBytes serialized ONNX causal LM (see {@link CausalLm})
     * @param windows an archive with {@code input_ids} [n, seq] of integer token ids
     * @param listener told after every batch ({@code windowsDone, windowsTotal}); the pass stops with a
     *                 {@link CancellationException} if the thread is interrupted between batches
     * @throws DatasetException if {@code input_ids} is missing, not an integer [n, seq] array, empty, or holds an id
     *                          outside the vocabulary
     * @throws ModelRunException if the model is not a causal LM of the supported form, or ONNX Runtime fails
     * @throws CalibrationException if the model has no weight MatMul, or an activation is NaN/Inf or not float32
     */
    public static LlmCalibrationResult run(byte[] fp32ModelBytes, NpzArchive windows, LlmCalibrationOptions options,
                                           ProgressListener listener) {
        long started = System.nanoTime();
        OnnxModel model = OnnxModel.parse(fp32ModelBytes);
        CausalLm lm = CausalLm.inspect(model);
        NdArray ids = windows.array(CausalLm.INPUT_IDS);
        if (!ids.isInteger() || ids.rank() != 2 || ids.rows() == 0 || ids.shape()[1] == 0) {
            throw new DatasetException("array '" + CausalLm.INPUT_IDS + "' is " + ids.dtypeName() + Arrays.toString(ids.shape())
                + "; calibration windows must be a non-empty integer array [windows, seq], e.g. tokens.reshape(-1, 128)");
        }
        int seq = Math.toIntExact(ids.shape()[1]);
        if (lm.staticContext() > 0 && lm.staticContext() != seq) {
            throw new DatasetException("calibration windows have " + seq + " tokens but the model's input_ids takes "
                + lm.staticContext());
        }
        List<CapturePoint> points = capturePoints(model);
        if (points.isEmpty()) {
            throw new CalibrationException("the model has no MatMul with a constant float [k, n] weight; there is nothing "
                + "to calibrate for 4-bit weight quantization");
        }
        int total = options.maxWindows() > 0 ? Math.min(options.maxWindows(), ids.rows()) : ids.rows();
        int batchSize = lm.batchSize(options.batchSize());

        Map<String, LayerInputStats> stats = new LinkedHashMap<>();
        for (CapturePoint p : points) {
            stats.put(p.tensor(), new LayerInputStats(p.tensor(), p.k(), options.maxSampleRows(), options.seed()));
        }
        Set<String> fetch = new LinkedHashSet<>();
        points.forEach(p -> fetch.add(p.tensor()));
        long runNanos = 0;
        long accumulateNanos = 0;
        float[] values = new float[0];
        try (OrtSession session = OrtModels.createSession(
                model.withAdditionalOutputs(new ArrayList<>(fetch)).toByteArray(), options.intraOpThreads(),
                OrtSession.SessionOptions.OptLevel.BASIC_OPT)) {
            int vocab = lm.vocab(session);
            for (int from = 0; from < total; from += batchSize) {
                if (Thread.interrupted()) {
                    throw new CancellationException("LLM calibration interrupted after " + from + " of " + total + " windows");
                }
                int to = Math.min(total, from + batchSize);
                int real = to - from;
                // A model with a fixed batch dimension gets its last batch padded with copies of its first window,
                // whose activations are not accumulated.
                int run = lm.staticBatch() > 0 ? batchSize : real;
                long[] windowIds = ids.slice(from, to).toLongs();
                CausalLm.checkTokens(windowIds, 0, windowIds.length, vocab, "input_ids windows [" + from + ", " + to + ")");
                long[] batch = Arrays.copyOf(windowIds, run * seq);
                for (int r = real; r < run; r++) {
                    System.arraycopy(windowIds, 0, batch, r * seq, seq);
                }
                long t0 = System.nanoTime();
                try (OnnxTensor input = CausalLm.idsTensor(batch, run, seq);
                     OrtSession.Result result = session.run(Map.of(lm.inputName(), input), fetch)) {
                    runNanos += System.nanoTime() - t0;
                    for (CapturePoint p : points) {
                        long t1 = System.nanoTime();
                        OnnxValue value = result.get(p.tensor()).orElseThrow();
                        int used = activationRows(value, p, run) / run * real;
                        int count = used * p.k();
                        if (values.length < count) {
                            values = new float[count];
                        }
                        ((OnnxTensor) value).getFloatBuffer().get(values, 0, count);
                        checkFinite(values, count, p.tensor(), from, to);
                        long t2 = System.nanoTime();
                        stats.get(p.tensor()).accumulate(values, 0, used);
                        long t3 = System.nanoTime();
                        runNanos += t2 - t1;
                        accumulateNanos += t3 - t2;
                    }
                } catch (OrtException e) {
                    throw new ModelRunException("ONNX Runtime failed on windows [" + from + ", " + to + "): " + e.getMessage(), e);
                }
                listener.onProgress(to, total);
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed to close the session: " + e.getMessage(), e);
        }
        return new LlmCalibrationResult(stats, points, total, (long) total * seq, (System.nanoTime() - started) / 1e9,
            runNanos / 1e9, accumulateNanos / 1e9);
    }

    /**
     * Calibrates on tokenized text (its {@code input_ids}). Padding is not masked out: text padded to a common length
     * contributes its pad tokens' activations, so prefer packing the token stream into full windows.
     */
    public static LlmCalibrationResult run(byte[] fp32ModelBytes, TokenizedText text, LlmCalibrationOptions options,
                                           ProgressListener listener) {
        return run(fp32ModelBytes, text.archive(), options, listener);
    }

    /**
     * Packs a 1-D token stream into calibration windows: {@code input_ids [⌊N/seq⌋, seq]}, window {@code w} being
     * {@code tokens[w·seq, w·seq + seq)}; the tail that does not fill a window is dropped. Packing avoids the padding
     * that text padded to a common length would bring.
     *
     * @throws DatasetException if the stream is shorter than one window
     */
    public static NpzArchive windows(long[] tokens, int seq) {
        if (seq < 1) {
            throw new IllegalArgumentException("seq must be >= 1, was " + seq);
        }
        int n = tokens.length / seq;
        if (n == 0) {
            throw new DatasetException("a calibration window needs " + seq + " tokens; the stream has " + tokens.length);
        }
        return NpzArchive.of(List.of(NdArray.ofLongs(CausalLm.INPUT_IDS, Arrays.copyOf(tokens, n * seq), n, seq)));
    }

    /** The capture points of a model, in graph order (the order of the first MatMul that reads each tensor). */
    public static List<CapturePoint> capturePoints(OnnxModel model) {
        Map<String, OnnxMl.TensorProto> initializers = model.initializers();
        Map<String, Integer> ks = new LinkedHashMap<>();
        Map<String, List<String>> nodes = new HashMap<>();
        Map<String, List<String>> weights = new HashMap<>();
        Map<String, OnnxMl.NodeProto> transposes = new HashMap<>();
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Transpose") && n.getDomain().isEmpty() && n.getInputCount() == 1
                && initializers.containsKey(n.getInput(0)) && initializers.get(n.getInput(0)).getDimsCount() == 2
                && n.getAttributeList().stream().allMatch(a -> !a.getName().equals("perm")
                    || (a.getIntsCount() == 2 && a.getInts(0) == 1 && a.getInts(1) == 0))) {
                transposes.put(n.getOutput(0), n);
            }
        }
        for (OnnxMl.NodeProto n : model.graph().getNodeList()) {
            if (!n.getOpType().equals("MatMul") || !n.getDomain().isEmpty() || n.getInputCount() != 2) {
                continue;
            }
            OnnxMl.TensorProto w = initializers.get(n.getInput(1));
            boolean tied = false;
            if (w == null) {
                // a head tied to the token embedding: MatMul(X, Transpose(E, perm=[1, 0])), E = [n, k]
                OnnxMl.NodeProto t = transposes.get(n.getInput(1));
                if (t != null) {
                    w = initializers.get(t.getInput(0));
                    tied = true;
                }
            }
            if (w == null || w.getDataType() != OnnxMl.TensorProto.DataType.FLOAT.getNumber() || w.getDimsCount() != 2) {
                continue;
            }
            String x = n.getInput(0);
            if (initializers.containsKey(x)) {
                continue;
            }
            int k = Math.toIntExact(Tensors.dims(w)[tied ? 1 : 0]);
            Integer known = ks.putIfAbsent(x, k);
            if (known != null && known != k) {
                throw new CalibrationException("tensor '" + x + "' feeds MatMul weights with " + known + " and " + k
                    + " input channels; the model is inconsistent");
            }
            nodes.computeIfAbsent(x, t -> new ArrayList<>()).add(n.getName());
            weights.computeIfAbsent(x, t -> new ArrayList<>()).add(w.getName());
        }
        List<CapturePoint> points = new ArrayList<>();
        ks.forEach((x, k) -> points.add(new CapturePoint(x, k, nodes.get(x), weights.get(x))));
        return points;
    }

    /** Rows of {@code k} values in a fetched activation, after checking its type and shape. */
    private static int activationRows(OnnxValue value, CapturePoint p, int run) {
        if (!(value instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT) {
            throw new CalibrationException("tensor '" + p.tensor() + "' is not a float32 tensor; only float32 "
                + "activations can be calibrated");
        }
        long[] shape = t.getInfo().getShape();
        if (shape.length == 0 || shape[shape.length - 1] != p.k()) {
            throw new CalibrationException("tensor '" + p.tensor() + "' has shape " + Arrays.toString(shape)
                + " but its MatMul weights expect " + p.k() + " values per row");
        }
        long rows = t.getInfo().getNumElements() / p.k();
        if (shape[0] != run) {
            throw new CalibrationException("tensor '" + p.tensor() + "' has shape " + Arrays.toString(shape)
                + "; its first axis must be the batch (" + run + " windows)");
        }
        if (rows > Integer.MAX_VALUE / Math.max(1, p.k())) {
            throw new CalibrationException("tensor '" + p.tensor() + "' has too many values per batch for one array; "
                + "use a smaller batch size");
        }
        return (int) rows;
    }

    private static void checkFinite(float[] values, int count, String tensor, int from, int to) {
        for (int i = 0; i < count; i++) {
            if (!Float.isFinite(values[i])) {
                throw new CalibrationException("tensor '" + tensor + "' holds " + values[i] + " on windows [" + from + ", "
                    + to + "); the fp32 model produces non-finite activations on this data");
            }
        }
    }
}
