package dev.quantflow.runtime.prepare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.quantflow.onnx.ModelInspector;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.dynamic.DynamicQuantRecipe;
import dev.quantflow.quant.dynamic.DynamicQuantizer;
import dev.quantflow.quant.qdq.NodeDecision;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.dataset.SampleAxes;
import dev.quantflow.runtime.eval.ComparisonOptions;
import dev.quantflow.runtime.eval.ComparisonResult;
import dev.quantflow.runtime.eval.OutputComparison;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Silero VAD as npm {@code @ricky0123/vad-web} 0.0.31 ships it ({@code fixtures/silero/fetch.sh}): several inputs
 * (audio [batch, samples], the recurrent state [2, batch, H], the sample rate as an int64 scalar given once), the
 * whole network inside If subgraphs on {@code sr == 16000}. Prepared, checked against the original, dynamically
 * quantized inside the subgraphs, and compared with fp32 on every input fed.
 */
class SileroVadTest {

    static final int SAMPLES = 48;
    static final int CHUNK = 512;

    @Test
    void v5() throws Exception {
        Outcome o = run("silero_vad_v5.onnx", List.of(state("state", 128)));
        assertThat(o.prepared.report().constantsToInitializers()).isEqualTo(341);
        assertThat(o.prepared.report().foldedConstantNodes()).isEqualTo(82);
        assertThat(o.quantizedLstms).isEqualTo(4); // one LSTM per branch of If(sr == 16000) × If(state given)
    }

    @Test
    void legacy() throws Exception {
        Outcome o = run("silero_vad_legacy.onnx", List.of(state("h", 64), state("c", 64)));
        assertThat(o.quantizedLstms).isEqualTo(8); // two stacked LSTMs per branch, weights in the outer graph
    }

    private record Outcome(PreparedModel prepared, long quantizedLstms) {
    }

    private static Outcome run(String file, List<NdArray> states) throws Exception {
        byte[] bytes = Files.readAllBytes(silero(file));
        List<NdArray> arrays = new ArrayList<>(states);
        arrays.add(audio());
        arrays.add(NdArray.ofLongs("sr", new long[] {16000}));
        NpzArchive data = NpzArchive.of(arrays);
        OnnxModel original = OnnxModel.parse(bytes);
        assertThat(DatasetCheck.check(original, data, false)).isEmpty();
        assertThat(SampleAxes.samples(original, data)).isEqualTo(SAMPLES);

        PreparedModel prepared = ModelPreparer.prepare(bytes, data, PreparationOptions.defaults());
        assertThat(prepared.check().fromData()).isEqualTo(32);
        assertThat(prepared.check().maxAbsDiff()).isLessThanOrEqualTo(1e-4);

        ModelInspector.Kind kind = ModelInspector.inspect(prepared.model());
        assertThat(kind.family()).isEqualTo(ModelInspector.Family.RECURRENT);
        assertThat(kind.reason()).contains("inside").contains("LSTM").contains("none in the main graph");

        var result = new DynamicQuantizer().quantize(prepared.model(), DynamicQuantRecipe.defaults());
        List<NodeDecision> quantized = result.decisions().stream().filter(NodeDecision::quantized).toList();
        assertThat(quantized).allSatisfy(d -> assertThat(d.reason()).contains("inside If"));
        long lstms = quantized.stream().filter(d -> d.opType().equals("LSTM")).count();

        ComparisonResult cmp = OutputComparison.compare(prepared.model().toByteArray(),
            result.model().toByteArray(), data, ComparisonOptions.defaults());
        assertThat(cmp.samples()).isEqualTo(SAMPLES);
        assertThat(cmp.maxAbsDiff()).isPositive().isLessThan(0.02);
        assertThat(cmp.meanCosine()).isGreaterThan(0.999);
        double fp32Ms = medianMs(prepared.model().toByteArray(), data);
        double int8Ms = medianMs(result.model().toByteArray(), data);
        System.out.printf(java.util.Locale.ROOT, "%s: %s | %s | %s | dynamic: %d of %d nodes int8 (%d LSTM) | "
                + "probability max |diff| %.4f, mean cosine %.6f (output range %.3f..%.3f) | batch 1, 1 thread: fp32 "
                + "%.3f ms, int8 %.3f ms, %.2fx%n", file, prepared.report().summary(), prepared.check().summary(),
            kind.reason(), quantized.size(), result.decisions().size(), lstms, cmp.maxAbsDiff(), cmp.meanCosine(),
            cmp.referenceMin(), cmp.referenceMax(), fp32Ms, int8Ms, fp32Ms / int8Ms);
        return new Outcome(prepared, lstms);
    }

    /** Median of 60 batch-1 runs (after 10 warm-up runs), one thread, ONNX Runtime's full optimizations. */
    private static double medianMs(byte[] model, NpzArchive data) throws Exception {
        try (var session = OrtModels.createSession(model, 1, ai.onnxruntime.OrtSession.SessionOptions.OptLevel.ALL_OPT);
             OrtModels.InputBatch in = OrtModels.feed(session, data, 0, 1)) {
            double[] t = new double[70];
            for (int i = 0; i < t.length; i++) {
                long start = System.nanoTime();
                try (var r = session.run(in.tensors())) {
                    t[i] = (System.nanoTime() - start) / 1e6;
                }
            }
            double[] timed = java.util.Arrays.copyOfRange(t, 10, t.length);
            java.util.Arrays.sort(timed);
            return timed[timed.length / 2];
        }
    }

    static NdArray state(String name, int hidden) {
        return NdArray.ofFloats(name, new float[2 * SAMPLES * hidden], 2, SAMPLES, hidden);
    }

    /** Chunks of 512 samples at 16 kHz: half noise only, half a voiced-like harmonic series under the noise. */
    static NdArray audio() {
        Random r = new Random(7);
        float[] x = new float[SAMPLES * CHUNK];
        for (int s = 0; s < SAMPLES; s++) {
            double f0 = 90 + 140 * r.nextDouble();
            boolean voiced = s % 2 == 0;
            for (int t = 0; t < CHUNK; t++) {
                double v = 0.01 * r.nextGaussian();
                if (voiced) {
                    for (int h = 1; h <= 12; h++) {
                        v += 0.25 / h * Math.sin(2 * Math.PI * f0 * h * t / 16000.0 + h);
                    }
                }
                x[s * CHUNK + t] = (float) v;
            }
        }
        return NdArray.ofFloats("input", x, SAMPLES, CHUNK);
    }

    static Path silero(String file) {
        return RealModels.silero(file);
    }
}
