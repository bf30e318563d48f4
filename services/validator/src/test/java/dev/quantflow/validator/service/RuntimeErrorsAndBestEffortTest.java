package dev.quantflow.validator.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.quantflow.contracts.AttemptMetrics;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.AttemptRecord;
import dev.quantflow.events.Recipe;

class RuntimeErrorsAndBestEffortTest {

    @Test
    void theFailingFusedNodeMapsBackToTheOriginalNode() {
        String msg = "Non-zero status code returned while running QLinearConv node. Name:'/conv2/Conv_token_5' Status Message: boom";
        assertThat(RuntimeErrors.failingNode(msg, List.of("/conv1/Conv", "/conv2/Conv", "/conv2"))).isEqualTo("/conv2/Conv");
        assertThat(RuntimeErrors.failingNode("no node named here", List.of("/conv1/Conv"))).isNull();
        assertThat(RuntimeErrors.failingNode(null, List.of("/conv1/Conv"))).isNull();
    }

    static AttemptRecord attempt(int n, boolean runnable) {
        ArtifactRef metrics = ArtifactRef.newBuilder().setBucket("b").setKey("m" + n).build();
        return AttemptRecord.newBuilder().setAttempt(n).setRecipe(Recipe.newBuilder().build()).setPassed(false)
            .setMetrics(metrics).setQuantizedModel(runnable ? ArtifactRef.newBuilder().setBucket("b").setKey("q" + n).build() : null)
            .build();
    }

    @Test
    void bestEffortTakesTheMostAccurateThenTheSmallest() throws Exception {
        Map<String, String> metrics = Map.of(
            "m1", "{\"quantized\":{\"accuracy\":0.80,\"sizeBytes\":100}}",
            "m2", "{\"quantized\":{\"accuracy\":0.86,\"sizeBytes\":150}}",
            "m3", "{\"quantized\":{\"accuracy\":0.86,\"sizeBytes\":120}}",
            "m4", "{\"quantized\":{\"accuracy\":0.99,\"sizeBytes\":10}}");
        var best = BestEffort.choose(List.of(attempt(1, true), attempt(2, true), attempt(3, true), attempt(4, false)),
            ref -> StageJson.read(metrics.get(ref.getKey()).getBytes(StandardCharsets.UTF_8), AttemptMetrics.class));
        assertThat(best.getAttempt()).isEqualTo(3); // attempt 4 never produced a runnable model
        assertThat(BestEffort.choose(List.of(attempt(1, false)), ref -> AttemptMetrics.NONE)).isNull();
    }

    @Test
    void bestEffortOfAMapJobTakesTheHighestMeanIouNotTheTop1AgreementOfItsPixels() throws Exception {
        Map<String, String> metrics = Map.of(
            "m1", "{\"quantized\":{\"sizeBytes\":100},\"comparison\":{\"top1Agreement\":0.9},\"outputs\":{\"meanIou\":0.80}}",
            "m2", "{\"quantized\":{\"sizeBytes\":100},\"comparison\":{\"top1Agreement\":0.1},\"outputs\":{\"meanIou\":0.93}}");
        var best = BestEffort.choose(List.of(attempt(1, true), attempt(2, true)),
            ref -> StageJson.read(metrics.get(ref.getKey()).getBytes(StandardCharsets.UTF_8), AttemptMetrics.class));
        assertThat(best.getAttempt()).isEqualTo(2);
    }
}
