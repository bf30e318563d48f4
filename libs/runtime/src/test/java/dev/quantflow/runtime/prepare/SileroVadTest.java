package dev.quantflow.runtime.prepare;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.dynamic.DynamicQuantRecipe;
import dev.quantflow.quant.dynamic.DynamicQuantizer;
import dev.quantflow.runtime.dataset.DatasetCheck;
import dev.quantflow.runtime.eval.ComparisonOptions;
import dev.quantflow.runtime.eval.ComparisonResult;
import dev.quantflow.runtime.eval.OutputComparison;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

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
        run("silero_vad_v5.onnx", List.of(state("state", 128)));
    }

    @Test
    void legacy() throws Exception {
        run("silero_vad_legacy.onnx", List.of(state("h", 64), state("c", 64)));
    }

    private static void run(String file, List<NdArray> states) throws Exception {
        byte[] bytes = Files.readAllBytes(silero(file));
        List<NdArray> arrays = new ArrayList<>(states);
        arrays.add(audio());
        arrays.add(NdArray.ofLongs("sr", new long[] {16000}));
        NpzArchive data = NpzArchive.of(arrays);
        OnnxModel original = OnnxModel.parse(bytes);
        assertThat(DatasetCheck.check(original, data, false)).isEmpty();

        PreparedModel prepared = ModelPreparer.prepare(bytes, data, PreparationOptions.defaults());
        System.out.println(file + ": " + prepared.report().summary() + " | " + prepared.check().summary());
        assertThat(prepared.check().fromData()).isEqualTo(32);
        assertThat(prepared.check().maxAbsDiff()).isLessThanOrEqualTo(1e-4);

        var result = new DynamicQuantizer().quantize(prepared.model(), DynamicQuantRecipe.defaults());
        long quantized = result.decisions().stream().filter(d -> d.quantized()).count();
        System.out.println(file + ": dynamic " + quantized + " quantized of " + result.decisions().size());
        ComparisonResult cmp = OutputComparison.compare(prepared.model().toByteArray(),
            result.model().toByteArray(), data, ComparisonOptions.defaults());
        System.out.println(file + ": cos " + cmp.meanCosine() + " min " + cmp.minCosine() + " maxAbs " + cmp.maxAbsDiff() + " range " + cmp.referenceMin() + ".." + cmp.referenceMax());
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
