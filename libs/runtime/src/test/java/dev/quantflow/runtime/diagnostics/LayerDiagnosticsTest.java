package dev.quantflow.runtime.diagnostics;

import static dev.quantflow.runtime.diagnostics.DiagnosticsFixtures.calibrate;
import static dev.quantflow.runtime.diagnostics.DiagnosticsFixtures.excluding;
import static dev.quantflow.runtime.diagnostics.DiagnosticsFixtures.narrowed;
import static dev.quantflow.runtime.diagnostics.DiagnosticsFixtures.quantize;
import static dev.quantflow.runtime.diagnostics.DiagnosticsFixtures.table;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LayerDiagnosticsTest {

    private static final DiagnosticsOptions OPTIONS = DiagnosticsOptions.defaults();

    private static byte[] conv;
    private static NpzArchive convData;
    private static ActivationStatistics convStats;
    private static byte[] matMul;
    private static NpzArchive matMulData;
    private static ActivationStatistics matMulStats;

    @BeforeAll
    static void calibrateBoth() {
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults();
        conv = DiagnosticsFixtures.convNet();
        convData = DiagnosticsFixtures.gaussian("input", 64, 1, 3, 9, 9);
        convStats = calibrate(conv, convData, recipe);
        matMul = DiagnosticsFixtures.matMulNet();
        matMulData = DiagnosticsFixtures.gaussian("x", 64, 2, 13);
        matMulStats = calibrate(matMul, matMulData, recipe);
    }

    // ------------------------------------------------------------------ sqnrDb

    @Test
    void sqnrOfKnownValues() {
        // signal 9 + 16 = 25, noise 0.5² = 0.25: ratio 100 → 20 dB
        assertThat(LayerDiagnostics.sqnrDb(new float[] {3, 4}, new float[] {3, 4.5f})).isCloseTo(20.0, within(1e-9));
        // x̂ = 0.9 x: noise is 1 % of the signal whatever x is → 20 dB
        assertThat(LayerDiagnostics.sqnrDb(new float[] {1, -2, 3, -4, 5}, new float[] {0.9f, -1.8f, 2.7f, -3.6f, 4.5f}))
            .isCloseTo(20.0, within(1e-5));
        // noise energy equal to signal energy → 0 dB; ten times the signal → −10 dB
        assertThat(LayerDiagnostics.sqnrDb(new float[] {1, 1}, new float[] {0, 0})).isCloseTo(0.0, within(1e-12));
        assertThat(LayerDiagnostics.sqnrDb(new float[] {1}, new float[] {1 + (float) Math.sqrt(10)}))
            .isCloseTo(-10.0, within(1e-5));
    }

    @Test
    void sqnrEdgeCasesAreCapped() {
        float[] x = DiagnosticsFixtures.gaussian("v", 1, 5, 207).array("v").toFloats();
        assertThat(LayerDiagnostics.sqnrDb(x, x.clone())).isEqualTo(LayerDiagnostics.SQNR_CAP_DB);
        assertThat(LayerDiagnostics.sqnrDb(new float[13], new float[13])).isEqualTo(LayerDiagnostics.SQNR_CAP_DB);
        assertThat(LayerDiagnostics.sqnrDb(new float[0], new float[0])).isEqualTo(LayerDiagnostics.SQNR_CAP_DB);
        assertThat(LayerDiagnostics.sqnrDb(new float[3], new float[] {0, 1e-3f, 0})).isEqualTo(-LayerDiagnostics.SQNR_CAP_DB);
        // a difference below the cap is not clipped: 1e-6 relative noise → 120 dB
        assertThat(LayerDiagnostics.sqnrDb(new float[] {1000}, new float[] {1000.001f})).isBetween(110.0, 130.0);
        assertThat(LayerDiagnostics.sqnrDb(new float[] {1, Float.NaN}, new float[] {1, 1})).isNaN();
        assertThatThrownBy(() -> LayerDiagnostics.sqnrDb(new float[2], new float[3]))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void accumulatingInChunksEqualsOneShot() {
        float[] x = DiagnosticsFixtures.gaussian("v", 1, 7, 4098).array("v").toFloats();
        float[] y = x.clone();
        for (int i = 0; i < y.length; i++) {
            y[i] += (float) Math.sin(i) * 0.01f;
        }
        SqnrAccumulator chunks = new SqnrAccumulator();
        for (int from = 0; from < x.length; from += 1000) {
            int to = Math.min(x.length, from + 1000);
            chunks.add(Arrays.copyOfRange(x, from, to), Arrays.copyOfRange(y, from, to));
        }
        assertThat(chunks.count()).isEqualTo(4098);
        assertThat(chunks.sqnrDb()).isCloseTo(LayerDiagnostics.sqnrDb(x, y), within(1e-9));
    }

    // ------------------------------------------------------------------ mostSensitive

    @Test
    void layerSqnrSubtractsTheNoiseAlreadyPresent() {
        // input NSR 1e-4 (40 dB), output NSR 2e-4 (36.99 dB): the layer added 1e-4 of its own → 40 dB
        assertThat(LayerDiagnostics.layerSqnrDb(40.0, 10 * Math.log10(1 / 2e-4))).isCloseTo(40.0, within(1e-9));
        // an exact input: the layer's own SQNR is its output SQNR
        assertThat(LayerDiagnostics.layerSqnrDb(LayerDiagnostics.SQNR_CAP_DB, 30.0)).isCloseTo(30.0, within(1e-9));
        assertThat(LayerDiagnostics.layerSqnrDb(145.0, 37.85)).isCloseTo(37.85, within(1e-6));
        // no noisier than its input (or cleaner): nothing measurable added
        assertThat(LayerDiagnostics.layerSqnrDb(30.0, 30.0)).isEqualTo(LayerDiagnostics.SQNR_CAP_DB);
        assertThat(LayerDiagnostics.layerSqnrDb(30.0, 33.0)).isEqualTo(LayerDiagnostics.SQNR_CAP_DB);
        assertThat(LayerDiagnostics.layerSqnrDb(Double.NaN, 33.0)).isNaN();
    }

    @Test
    void mostSensitiveRanksQuantizedComparedLayersByTheirOwnSqnr() {
        List<LayerReport> reports = List.of(
            report("a", true, 30.0, 25.0),
            report("b", true, 10.0, 45.0),    // lowest output SQNR, but inherited: adds little of its own
            report("c", true, 20.0, 25.0),    // ties with a on its own SQNR, lower output SQNR → before a
            report("d", false, 5.0, 9.0),     // kept fp32: never a candidate
            new LayerReport("e", "Relu", "e", true, null, null, null, null, "folded into x"),
            report("f", true, Double.NaN, Double.NaN),
            report("g", true, 30.0, 25.0),    // same as a in every figure: name order
            report("h", true, 30.0, LayerDiagnostics.SQNR_CAP_DB)); // adds nothing measurable
        assertThat(LayerDiagnostics.mostSensitive(reports, 10)).containsExactly("f", "c", "a", "g", "b");
        assertThat(LayerDiagnostics.mostSensitive(reports, 2)).containsExactly("f", "c");
        assertThat(LayerDiagnostics.mostSensitive(reports, 0)).isEmpty();
    }

    @Test
    void noisyPrefixEndsAtTheLastNoisyQuantizedLayerOfTheFirstTenthOfTheGraph() {
        List<LayerReport> reports = new java.util.ArrayList<>();
        for (int i = 0; i < 30; i++) {
            reports.add(report("n" + i, true, 25.0, 30.0));
        }
        assertThat(LayerDiagnostics.noisyPrefix(reports)).isEmpty();
        reports.set(1, report("n1", true, 4.0, 9.9));        // noisy, in the window of ceil(0.1 · 30) = 3 layers
        reports.set(2, report("n2", false, 2.0, 3.0));       // kept fp32: not a candidate
        reports.set(10, report("n10", true, 1.0, 2.0));      // noisy, but deep in the graph: not a prefix
        LayerDiagnostics.NoisyPrefix p = LayerDiagnostics.noisyPrefix(reports).orElseThrow();
        assertThat(p.node()).isEqualTo("n1");
        assertThat(p.nodes()).containsExactly("n0", "n1");
        assertThat(p.graphLayers()).isEqualTo(30);
        assertThat(p.reason()).contains("n1 (layer 2 of 30", "9.9 dB own SQNR (< 10 dB)", "input 5.0 dB -> output 4.0 dB");
        reports.set(1, report("n1", true, 4.0, 10.0));       // at the threshold: not noisy
        assertThat(LayerDiagnostics.noisyPrefix(reports)).isEmpty();
        assertThat(LayerDiagnostics.noisyPrefix(List.of())).isEmpty();
    }

    private static LayerReport report(String node, boolean quantized, double sqnr, double layerSqnr) {
        return new LayerReport(node, "Conv", node, quantized, sqnr, sqnr + 1, 1.0, layerSqnr, null);
    }

    // ------------------------------------------------------------------ models

    /**
     * The fetch budget bounds memory without changing a figure: with a budget of one byte every compared tensor is a
     * group of its own and every run takes one sample, and the reports are the same as in one group of whole batches.
     */
    @Test
    void aTinyFetchBudgetComparesOneLayerAndOneSampleAtATimeWithTheSameFigures() throws OrtException {
        byte[] q = quantize(conv, convStats, StaticQuantRecipe.defaults());
        List<LayerReport> whole = LayerDiagnostics.compare(conv, q, convData, OPTIONS, Long.MAX_VALUE);
        List<LayerReport> tiny = LayerDiagnostics.compare(conv, q, convData, OPTIONS, 1);
        assertThat(tiny).hasSameSizeAs(whole);
        for (int i = 0; i < whole.size(); i++) {
            LayerReport a = whole.get(i);
            LayerReport b = tiny.get(i);
            assertThat(b.node()).isEqualTo(a.node());
            if (a.sqnrDb() == null) {
                assertThat(b.sqnrDb()).isNull();
            } else {
                assertThat(b.sqnrDb()).as(a.node()).isCloseTo(a.sqnrDb(), within(1e-4)); // ORT rounds batch 1 and 32 apart
            }
        }
    }

    @Test
    void groupsStayWithinTheBudgetAndCountASharedTensorOnce() {
        var a = new QdqGraphMatch.TensorPair("a", "a_dq");
        var b = new QdqGraphMatch.TensorPair("b", "b_dq");
        var b2 = new QdqGraphMatch.TensorPair("b", "b_other");
        var c = new QdqGraphMatch.TensorPair("c", "c_dq");
        java.util.Map<String, Long> bytes = java.util.Map.of("a", 100L, "b", 100L, "c", 1000L);
        var groups = LayerDiagnostics.groups(new java.util.LinkedHashSet<>(List.of(a, b, b2, c)), bytes, 32, 400);
        // a + b = 2·100 + 2·100 = 400 (b2 shares b's tensor); c alone is 2000 > 400: its own group, 1 sample per run
        assertThat(groups).extracting(LayerDiagnostics.Group::pairs)
            .containsExactly(List.of(a, b, b2), List.of(c));
        assertThat(groups).extracting(LayerDiagnostics.Group::rowsPerRun).containsExactly(1, 1);
        assertThat(LayerDiagnostics.groups(new java.util.LinkedHashSet<>(List.of(a)), bytes, 32, 1000)
            .get(0).rowsPerRun()).isEqualTo(5);
    }

    @Test
    void convNetEveryQuantizedLayerGetsAFiniteSqnr() throws OrtException {
        Compared compared = compareDefaultQuantization("conv net, calibrated on the compared data", conv, convStats,
            convData, "c1_node", "r1_node", "p1_node", "c2_node", "r2_node", "f_node", "logits_node");
        byte[] q = compared.quantized();
        Map<String, LayerReport> byNode = compared.byNode();
        // Relus folded into the Convs: the Conv rows compare the Relu outputs
        assertThat(byNode.get("c1_node").tensor()).isEqualTo("r1");
        assertThat(byNode.get("c2_node").tensor()).isEqualTo("r2");
        assertThat(byNode.get("r1_node").compared()).isFalse();
        assertThat(byNode.get("r1_node").skipReason()).contains("folded into c1_node");
        for (String n : List.of("c1_node", "p1_node", "c2_node", "f_node", "logits_node")) {
            LayerReport r = byNode.get(n);
            assertThat(r.quantized()).as(n).isTrue();
            assertThat(r.compared()).as(n).isTrue();
            assertThat(r.sqnrDb()).as(n).isFinite().isBetween(15.0, 60.0);
            assertThat(r.inputSqnrDb()).as(n).isFinite();
            assertThat(r.addedErrorDb()).as(n).isCloseTo(r.inputSqnrDb() - r.sqnrDb(), within(1e-12));
            assertThat(r.layerSqnrDb()).as(n).isGreaterThanOrEqualTo(r.sqnrDb());
        }
        // quantizing the graph input alone: uint8 over a Gaussian's min/max, about 6 dB a bit
        assertThat(byNode.get("c1_node").inputSqnrDb()).isBetween(30.0, 50.0);
        // Flatten only moves values: it adds nothing
        assertThat(byNode.get("f_node").addedErrorDb()).isCloseTo(0.0, within(1e-6));
        // the logits row agrees with comparing the two models' outputs directly
        assertThat(byNode.get("logits_node").sqnrDb())
            .isCloseTo(LayerDiagnostics.sqnrDb(outputs(conv, convData, "logits"), outputs(q, convData, "logits")),
                within(1e-6));
    }

    @Test
    void matMulNetEveryQuantizedLayerGetsAFiniteSqnr() throws OrtException {
        Compared compared = compareDefaultQuantization("matmul net", matMul, matMulStats, matMulData,
            "a_node", "b_node", "c_node", "d_node", "e_node", "logits_node");
        byte[] q = compared.quantized();
        Map<String, LayerReport> byNode = compared.byNode();
        assertThat(byNode.get("b_node").tensor()).isEqualTo("c");
        assertThat(byNode.get("c_node").skipReason()).contains("folded into b_node");
        for (String n : List.of("a_node", "b_node", "d_node", "e_node", "logits_node")) {
            LayerReport r = byNode.get(n);
            assertThat(r.quantized()).as(n).isTrue();
            assertThat(r.sqnrDb()).as(n).isFinite().isBetween(15.0, 60.0);
            assertThat(r.addedErrorDb()).as(n).isFinite();
        }
        // the residual Add reads d and c, both dequantized: its input SQNR pools the two
        LayerReport add = byNode.get("e_node");
        double d = byNode.get("d_node").sqnrDb();
        double c = byNode.get("b_node").sqnrDb();
        assertThat(add.inputSqnrDb()).isBetween(Math.min(c, d) - 1e-9, Math.max(c, d) + 1e-9);
        // the last MatMul keeps a float output (graph output): compared on the logits themselves
        assertThat(byNode.get("logits_node").sqnrDb())
            .isCloseTo(LayerDiagnostics.sqnrDb(outputs(matMul, matMulData, "logits"), outputs(q, matMulData, "logits")),
                within(1e-6));
    }

    @Test
    void excludedNodeIsReportedAsFloatAndNeverSensitive() {
        StaticQuantRecipe recipe = excluding("c2_node");
        byte[] q = quantize(conv, calibrate(conv, convData, recipe), recipe);
        List<LayerReport> reports = LayerDiagnostics.compare(conv, q, convData, OPTIONS);
        System.out.println("conv net, c2_node excluded:\n" + table(reports));
        Map<String, LayerReport> byNode = byNode(reports);

        LayerReport c2 = byNode.get("c2_node");
        assertThat(c2.quantized()).isFalse();
        assertThat(c2.compared()).isTrue();
        assertThat(c2.tensor()).isEqualTo("c2");
        // an fp32 Conv adds no quantization noise, though a linear map does not scale noise and signal alike
        assertThat(c2.sqnrDb()).isGreaterThan(byNode.get("c1_node").sqnrDb() - 5.0);
        assertThat(byNode.get("r2_node").quantized()).isFalse();
        assertThat(byNode.get("r2_node").compared()).isTrue();
        assertThat(byNode.get("c1_node").quantized()).isTrue();
        assertThat(byNode.get("logits_node").quantized()).isTrue();
        assertThat(LayerDiagnostics.mostSensitive(reports, 10)).doesNotContain("c2_node", "r2_node")
            .contains("c1_node", "logits_node");
    }

    @ParameterizedTest(name = "range of {1} 100x too narrow → {2}")
    @CsvSource({
        "conv,   r1, c1_node",
        "conv,   r2, c2_node",
        "matmul, d,  d_node",
        "matmul, e,  e_node",
    })
    void aBrokenCalibrationRangeMakesThatLayerTheMostSensitive(String net, String tensor, String expected) {
        boolean isConv = net.equals("conv");
        byte[] model = isConv ? conv : matMul;
        NpzArchive data = isConv ? convData : matMulData;
        ActivationStatistics stats = isConv ? convStats : matMulStats;
        byte[] q = quantize(model, narrowed(stats, tensor, 100f), StaticQuantRecipe.defaults());
        List<LayerReport> reports = LayerDiagnostics.compare(model, q, data, OPTIONS);
        System.out.println(net + " net, range of " + tensor + " / 100:\n" + table(reports));
        assertThat(LayerDiagnostics.mostSensitive(reports, 1)).containsExactly(expected);
        assertThat(byNode(reports).get(expected).addedErrorDb()).isGreaterThan(10.0);
        assertThat(byNode(reports).get(expected).layerSqnrDb()).isLessThan(5.0);
    }

    @Test
    void comparingAModelWithItselfFindsNothingQuantized() {
        List<LayerReport> reports = LayerDiagnostics.compare(conv, conv, convData, OPTIONS);
        assertThat(reports).hasSize(7).allSatisfy(r -> {
            assertThat(r.quantized()).isFalse();
            assertThat(r.sqnrDb()).isEqualTo(LayerDiagnostics.SQNR_CAP_DB);
        });
        assertThat(LayerDiagnostics.mostSensitive(reports, 3)).isEmpty();
    }

    @Test
    void aNodeThatCannotBeMatchedIsSkippedNotMiscompared() {
        byte[] q = quantize(conv, convStats, StaticQuantRecipe.defaults());
        OnnxMl.ModelProto proto = parse(q);
        OnnxMl.GraphProto.Builder g = proto.getGraph().toBuilder();
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getName().equals("c2_node")) {
                g.setNode(i, g.getNode(i).toBuilder().setName("renamed_by_someone"));
            }
        }
        byte[] tampered = proto.toBuilder().setGraph(g).build().toByteArray();
        Map<String, LayerReport> byNode = byNode(LayerDiagnostics.compare(conv, tampered, convData, OPTIONS));

        assertThat(byNode.get("c2_node").compared()).isFalse();
        assertThat(byNode.get("c2_node").skipReason()).contains("no node of this name");
        assertThat(byNode.get("r2_node").compared()).isFalse();
        // Flatten's own output is still matched, but its input now comes from an unknown node: no added error
        LayerReport flatten = byNode.get("f_node");
        assertThat(flatten.compared()).isTrue();
        assertThat(flatten.inputSqnrDb()).isNull();
        assertThat(flatten.addedErrorDb()).isNull();
        assertThat(flatten.layerSqnrDb()).isNull();
        assertThat(byNode.get("c1_node").addedErrorDb()).isNotNull();
    }

    @Test
    void usesOnlyTheRequestedSamples() {
        byte[] q = quantize(conv, convStats, StaticQuantRecipe.defaults());
        List<LayerReport> first16 = LayerDiagnostics.compare(conv, q, convData, OPTIONS.withMaxSamples(16));
        List<LayerReport> first16InBatchesOf5 = LayerDiagnostics.compare(conv, q, convData,
            OPTIONS.withMaxSamples(16).withBatchSize(5));
        List<LayerReport> all = LayerDiagnostics.compare(conv, q, convData, OPTIONS.withMaxSamples(0));
        for (int i = 0; i < first16.size(); i++) {
            LayerReport a = first16.get(i);
            LayerReport b = first16InBatchesOf5.get(i);
            if (a.compared()) {
                assertThat(b.sqnrDb()).as(a.node()).isCloseTo(a.sqnrDb(), within(1e-4));
            }
        }
        assertThat(all.get(0).sqnrDb()).isNotEqualTo(first16.get(0).sqnrDb());
    }

    @Test
    void optionsAreValidated() {
        assertThatThrownBy(() -> new DiagnosticsOptions(-1, 32, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DiagnosticsOptions(64, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DiagnosticsOptions(64, 32, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LayerDiagnostics.mostSensitive(List.of(), -1)).isInstanceOf(IllegalArgumentException.class);
    }

    /** The default static quantization of a model and its per-layer reports, by node. */
    private record Compared(byte[] quantized, Map<String, LayerReport> byNode) {
    }

    /**
     * Quantizes {@code model} with the default recipe on {@code stats}, compares it layer by layer on {@code data}
     * (the table printed under {@code label}) and checks the report rows are {@code nodes}, in graph order.
     */
    private static Compared compareDefaultQuantization(String label, byte[] model, ActivationStatistics stats,
                                                       NpzArchive data, String... nodes) throws OrtException {
        byte[] q = quantize(model, stats, StaticQuantRecipe.defaults());
        List<LayerReport> reports = LayerDiagnostics.compare(model, q, data, OPTIONS);
        System.out.println(label + ":\n" + table(reports));
        assertThat(reports).extracting(LayerReport::node).containsExactly(nodes);
        return new Compared(q, byNode(reports));
    }

    private static Map<String, LayerReport> byNode(List<LayerReport> reports) {
        return reports.stream().collect(Collectors.toMap(LayerReport::node, r -> r));
    }

    private static OnnxMl.ModelProto parse(byte[] model) {
        try {
            return OnnxMl.ModelProto.parseFrom(model);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    /** One output of a model over the first {@link DiagnosticsOptions#defaults()} samples, in one run. */
    private static float[] outputs(byte[] model, NpzArchive data, String output) throws OrtException {
        int rows = Math.min(OPTIONS.maxSamples(), data.arrays().iterator().next().rows());
        try (OrtSession s = OrtModels.createSession(model, 1, OrtSession.SessionOptions.OptLevel.BASIC_OPT);
             OrtModels.InputBatch batch = OrtModels.feed(s, data, 0, rows);
             OrtSession.Result r = s.run(batch.tensors())) {
            OnnxTensor t = (OnnxTensor) r.get(output).orElseThrow();
            float[] v = new float[Math.toIntExact(t.getInfo().getNumElements())];
            t.getFloatBuffer().get(v);
            return v;
        }
    }
}
