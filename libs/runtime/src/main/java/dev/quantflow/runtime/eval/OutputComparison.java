package dev.quantflow.runtime.eval;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.npz.DatasetException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Compares a candidate model (quantized, cast) with its reference (fp32) on the same data when there are no labels
 * to score: how close are the outputs? Both models run in ONNX Runtime (all graph optimizations, as deployed), batch
 * by batch; each batch's outputs are reduced to running sums and dropped, so memory does not grow with the data.
 *
 * <p>For sample {@code i} let {@code a_i} and {@code b_i} be the reference's and the candidate's compared vectors
 * (the sample's output flattened, or pooled: {@link ComparisonOptions.Pooling}), of length {@code D}:
 * <ul>
 *   <li>cosine {@code c_i = a_i·b_i / (‖a_i‖ ‖b_i‖)}, in double precision; 1 when both vectors are zero, 0 when only
 *       one is. {@code meanCosine = Σ c_i / N}, {@code minCosine = min c_i}.</li>
 *   <li>{@code mse = Σ_i Σ_d (a_id − b_id)² / (N·D)}; {@code maxAbsDiff = max |a_id − b_id|}.</li>
 *   <li>top-1 agreement {@code #{i : argmax a_i = argmax b_i} / N} (argmax as in {@link ModelEvaluator}), only for an
 *       output of shape [N, C] or [N] without pooling; with one value per sample ([N, 1] or [N]) the binary decisions
 *       of {@link ModelEvaluator} are compared instead (threshold 0.5 after a Sigmoid, else 0).</li>
 *   <li>IoU of maps (without pooling): with {@code t} = {@link ComparisonOptions#mapThreshold()}, the foreground of a
 *       sample's output is {@code F(a_i) = {d : a_id > t}}; {@code iou_i = |F(a_i) ∩ F(b_i)| / |F(a_i) ∪ F(b_i)|},
 *       1 when both are empty. {@code meanIou = Σ iou_i / N}, {@code minIou = min iou_i}.</li>
 *   <li>per-position agreement (without pooling, outputs of rank 3 or more): the class axis is
 *       {@link OutputLayout#classAxis}; every other non-sample index is a position {@code p} with a score vector
 *       {@code a_i[p, ·]}. {@code positionAgreement = #{(i, p) : argmax a_i[p, ·] = argmax b_i[p, ·]} / (N·P)} (argmax
 *       as above: lowest index on ties, NaN never winning).</li>
 *   <li>{@code referenceMin}, {@code referenceMax}: the range of the reference's finite output values (what tells a
 *       probability map, in [0, 1], from logits).</li>
 * </ul>
 * A sample whose outputs hold NaN or ±Inf in either model is counted in {@code nonFiniteSamples} and makes the
 * cosine and IoU statistics NaN, which meets no budget ({@link OutputMetric#meets}).
 *
 * <p>Outputs may be float32, float64, float16 or bfloat16 (a cast model that keeps a half-precision output); they
 * are widened to float first. Both models must take the same inputs and give the compared output the same shape.
 */
public final class OutputComparison {

    private OutputComparison() {
    }

    /**
     * @throws DatasetException if the data does not fit the reference model, or pooling needs a mask that does not fit
     * @throws IllegalArgumentException if the output is missing from either model, or the models take different inputs
     * @throws ModelRunException if ONNX Runtime cannot run a model, or the two outputs differ in shape
     */
    public static ComparisonResult compare(byte[] referenceModel, byte[] candidateModel, NpzArchive data,
                                           ComparisonOptions options) {
        OnnxModel reference = OnnxModel.parse(referenceModel);
        OnnxModel candidate = OnnxModel.parse(candidateModel);
        List<String> problems = DatasetCheck.check(reference, data, false);
        if (!problems.isEmpty()) {
            throw new DatasetException(String.join(" ", problems));
        }
        Set<String> refInputs = new HashSet<>(reference.inputs().stream().map(OnnxModel.ValueInfo::name).toList());
        Set<String> candInputs = new HashSet<>(candidate.inputs().stream().map(OnnxModel.ValueInfo::name).toList());
        if (!refInputs.equals(candInputs)) {
            throw new IllegalArgumentException("the models take different inputs: reference " + refInputs + ", candidate "
                + candInputs);
        }
        String output = options.outputName() != null ? options.outputName() : reference.outputs().get(0).name();
        for (OnnxModel m : List.of(reference, candidate)) {
            List<String> outputs = m.outputs().stream().map(OnnxModel.ValueInfo::name).toList();
            if (!outputs.contains(output)) {
                throw new IllegalArgumentException("the " + (m == reference ? "reference" : "candidate")
                    + " model has no output '" + output + "'; outputs: " + outputs);
            }
        }
        int rows = dev.quantflow.runtime.dataset.SampleAxes.samples(reference, data);
        int samples = options.maxSamples() > 0 ? Math.min(rows, options.maxSamples()) : rows;
        NdArray mask = data.get("attention_mask").orElse(null);

        Accumulator acc = new Accumulator(samples, ModelEvaluator.binaryThreshold(reference, output),
            options.mapThreshold());
        try (OrtSession ref = OrtModels.createSession(referenceModel, options.intraOpThreads(), OrtSession.SessionOptions.OptLevel.ALL_OPT);
             OrtSession cand = OrtModels.createSession(candidateModel, options.intraOpThreads(), OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            Batch a = new Batch();
            Batch b = new Batch();
            for (int from = 0; from < samples; from += options.batchSize()) {
                int to = Math.min(samples, from + options.batchSize());
                run(ref, data, output, from, to, a);
                run(cand, data, output, from, to, b);
                if (!Arrays.equals(a.shape, b.shape)) {
                    throw new ModelRunException("output '" + output + "' has shape " + Arrays.toString(a.shape)
                        + " in the reference model but " + Arrays.toString(b.shape) + " in the candidate", null);
                }
                long[] maskRows = mask == null || options.pooling() == ComparisonOptions.Pooling.NONE ? null
                    : mask.slice(from, to).toLongs();
                acc.add(a, b, to - from, options.pooling(), maskRows, output);
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed to close a session: " + e.getMessage(), e);
        }
        return acc.result(output, options.pooling());
    }

    /** One batch of one model's output, widened to float; {@code values} is reused from batch to batch. */
    private static final class Batch {
        float[] values = new float[0];
        long[] shape;
    }

    private static void run(OrtSession session, NpzArchive data, String output, int from, int to, Batch into) {
        try (OrtModels.InputBatch batch = OrtModels.feed(session, data, from, to);
             OrtSession.Result result = session.run(batch.tensors(), Set.of(output))) {
            OnnxValue value = result.get(0);
            if (!(value instanceof OnnxTensor t)) {
                throw new ModelRunException("output '" + output + "' is not a tensor", null);
            }
            long[] shape = t.getInfo().getShape();
            if (shape.length == 0 || shape[0] != to - from) {
                throw new ModelRunException("output '" + output + "' has shape " + Arrays.toString(shape) + " for "
                    + (to - from) + " samples; it must have a first (sample) axis", null);
            }
            int count = Math.toIntExact(t.getInfo().getNumElements());
            if (into.values.length < count) {
                into.values = new float[count];
            }
            into.shape = shape;
            readFloats(t, output, into.values);
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed on samples [" + from + ", " + to + "): " + e.getMessage(), e);
        }
    }

    /** Copies a float32, float64, float16 or bfloat16 tensor into {@code into} (caller-owned) as float. */
    static void readFloats(OnnxTensor t, String output, float[] into) {
        switch (t.getInfo().type) {
            case FLOAT -> {
                FloatBuffer fb = t.getFloatBuffer();
                fb.get(into, 0, fb.remaining());
            }
            case DOUBLE -> {
                DoubleBuffer db = t.getDoubleBuffer();
                for (int i = 0; db.hasRemaining(); i++) {
                    into[i] = (float) db.get();
                }
            }
            case FLOAT16 -> {
                ShortBuffer sb = t.getShortBuffer();
                for (int i = 0; sb.hasRemaining(); i++) {
                    into[i] = Float.float16ToFloat(sb.get());
                }
            }
            case BFLOAT16 -> {
                ShortBuffer sb = t.getShortBuffer();
                for (int i = 0; sb.hasRemaining(); i++) {
                    into[i] = Float.intBitsToFloat((sb.get() & 0xFFFF) << 16);
                }
            }
            default -> throw new ModelRunException("output '" + output + "' is " + t.getInfo().type.name().toLowerCase()
                + "; comparing outputs needs floating-point values", null);
        }
    }

    /**
     * Running sums over all batches; per-sample vectors live in buffers reused across samples. Only per-sample scalars
     * (the cosines) are kept for the whole run, never an output.
     */
    private static final class Accumulator {
        private final double[] cosines;
        private int next;
        private int nonFinite;
        private double sumSq;
        private long values;
        private double maxAbs;
        private int agree;
        private boolean agreementDefined = true;
        private int vectorLength = -1;
        private double[] va = new double[0];
        private double[] vb = new double[0];

        private final float binaryThreshold;
        private final double mapThreshold;
        private boolean mapsCompared = true;
        private double iouSum;
        private double minIou = Double.POSITIVE_INFINITY;
        private boolean positionsCompared = true;
        private long positionsPerSample = -1;
        private long positionsAgreeing;
        private long positionsSeen;
        private double referenceMin = Double.POSITIVE_INFINITY;
        private double referenceMax = Double.NEGATIVE_INFINITY;

        Accumulator(int samples, float binaryThreshold, double mapThreshold) {
            cosines = new double[samples];
            this.binaryThreshold = binaryThreshold;
            this.mapThreshold = mapThreshold;
        }

        void add(Batch a, Batch b, int rows, ComparisonOptions.Pooling pooling, long[] mask, String output) {
            long[] shape = a.shape;
            int perSample = Math.toIntExact(Arrays.stream(shape).skip(1).reduce(1, Math::multiplyExact));
            int length;
            if (pooling == ComparisonOptions.Pooling.NONE) {
                length = perSample;
                agreementDefined &= shape.length <= 2;
                positionsCompared &= OutputLayout.isPerPosition(shape);
            } else {
                if (shape.length != 3) {
                    throw new DatasetException("mean pooling needs an output of shape [N, tokens, features] but '" + output
                        + "' has shape " + Arrays.toString(shape) + "; compare it without pooling");
                }
                int tokens = Math.toIntExact(shape[1]);
                if (mask != null && mask.length != (long) rows * tokens) {
                    throw new DatasetException("the attention_mask has " + mask.length / rows + " positions per sample but "
                        + "output '" + output + "' has " + tokens + " tokens; they must match for mean pooling");
                }
                length = Math.toIntExact(shape[2]);
                agreementDefined = false;
                mapsCompared = false;
                positionsCompared = false;
            }
            if (vectorLength >= 0 && vectorLength != length) {
                throw new ModelRunException("output '" + output + "' changes its per-sample size between batches ("
                    + vectorLength + " then " + length + ")", null);
            }
            vectorLength = length;
            if (va.length < length) {
                va = new double[length];
                vb = new double[length];
            }
            for (int i = 0; i < rows * perSample; i++) {
                float x = a.values[i];
                if (Float.isFinite(x)) {
                    referenceMin = Math.min(referenceMin, x);
                    referenceMax = Math.max(referenceMax, x);
                }
            }
            if (positionsCompared && pooling == ComparisonOptions.Pooling.NONE) {
                addPositions(a.values, b.values, rows, shape, output);
            }
            for (int r = 0; r < rows; r++) {
                if (pooling == ComparisonOptions.Pooling.NONE) {
                    widen(a.values, r * perSample, length, va);
                    widen(b.values, r * perSample, length, vb);
                    double iou = iou(a.values, b.values, r * perSample, perSample, mapThreshold);
                    iouSum += iou;
                    minIou = Math.min(minIou, iou);
                } else {
                    int tokens = Math.toIntExact(shape[1]);
                    pool(a.values, r, tokens, length, mask, va);
                    pool(b.values, r, tokens, length, mask, vb);
                    if (pooling == ComparisonOptions.Pooling.MEAN_L2) {
                        normalize(va, length);
                        normalize(vb, length);
                    }
                }
                boolean same;
                if (pooling != ComparisonOptions.Pooling.NONE || shape.length > 2) {
                    same = false;
                } else if (perSample == 1) {
                    // One value per sample: a binary classifier; compare the 0/1 decisions (ModelEvaluator's threshold).
                    same = ModelEvaluator.binaryPrediction(a.values[r], binaryThreshold)
                        == ModelEvaluator.binaryPrediction(b.values[r], binaryThreshold);
                } else {
                    same = ModelEvaluator.argmax(a.values, r * perSample, perSample)
                        == ModelEvaluator.argmax(b.values, r * perSample, perSample);
                }
                addSample(length, same);
            }
        }

        /** Per-position argmax agreement over the class axis of every sample of one batch. */
        private void addPositions(float[] a, float[] b, int rows, long[] shape, String output) {
            int axis = OutputLayout.classAxis(shape);
            long positions = OutputLayout.positionsPerSample(shape);
            if (positionsPerSample >= 0 && positionsPerSample != positions) {
                throw new ModelRunException("output '" + output + "' changes its positions per sample between batches ("
                    + positionsPerSample + " then " + positions + ")", null);
            }
            positionsPerSample = positions;
            int classes = Math.toIntExact(shape[axis]);
            int inner = 1; // stride of the class axis: the product of the axes after it
            for (int d = axis + 1; d < shape.length; d++) {
                inner = Math.multiplyExact(inner, Math.toIntExact(shape[d]));
            }
            int outer = Math.toIntExact(positions / inner); // the axes between the sample axis and the class axis
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < outer; o++) {
                    int base = (r * outer + o) * classes * inner;
                    for (int in = 0; in < inner; in++) {
                        if (argmax(a, base + in, classes, inner) == argmax(b, base + in, classes, inner)) {
                            positionsAgreeing++;
                        }
                    }
                }
            }
            positionsSeen += (long) rows * positions;
        }

        private void addSample(int length, boolean sameArgmax) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            boolean finite = true;
            for (int d = 0; d < length; d++) {
                double x = va[d];
                double y = vb[d];
                finite &= Double.isFinite(x) && Double.isFinite(y);
                dot += x * y;
                na += x * x;
                nb += y * y;
                double diff = x - y;
                sumSq += diff * diff;
                maxAbs = Math.max(maxAbs, Math.abs(diff));
            }
            values += length;
            double cosine;
            if (!finite) {
                nonFinite++;
                cosine = Double.NaN;
            } else if (na == 0 && nb == 0) {
                cosine = 1;
            } else if (na == 0 || nb == 0) {
                cosine = 0;
            } else {
                cosine = dot / (Math.sqrt(na) * Math.sqrt(nb));
            }
            cosines[next++] = cosine;
            if (sameArgmax) {
                agree++;
            }
        }

        ComparisonResult result(String output, ComparisonOptions.Pooling pooling) {
            double mean = 0;
            double min = Double.POSITIVE_INFINITY;
            int minAt = -1;
            for (int i = 0; i < next; i++) {
                mean += cosines[i];
                if (cosines[i] < min) {
                    min = cosines[i];
                    minAt = i;
                }
            }
            mean /= next;
            if (nonFinite > 0) {
                mean = Double.NaN;
                min = Double.NaN;
                minAt = -1;
            }
            Double agreement = agreementDefined && next > 0 ? (double) agree / next : null;
            Double meanIou = null;
            Double lowestIou = null;
            if (mapsCompared && next > 0) {
                meanIou = nonFinite > 0 ? Double.NaN : iouSum / next;
                lowestIou = nonFinite > 0 ? Double.NaN : minIou;
            }
            Double positionAgreement = positionsCompared && positionsSeen > 0
                ? (double) positionsAgreeing / positionsSeen : null;
            boolean anyFinite = referenceMin <= referenceMax;
            return new ComparisonResult(next, output, pooling, vectorLength, mean, min, minAt,
                values == 0 ? 0 : sumSq / values, maxAbs, agreement, nonFinite, cosines.clone(), mapThreshold, meanIou,
                lowestIou, positionAgreement, positionAgreement == null ? 0 : positionsPerSample,
                anyFinite ? referenceMin : Double.NaN, anyFinite ? referenceMax : Double.NaN);
        }
    }

    /**
     * IoU of the foregrounds {@code value > t} of {@code a[offset .. offset+n)} and {@code b[offset .. offset+n)}; 1
     * when both are empty (NaN is never foreground).
     */
    static double iou(float[] a, float[] b, int offset, int n, double t) {
        long intersection = 0;
        long union = 0;
        for (int i = offset; i < offset + n; i++) {
            boolean fa = a[i] > t;
            boolean fb = b[i] > t;
            if (fa && fb) {
                intersection++;
            }
            if (fa || fb) {
                union++;
            }
        }
        return union == 0 ? 1.0 : (double) intersection / union;
    }

    /**
     * Index of the largest of the {@code n} values {@code v[offset + c·stride]}: lowest index on ties, NaN skipped, -1
     * if all are NaN (as {@link ModelEvaluator#argmax}, with a stride).
     */
    static int argmax(float[] v, int offset, int n, int stride) {
        int best = -1;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < n; c++) {
            float x = v[offset + c * stride];
            if (!Float.isNaN(x) && (best < 0 || x > bestValue)) {
                best = c;
                bestValue = x;
            }
        }
        return best;
    }

    private static void widen(float[] src, int offset, int n, double[] dst) {
        for (int i = 0; i < n; i++) {
            dst[i] = src[offset + i];
        }
    }

    /** Masked mean over tokens of sample {@code r} of an output [rows, tokens, features] into {@code dst}. */
    private static void pool(float[] src, int r, int tokens, int features, long[] mask, double[] dst) {
        Arrays.fill(dst, 0, features, 0);
        double weight = 0;
        for (int t = 0; t < tokens; t++) {
            double m = mask == null ? 1 : mask[r * tokens + t];
            if (m == 0) {
                continue;
            }
            weight += m;
            int base = (r * tokens + t) * features;
            for (int d = 0; d < features; d++) {
                dst[d] += m * src[base + d];
            }
        }
        double w = Math.max(weight, 1e-9);
        for (int d = 0; d < features; d++) {
            dst[d] /= w;
        }
    }

    private static void normalize(double[] v, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += v[i] * v[i];
        }
        double norm = Math.max(Math.sqrt(s), 1e-12);
        for (int i = 0; i < n; i++) {
            v[i] /= norm;
        }
    }
}
