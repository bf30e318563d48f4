package dev.quantflow.quantizer.staticptq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import ai.onnx.proto.OnnxMl;

import dev.quantflow.contracts.QuantizationSummary;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.Recipe;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.onnx.ValueInfos;
import dev.quantflow.pipeline.PermanentStageException;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.calib.TensorRange;
import dev.quantflow.quant.isa.CpuFeatures;
import dev.quantflow.quant.qdq.ActivationType;
import dev.quantflow.quant.qdq.NodeDecision;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;

class StaticQuantizerStageTest {

    /** A CPU with AVX2 and no VNNI: the host of a job without a target class in these tests. */
    private static final CpuFeatures AVX2_HOST = new CpuFeatures("x86_64", "Intel Xeon E5-2673 v4", 2, Set.of("avx2", "fma"));

    private static StaticQuantRecipe staticRecipe(Recipe recipe) {
        return StaticQuantizerStage.toStaticRecipe(recipe, StaticQuantizerStage.isaRecipe(recipe, AVX2_HOST));
    }

    @Test
    void recipeMapsToTheQuantizersRecipe() {
        var r = staticRecipe(Recipe.newBuilder().setExcludedNodes(List.of("conv1", "fc2")).setActivationType("int8").build());
        assertThat(r.excludedNodes()).containsExactlyInAnyOrder("conv1", "fc2");
        assertThat(r.activationType()).isEqualTo(ActivationType.INT8);
        assertThat(r.perChannelWeights()).isTrue();
        assertThat(staticRecipe(Recipe.newBuilder().build()).activationType()).isEqualTo(ActivationType.UINT8);
    }

    @Test
    void theTargetClassDecidesTheWeightRangeAndActivationsAndTheUsersValuesWin() {
        Recipe none = Recipe.newBuilder().build();
        assertThat(none.getActivationType()).as("new recipes leave the activation type to the ISA").isEmpty();
        assertThat(none.getReduceRangeWeights()).isNull();
        assertThat(staticRecipe(none).reduceRangeWeights()).as("host without VNNI").isTrue();
        StaticQuantRecipe vnni = staticRecipe(Recipe.newBuilder().setTargetHardwareClass("x86-avx512-vnni").build());
        assertThat(vnni.reduceRangeWeights()).isFalse();
        assertThat(vnni.activationType()).isEqualTo(ActivationType.UINT8);
        StaticQuantRecipe arm = staticRecipe(Recipe.newBuilder().setTargetHardwareClass("arm64-dotprod").build());
        assertThat(arm.reduceRangeWeights()).isFalse();
        assertThat(arm.activationType()).isEqualTo(ActivationType.INT8);
        StaticQuantRecipe forced = staticRecipe(Recipe.newBuilder().setTargetHardwareClass("x86-avx512-vnni")
            .setReduceRangeWeights(true).setActivationType("int8").build());
        assertThat(forced.reduceRangeWeights()).isTrue();
        assertThat(forced.activationType()).isEqualTo(ActivationType.INT8);
        assertThat(StaticQuantizerStage.isaRecipe(Recipe.newBuilder().setActivationType("uint8")
            .setTargetHardwareClass("arm64-i8mm").build(), AVX2_HOST).reasons().get(1))
            .isEqualTo("u8 activations: set by the recipe (activationType = uint8)");
    }

    @Test
    void theModelMadeForAvx2HasSevenBitWeightsAndTheOneForAvx512VnniEightBit() {
        OnnxModel fp32 = mlp();
        StaticQdqQuantizer quantizer = new StaticQdqQuantizer();
        Recipe avx2 = Recipe.newBuilder().setTargetHardwareClass("x86-avx2").build();
        Recipe vnni = Recipe.newBuilder().setTargetHardwareClass("x86-avx512-vnni").build();
        StaticQuantRecipe avx2Recipe = staticRecipe(avx2);
        StaticQuantRecipe vnniRecipe = staticRecipe(vnni);
        OnnxModel forAvx2 = quantizer.quantize(fp32, ranges(fp32, avx2Recipe), avx2Recipe).model();
        OnnxModel forVnni = quantizer.quantize(fp32, ranges(fp32, vnniRecipe), vnniRecipe).model();
        assertThat(largestInt8Code(forAvx2)).isEqualTo(64);
        assertThat(largestInt8Code(forVnni)).isEqualTo(127);
    }

