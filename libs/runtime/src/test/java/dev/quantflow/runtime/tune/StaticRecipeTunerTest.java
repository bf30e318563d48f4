package dev.quantflow.runtime.tune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.npz.NpzArchive;

class StaticRecipeTunerTest {

    private static final Path DIR = Path.of("../../fixtures/fashion-cnn");

    @Test
    void candidatesAreTheRecipeThenEveryConvInt8() {
        List<StaticRecipeTuner.Candidate> c = StaticRecipeTuner.candidates(StaticQuantRecipe.defaults());
        assertThat(c).extracting(x -> x.recipe().minConvReduction())
            .containsExactly(StaticQuantRecipe.DEFAULT_MIN_CONV_REDUCTION, 0);
        assertThat(StaticRecipeTuner.candidates(StaticQuantRecipe.defaults().withMinConvReduction(0))).hasSize(1);
    }

    @Test
    void theRecipeAsGivenIsKeptUnlessAnotherIsFasterByMoreThanTheMinimumGain() {
        StaticRecipeTuner.Timing given = new StaticRecipeTuner.Timing("given", 10, 10.0);
        assertThat(StaticRecipeTuner.pick(List.of(given, new StaticRecipeTuner.Timing("b", 12, 9.6)), 0.05)).isZero();
        assertThat(StaticRecipeTuner.pick(List.of(given, new StaticRecipeTuner.Timing("b", 12, 9.0)), 0.05)).isOne();
        assertThat(StaticRecipeTuner.pick(List.of(given, new StaticRecipeTuner.Timing("b", 12, 11.0)), 0.0)).isZero();
    }

    /** On the fixture CNN (conv1 has K = 9): both graphs are built and timed, the chosen one is returned as is. */
    @Test
    void choosesOneOfTheTimedCandidatesOnTheFixtureCnn() throws Exception {
        assumeTrue(Files.isRegularFile(DIR.resolve("model.onnx")), "fixture fixtures/fashion-cnn not built yet");
        byte[] bytes = Files.readAllBytes(DIR.resolve("model.onnx"));
        OnnxModel fp32 = OnnxModel.parse(bytes);
        NpzArchive calib = NpzArchive.read(DIR.resolve("calib.npz"));
        NpzArchive some = calib.slice(calib.names(), 0, 32);
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults();
        List<String> tensors = StaticRecipeTuner.tensorsToCalibrate(fp32, recipe);
        assertThat(tensors).containsAll(StaticQdqQuantizer.tensorsToCalibrate(fp32, recipe))
            .containsAll(StaticQdqQuantizer.tensorsToCalibrate(fp32, recipe.withMinConvReduction(0)));
        ActivationStatistics stats = CalibrationRunner.run(bytes, tensors, some, CalibrationOptions.defaults(),
            ProgressListener.NONE);

        StaticRecipeTuner.Choice choice = StaticRecipeTuner.choose(fp32, stats, recipe, some,
            new StaticRecipeTuner.Options(8, 2, 20, 0.05));

        assertThat(choice.timings()).hasSize(2).allSatisfy(t -> assertThat(t.medianMs()).isPositive());
        assertThat(choice.timings().get(1).int8Nodes()).isGreaterThan(choice.timings().get(0).int8Nodes());
        assertThat(choice.fp32MedianMs()).isPositive();
        assertThat(choice.reason()).startsWith("chose " + choice.chosen()).contains("fp32 ").contains("batch 8");
        assertThat(choice.result().model().toByteArray())
            .isEqualTo(new StaticQdqQuantizer().quantize(fp32, stats, choice.recipe()).model().toByteArray());
    }
}
