package dev.quantflow.runtime.tune;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.dynamic.DynamicGraphForm;
import dev.quantflow.quant.dynamic.DynamicQuantRecipe;
import dev.quantflow.quant.dynamic.DynamicQuantizationResult;
import dev.quantflow.quant.dynamic.DynamicQuantizer;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Measures, for one model on this CPU, which dynamic INT8 graph form is faster, instead of always writing the
 * portable {@link DynamicGraphForm#INTEGER_OPS} form: the recipe as given (INTEGER_OPS) and the same recipe in
 * {@link DynamicGraphForm#ORT_CONTRIB} (com.microsoft DynamicQuantizeMatMul, BERT attention fused into QAttention;
 * these load only in ONNX Runtime) are built and run in ONNX Runtime at batch 1, one intra-op thread, all
 * optimizations, on the first {@link Options#rows()} calibration rows (token-id rows cut to their real tokens, as
 * a batch-1 request is served: {@link #unpadded}): one accuracy pass (mean cosine of each
 * candidate's first output to fp32's, per row) and, after one warm-up run each, {@link Options#rounds()} interleaved
 * rounds in which every graph runs the rows in turn for at least {@link Options#minRoundMs()}; the median per-run
 * time decides. The first candidate is kept unless another is faster by more than {@link Options#minGain()} and at
 * least as accurate (its mean cosine ≥ the first's − {@link Options#cosineTolerance()}, fp32 summation-order noise).
 *
 * <p>Why: with calibration text (SmoothQuant on), the ORT_CONTRIB form ran 0.75–0.94× the latency of ONNX Runtime's
 * own {@code quantize_dynamic} output on all-MiniLM-L6-v2 and 0.80–0.82× on bge-small-zh, against 0.90–1.07× for the
 * INTEGER_OPS form, with the same cosines, on an AVX-512 VNNI/AMX Xeon (docs/benchmarks.md); on other CPUs and
 * models the order can differ, so it is measured per job.
 */
public final class DynamicFormTuner {

    /** How long to measure, and the choice rule's margins. */
    public record Options(int rows, int rounds, double minRoundMs, double minGain, double cosineTolerance) {

        public Options {
            if (rows < 1 || rounds < 1 || minRoundMs < 0 || minGain < 0 || cosineTolerance < 0) {
                throw new IllegalArgumentException("rows and rounds must be >= 1, the rest >= 0");
            }
        }

        /**
         * 8 rows, 5 rounds of at least 100 ms per graph, 5% minimum gain (as {@link StaticRecipeTuner}), cosine
         * tolerance 1e-4: with 2 candidates about 1 s plus session creation.
         */
        public static Options defaults() {
            return new Options(8, 5, 100, 0.05, 1e-4);
        }
    }

    /** What one candidate measured: median ms per batch-1 run, mean cosine of its first output to fp32's. */
    public record Measurement(double medianMs, double meanCosine) {
    }

    /** Runs the fp32 model and the candidates; injectable so the choice can be tested without timing. */
    @FunctionalInterface
    public interface Measurer {
        /** One measurement per candidate, in order. */
        List<Measurement> measure(byte[] fp32, List<byte[]> candidates, NpzArchive samples, int rows, Options options);
    }

    /** One candidate's figures, for the report. */
    public record Timing(DynamicGraphForm form, int int8Nodes, double medianMs, double meanCosine) {
    }

    /**
     * The chosen quantization and what was measured.
     *
     * @param reason the choice in numbers, for the report
     */
    public record Choice(DynamicQuantizationResult result, DynamicQuantRecipe recipe, DynamicGraphForm form,
                         List<Timing> timings, String reason) {
    }

    private DynamicFormTuner() {
    }

    /** The recipe's own form first, then ORT_CONTRIB (when the recipe's form is another). */
    public static List<DynamicGraphForm> candidates(DynamicQuantRecipe recipe) {
        List<DynamicGraphForm> out = new ArrayList<>();
        out.add(recipe.graphForm());
        if (recipe.graphForm() != DynamicGraphForm.ORT_CONTRIB) {
            out.add(DynamicGraphForm.ORT_CONTRIB);
        }
        return out;
    }

    /** {@link #choose(OnnxModel, DynamicQuantRecipe, NpzArchive, Options, Measurer)} measured in ONNX Runtime. */
    public static Choice choose(OnnxModel fp32, DynamicQuantRecipe recipe, NpzArchive samples, Options options) {
        return choose(fp32, recipe, samples, options, DynamicFormTuner::measureInOrt);
    }

    /**
     * Quantizes {@code fp32} in every candidate form, measures them on the first {@link Options#rows()} rows of
     * {@code samples} (fewer if it has fewer) and returns the one the rule in the class comment picks.
     */
    public static Choice choose(OnnxModel fp32, DynamicQuantRecipe recipe, NpzArchive samples, Options options,
                                Measurer measurer) {
        Objects.requireNonNull(samples, "samples");
        List<DynamicGraphForm> forms = candidates(recipe);
        DynamicQuantizer quantizer = new DynamicQuantizer();
        List<DynamicQuantizationResult> results = new ArrayList<>();
        List<byte[]> models = new ArrayList<>();
        for (DynamicGraphForm f : forms) {
            DynamicQuantizationResult r = quantizer.quantize(fp32, recipe.withGraphForm(f));
            results.add(r);
            models.add(r.model().toByteArray());
        }
        int rows = Math.min(options.rows(), dev.quantflow.runtime.dataset.SampleAxes.samples(fp32, samples));
        List<Measurement> measured = measurer.measure(fp32.toByteArray(), models, samples, rows, options);
        if (measured.size() != forms.size()) {
            throw new IllegalStateException("measured " + measured.size() + " of " + forms.size() + " candidates");
        }
        List<Timing> timings = new ArrayList<>();
        for (int i = 0; i < forms.size(); i++) {
            timings.add(new Timing(forms.get(i), results.get(i).quantizedNodes().size(), measured.get(i).medianMs(),
                measured.get(i).meanCosine()));
        }
        int best = pick(timings, options.minGain(), options.cosineTolerance());
        StringBuilder reason = new StringBuilder(String.format(Locale.ROOT,
            "graph form %s measured on this CPU: median ms per batch-1 run over %d calibration rows (%d rounds of >= "
                + "%.0f ms per graph, 1 thread), mean cosine to fp32:", forms.get(best), rows, options.rounds(),
            options.minRoundMs()));
        for (int i = 0; i < timings.size(); i++) {
            Timing t = timings.get(i);
            reason.append(String.format(Locale.ROOT, "%s %s %.3f ms (%.2f×), cos %.5f", i == 0 ? "" : ",", t.form(),
                t.medianMs(), t.medianMs() / timings.get(0).medianMs(), t.meanCosine()));
        }
        reason.append(String.format(Locale.ROOT, "; rule: %s unless another is > %.0f%% faster and as accurate",
            forms.get(0), options.minGain() * 100));
        if (forms.get(best) == DynamicGraphForm.ORT_CONTRIB) {
            reason.append(" (ORT_CONTRIB loads only in ONNX Runtime; set graphFormat integer_ops for other runtimes)");
        }
        return new Choice(results.get(best), recipe.withGraphForm(forms.get(best)), forms.get(best), List.copyOf(timings),
            reason.toString());
    }

    /**
     * Index of the chosen timing: the first unless the fastest of those at least as accurate as the first (mean
     * cosine ≥ the first's − {@code cosineTolerance}) is faster than it by more than {@code minGain} (a fraction of
     * the first's time).
     */
    static int pick(List<Timing> timings, double minGain, double cosineTolerance) {
        Timing first = timings.get(0);
        int fastest = 0;
        for (int i = 1; i < timings.size(); i++) {
            Timing t = timings.get(i);
            if (t.meanCosine() >= first.meanCosine() - cosineTolerance
                && t.medianMs() < timings.get(fastest).medianMs()) {
                fastest = i;
            }
        }
        return timings.get(fastest).medianMs() < first.medianMs() * (1 - minGain) ? fastest : 0;
    }

    /** The measurement in ONNX Runtime: one accuracy pass, then interleaved timing rounds after one warm-up. */
    static List<Measurement> measureInOrt(byte[] fp32, List<byte[]> candidates, NpzArchive samples, int rows,
                                          Options options) {
        List<OrtSession> sessions = new ArrayList<>();
        List<OrtModels.InputBatch> inputs = new ArrayList<>();
        try {
            sessions.add(OrtModels.createSession(fp32, 1, OrtSession.SessionOptions.OptLevel.ALL_OPT));
            for (byte[] m : candidates) {
                sessions.add(OrtModels.createSession(m, 1, OrtSession.SessionOptions.OptLevel.ALL_OPT));
            }
            for (int r = 0; r < rows; r++) {
                NpzArchive row = unpadded(samples, r);
                inputs.add(row == null ? OrtModels.feed(sessions.get(0), samples, r, r + 1)
                    : OrtModels.feed(sessions.get(0), row, 0, 1));
            }
            double[] cosSum = new double[candidates.size()];
            for (OrtModels.InputBatch in : inputs) {
                float[] reference = firstOutput(sessions.get(0), in);
                for (int c = 0; c < candidates.size(); c++) {
                    cosSum[c] += cosine(reference, firstOutput(sessions.get(c + 1), in));
                }
            }
            List<List<Double>> ms = new ArrayList<>();
            for (int c = 0; c < candidates.size(); c++) {
                ms.add(new ArrayList<>());
            }
            for (int round = 0; round < options.rounds(); round++) {
                for (int c = 0; c < candidates.size(); c++) {
                    OrtSession s = sessions.get(c + 1);
                    long roundStart = System.nanoTime();
                    int i = 0;
                    do {
                        OrtModels.InputBatch in = inputs.get(i++ % inputs.size());
                        long start = System.nanoTime();
                        s.run(in.tensors()).close();
                        ms.get(c).add((System.nanoTime() - start) / 1e6);
                    } while ((System.nanoTime() - roundStart) / 1e6 < options.minRoundMs());
                }
            }
            List<Measurement> out = new ArrayList<>();
            for (int c = 0; c < candidates.size(); c++) {
                List<Double> s = ms.get(c);
                s.sort(null);
                out.add(new Measurement(s.get(s.size() / 2), cosSum[c] / inputs.size()));
            }
            return out;
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed while timing the dynamic graph forms: " + e.getMessage(), e);
        } finally {
            inputs.forEach(OrtModels.InputBatch::close);
            for (OrtSession s : sessions) {
                try {
                    s.close();
                } catch (OrtException ignored) {
                    // closing a session we no longer use; nothing to recover
                }
            }
        }
    }

    /**
     * Row {@code r} of a token-id archive (every array int64/int32 [N, L], one of them {@code attention_mask}) cut to
     * the span of its real tokens (mask ≠ 0), as a batch-1 request is served; null for other data (fed as is).
     * Text calibration sets are padded to their longest sample, which would time every row at that length.
     */
    static NpzArchive unpadded(NpzArchive samples, int r) {
        if (!samples.contains("attention_mask")) {
            return null;
        }
        long[] shape = samples.array("attention_mask").shape();
        if (shape.length != 2) {
            return null;
        }
        for (String name : samples.names()) {
            NdArray a = samples.array(name);
            if (a.rank() != 2 || a.shape()[0] != shape[0] || a.shape()[1] != shape[1]
                || !(a.dtype().equals("<i8") || a.dtype().equals("<i4"))) {
                return null;
            }
        }
        int len = (int) shape[1];
        long[] mask = samples.array("attention_mask").toLongs();
        int from = -1;
        int to = -1;
        for (int i = 0; i < len; i++) {
            if (mask[r * len + i] != 0) {
                from = from < 0 ? i : from;
                to = i + 1;
            }
        }
        if (from < 0) {
            return null;
        }
        List<NdArray> out = new ArrayList<>();
        for (String name : samples.names()) {
            NdArray a = samples.array(name);
            long[] all = a.toLongs();
            long[] cut = java.util.Arrays.copyOfRange(all, r * len + from, r * len + to);
            if (a.dtype().equals("<i8")) {
                out.add(NdArray.ofLongs(name, cut, 1, to - from));
            } else {
                int[] ints = new int[cut.length];
                for (int i = 0; i < cut.length; i++) {
                    ints[i] = (int) cut[i];
                }
                out.add(NdArray.ofInts(name, ints, 1, to - from));
            }
        }
        return NpzArchive.of(out);
    }

    private static float[] firstOutput(OrtSession session, OrtModels.InputBatch in) throws OrtException {
        try (OrtSession.Result r = session.run(in.tensors())) {
            OnnxValue v = r.get(0);
            if (!(v instanceof OnnxTensor t) || t.getInfo().type != ai.onnxruntime.OnnxJavaType.FLOAT) {
                throw new ModelRunException("the first output is not a float tensor; cannot compare the graph forms", null);
            }
            FloatBuffer b = t.getFloatBuffer();
            float[] out = new float[b.remaining()];
            b.get(out);
            return out;
        }
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 && nb == 0 ? 1.0 : dot / Math.sqrt(na * nb);
    }
}
