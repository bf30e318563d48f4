package dev.quantflow.runtime.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.llm.LlmQuantRecipe;

/**
 * Issue 16: on every causal-LM fixture, 4-bit block 128, GPTQ's and AWQ's held-out perplexity increase over fp32 as
 * a multiple of RTN's, against a bound: the target (GPTQ ≤ 0.3, AWQ ≤ 0.4) where it is met, else the
 * ratio measured when this test was written plus a margin (a regression guard; docs/benchmarks.md says which
 * targets are missed). The same code as {@code bench/run-llm-fixtures.sh} ({@link FourBitComparison}).
 */
class LlmFixtureRatiosTest {

    static final Path FIXTURES = Path.of("../../fixtures");

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        // fixture, GPTQ bound, AWQ bound
        "gpt,      0.30, 0.55",
        "gpt-deep, 0.30, 0.45",
        "gpt-tied, 0.65, 4.5",
    })
    void gptqAndAwqStayWithinTheirBoundOfRtnsIncrease(String fixture, double gptqBound, double awqBound) throws Exception {
        Map<String, LlmQuantRecipe> recipes = new LinkedHashMap<>();
        for (LlmQuantRecipe.Method m : LlmQuantRecipe.Method.values()) {
            recipes.put(m.name().toLowerCase(Locale.ROOT), LlmQuantRecipe.of(m).withBlockSize(128));
        }
        FourBitComparison.Result r = FourBitComparison.run(FIXTURES.resolve(fixture), recipes, 0);
        FourBitComparison.markdown(r).forEach(System.out::println);
        assertThat(r.row("rtn").increase()).as("RTN costs perplexity on %s", fixture).isPositive();
        assertThat(r.row("gptq").increaseOverRtn()).as("GPTQ / RTN on %s", fixture).isLessThanOrEqualTo(gptqBound);
        assertThat(r.row("awq").increaseOverRtn()).as("AWQ / RTN on %s", fixture).isLessThanOrEqualTo(awqBound);
    }

    @Test
    void theTiedFixtureSharesOneMatrixAndItsHeadIsACapturePoint() throws Exception {
        OnnxModel m = OnnxModel.parse(Files.readAllBytes(FIXTURES.resolve("gpt-tied/model.onnx")));
        var points = LlmCalibration.capturePoints(m);
        // 2 blocks × (q/k/v input, proj, fc, out) + the tied head's input
        assertThat(points).hasSize(2 * 4 + 1);
        var head = points.get(points.size() - 1);
        assertThat(head.k()).isEqualTo(192);
        String emb = head.weights().get(0);
        assertThat(m.initializers().get(emb).getDims(0)).isEqualTo(1793);
        assertThat(m.graph().getNodeList()).anyMatch(n -> n.getOpType().equals("Gather") && n.getInput(0).equals(emb));
    }
}