    @Test
    void theSummaryCarriesTheIsaRecord() throws Exception {
        var isa = StaticQuantizerStage.isaRecipe(Recipe.newBuilder().setTargetHardwareClass("x86-avx2").build(), AVX2_HOST);
        var summary = StaticQuantizerStage.summary(List.of(new NodeDecision("mm1", "MatMul", true, "int8")), Map.of(), 10, 5)
            .withIsa(StaticQuantizerStage.isaSummary(isa));
        JsonNode json = StageJson.MAPPER.readTree(StageJson.write(summary));
        assertThat(json.at("/isa/hardwareClass").asText()).isEqualTo("x86-avx2");
        assertThat(json.at("/isa/source").asText()).isEqualTo("target");
        assertThat(json.at("/isa/weightBits").asInt()).isEqualTo(7);
        assertThat(json.at("/isa/weightRange/0").asInt()).isEqualTo(-64);
        assertThat(json.at("/isa/weightRange/1").asInt()).isEqualTo(64);
        assertThat(json.at("/isa/activationType").asText()).isEqualTo("uint8");
        assertThat(json.at("/isa/flags/0").asText()).isEqualTo("avx2");
        assertThat(json.at("/isa/headline").asText()).isEqualTo("recipe made for x86-avx2: 7-bit weights (no VNNI), u8 activations");
        assertThat(json.at("/isa/reasons")).hasSize(2);
        assertThat(json.has("cpuModel") || json.at("/isa").has("cpuModel")).as("a target has no host CPU").isFalse();
        assertThat(StageJson.read(StageJson.write(summary), QuantizationSummary.class)).isEqualTo(summary);
    }

    @Test
    void unsupportedTypesAreAPermanentFailureWithAReason() {
        assertThatThrownBy(() -> staticRecipe(Recipe.newBuilder().setWeightType("int4").build()))
            .isInstanceOf(PermanentStageException.class).hasMessageContaining("int4");
        assertThatThrownBy(() -> staticRecipe(Recipe.newBuilder().setActivationType("fp8").build()))
            .isInstanceOf(PermanentStageException.class).hasMessageContaining("fp8");
        assertThatThrownBy(() -> staticRecipe(Recipe.newBuilder().setTargetHardwareClass("x86-avx3").build()))
            .isInstanceOf(PermanentStageException.class).hasMessageContaining("x86-avx3").hasMessageContaining("x86-avx2");
    }

    /** x [N,17] → mm1 (MatMul 17→9) → relu → mm2 (MatMul 9→5) → y, seeded weights. */
    private static OnnxModel mlp() {
        Random r = new Random(20241208);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("mlp");
        g.addInput(ValueInfos.floatTensor("x", 1, 17)).addOutput(ValueInfos.floatTensor("y", 1, 5));
        g.addInitializer(Tensors.floatTensor("M1", new long[] {17, 9}, gaussian(r, 17 * 9)));
        g.addInitializer(Tensors.floatTensor("M2", new long[] {9, 5}, gaussian(r, 9 * 5)));
        g.addNode(Nodes.create("MatMul", "mm1", List.of("x", "M1"), List.of("m1")));
        g.addNode(Nodes.create("Relu", "relu", List.of("m1"), List.of("h")));
        g.addNode(Nodes.create("MatMul", "mm2", List.of("h", "M2"), List.of("y")));
        return OnnxModel.wrap(OnnxMl.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).build());
    }

    private static float[] gaussian(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 0.3);
        }
        return v;
    }

    /** A range of [-4, 4] for every tensor the recipe needs calibrated (the weights do not depend on it). */
    private static ActivationStatistics ranges(OnnxModel fp32, StaticQuantRecipe recipe) {
        Map<String, TensorRange> ranges = new HashMap<>();
        for (String t : StaticQdqQuantizer.tensorsToCalibrate(fp32, recipe)) {
            ranges.put(t, new TensorRange(-4f, 4f));
        }
        return new ActivationStatistics("minmax", 16, ranges);
    }

    /** The largest |code| over the model's int8 initializers (weights and their zero points). */
    private static int largestInt8Code(OnnxModel model) {
        int max = -1;
        for (OnnxMl.TensorProto t : model.initializers().values()) {
            if (t.getDataType() == OnnxMl.TensorProto.DataType.INT8_VALUE) {
                for (byte b : Tensors.toByteArray(t)) {
                    max = Math.max(max, Math.abs(b));
                }
            }
        }
        assertThat(max).as("the model has int8 weights").isGreaterThan(0);
        return max;
    }

    @Test
    void theSummaryListsEveryNodeAndAKeptNodeCarriesTheDebugLoopsReason() throws Exception {
        var summary = StaticQuantizerStage.summary(List.of(new NodeDecision("/conv1/Conv", "Conv", true, "int8"),
                new NodeDecision("/fc/Gemm", "Gemm", false, "excluded"), new NodeDecision("/Flatten", "Flatten", false, "no int8 kernel")),
            Map.of("/fc/Gemm", "sensitive: layer SQNR 12.0 dB"), 1000, 300);
        JsonNode json = StageJson.MAPPER.readTree(StageJson.write(summary));
        assertThat(json.get("fp32SizeBytes").asLong()).isEqualTo(1000);
        assertThat(json.get("quantizedSizeBytes").asLong()).isEqualTo(300);
        assertThat(json.at("/quantizedNodes/0/node").asText()).isEqualTo("/conv1/Conv");
        assertThat(json.at("/quantizedNodes/0/quantized").asBoolean()).isTrue();
        assertThat(json.at("/keptFloatNodes/0/reason").asText()).isEqualTo("sensitive: layer SQNR 12.0 dB");
        assertThat(json.at("/keptFloatNodes/1/reason").asText()).isEqualTo("no int8 kernel");
        assertThat(json.has("method")).as("static summaries never had a method key").isFalse();
    }
}
