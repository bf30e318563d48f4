package dev.quantflow.intake.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import dev.quantflow.contracts.JobOptions;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.ValueInfos;
import dev.quantflow.runtime.npz.NdArray;

/**
 * Model preparation at submit: an opset-9 export with its weights as {@code Constant} nodes
 * ({@code fixtures/legacy/cnn_bn_opset9_constants.onnx}, made by export_legacy.py) becomes an opset-17 model with
 * initializers, checked on the first rows of the calibration data, and method selection sees that model; a modern
 * model is used as uploaded; a model the upgrade cannot move is refused with 422 naming the op and the opset.
 */
class ModelIntakePreparationTest {

    static final Path LEGACY = Path.of("../../fixtures/legacy/cnn_bn_opset9_constants.onnx");
    static final Path FASHION = Path.of("../../fixtures/fashion-cnn");

    @Test
    void anOpset9ExportWithConstantWeightsIsPreparedAndCheckedOnTheFirstCalibrationRows() throws Exception {
        byte[] upload = Files.readAllBytes(LEGACY);
        OnnxModel original = InputValidator.checkModel(upload);
        assertThat(original.opsetVersion()).isEqualTo(9);
        assertThat(ops(original)).contains("Constant", "BatchNormalization");

        ModelIntakePreparation.Outcome out = ModelIntakePreparation.prepare(upload, original,
            Files.readAllBytes(FASHION.resolve("calib.npz")), Files.readAllBytes(FASHION.resolve("eval.npz")));

        assertThat(out.changed()).isTrue();
        OnnxModel prepared = OnnxModel.parse(out.bytes());
        assertThat(prepared.opsetVersion()).isGreaterThanOrEqualTo(13);
        assertThat(ops(prepared)).doesNotContain("Constant", "BatchNormalization").contains("Conv", "Gemm");
        prepared.graph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv"))
            .forEach(n -> assertThat(prepared.initializerNames()).as(n.getName()).contains(n.getInput(1)));
        assertThat(out.report().constantsToInitializers()).isEqualTo((int) original.graph().getNodeList().stream()
            .filter(n -> n.getOpType().equals("Constant")).count());
        assertThat(out.report().foldedBatchNorms()).isEqualTo(3);
        assertThat(out.report().opsetFrom()).isEqualTo(9);
        assertThat(out.report().checkedInputs()).isEqualTo(ModelIntakePreparation.SAMPLE_ROWS);
        assertThat(out.report().checkedFromData()).isEqualTo(ModelIntakePreparation.SAMPLE_ROWS);
        assertThat(out.report().maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(out.shapes().get("input")).containsExactly(1, 1, 28, 28);
        assertThat(out.shapes()).containsKey(prepared.graph().getNode(0).getOutput(0));

        // method selection on the prepared graph: its Conv nodes have initializer weights
        var plan = JobPlanTest.submitter().plan(JobOptions.builder().method("auto").build(), out.model(), true);
        assertThat(plan.getMethod()).isEqualTo("static");
        assertThat(plan.getMethodReason()).contains("Conv");
    }

    /**
     * Several inputs, as Silero VAD has them: x [batch, 4], a state [2, ?, 3] whose samples lie along axis 1, and an
     * int64 scalar given once; the work inside {@code If(sr == 16000)} with a {@code Constant} in the branch. The
     * check at submit feeds all three (the state cut to the same 32 samples along axis 1).
     */
    @Test
    void aModelWithAStateAndAScalarInputIsCheckedFeedingEveryInput() throws Exception {
        OnnxMl.GraphProto then = OnnxMl.GraphProto.newBuilder().setName("then")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y_then"))
            .addNode(Nodes.create("Constant", "scale", List.of(), List.of("k"), OnnxMl.AttributeProto.newBuilder()
                .setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
                .setT(dev.quantflow.onnx.Tensors.floatTensor("k", new long[0], new float[] {2f})).build()))
            .addNode(Nodes.create("Mul", "times", List.of("y", "k"), List.of("y_then"))).build();
        OnnxMl.GraphProto els = OnnxMl.GraphProto.newBuilder().setName("else")
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y_else"))
            .addNode(Nodes.create("Neg", "neg", List.of("y"), List.of("y_else"))).build();
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder().setName("vad_like")
            .addInput(ValueInfos.tensor("x", OnnxMl.TensorProto.DataType.FLOAT_VALUE, "batch", 4))
            .addInput(ValueInfos.tensor("state", OnnxMl.TensorProto.DataType.FLOAT_VALUE, 2, "b", 3))
            .addInput(ValueInfos.tensor("sr", OnnxMl.TensorProto.DataType.INT64_VALUE))
            .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("out"))
            .addInitializer(dev.quantflow.onnx.Tensors.int64Tensor("axis0", new long[] {1}, new long[] {0}))
            .addInitializer(dev.quantflow.onnx.Tensors.int64Tensor("rate", new long[0], new long[] {16000}))
            .addNode(Nodes.create("ReduceSum", "sum", List.of("state", "axis0"), List.of("s"),
                Nodes.intAttribute("keepdims", 0)))
            .addNode(Nodes.create("Concat", "cat", List.of("x", "s"), List.of("y"), Nodes.intAttribute("axis", 1)))
            .addNode(Nodes.create("Equal", "is16k", List.of("sr", "rate"), List.of("c")))
            .addNode(Nodes.create("If", "branch", List.of("c"), List.of("out"), OnnxMl.AttributeProto.newBuilder()
                .setName("then_branch").setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(then).build(),
                OnnxMl.AttributeProto.newBuilder().setName("else_branch")
                    .setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(els).build()))
            .build();
        byte[] upload = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(graph)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray();
        int n = 40;
        float[] x = new float[n * 4];
        float[] state = new float[2 * n * 3];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat();
        }
        for (int i = 0; i < state.length; i++) {
            state[i] = r.nextFloat();
        }
        java.io.ByteArrayOutputStream npz = new java.io.ByteArrayOutputStream();
        dev.quantflow.runtime.npz.NpzWriter.write(npz, List.of(NdArray.ofFloats("x", x, n, 4),
            NdArray.ofFloats("state", state, 2, n, 3), NdArray.ofLongs("sr", new long[] {16000})), false);

        ModelIntakePreparation.Outcome out = ModelIntakePreparation.prepare(upload, InputValidator.checkModel(upload),
            npz.toByteArray(), null);
        assertThat(out.changed()).isTrue();
        assertThat(out.report().constantsToInitializers()).isEqualTo(1); // the branch's Constant
        assertThat(out.report().checkedFromData()).isEqualTo(ModelIntakePreparation.SAMPLE_ROWS);
        assertThat(out.report().maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(out.shapes().get("state")).containsExactly(2, 1, 3);
        assertThat(out.shapes().get("sr")).isEmpty();
    }

    @Test
    void aModernModelIsUsedAsUploaded() throws Exception {
        byte[] upload = Files.readAllBytes(FASHION.resolve("model.onnx"));
        ModelIntakePreparation.Outcome out = ModelIntakePreparation.prepare(upload, InputValidator.checkModel(upload),
            null, Files.readAllBytes(FASHION.resolve("eval.npz")));
        assertThat(out.changed()).isFalse();
        assertThat(out.bytes()).isSameAs(upload);
        assertThat(out.model().opsetVersion()).isEqualTo(13);
        assertThat(out.report().opsetTo()).isEqualTo(13);
        assertThat(out.report().checkedInputs()).isNull();
        assertThat(out.withKeys("jobs/j/input/model.onnx", "jobs/j/prepared/model.onnx").preparedModelKey()).isNull();
        assertThat(out.shapes()).as("declared shapes make the MAC estimate complete").isEmpty();
    }

    @Test
    void aModernModelWithDynamicHeightAndWidthGetsItsShapesFromTheFirstRowForAuto() {
        float[] w = new float[4 * 1 * 3 * 3];
        java.util.Arrays.fill(w, 0.1f);
        OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder().setName("conv")
            .addInput(ValueInfos.tensor("x", OnnxMl.TensorProto.DataType.FLOAT_VALUE, "N", 1, "H", "W"))
            .addOutput(ValueInfos.tensor("y", OnnxMl.TensorProto.DataType.FLOAT_VALUE, "N", 4, "H2", "W2"))
            .addInitializer(dev.quantflow.onnx.Tensors.floatTensor("w", new long[] {4, 1, 3, 3}, w))
            .addNode(Nodes.create("Conv", "conv", List.of("x", "w"), List.of("y")))
            .build();
        byte[] model = OnnxMl.ModelProto.newBuilder().setIrVersion(8)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).setGraph(graph).build().toByteArray();
        byte[] data = InputValidatorTest.npz(NdArray.ofFloats("x", new float[2 * 10 * 12], 2, 1, 10, 12));

        ModelIntakePreparation.Outcome out = ModelIntakePreparation.prepare(model, InputValidator.checkModel(model),
            data, data);
        assertThat(out.changed()).isFalse();
        assertThat(out.shapes().get("y")).containsExactly(1, 4, 8, 10);
        assertThat(ModelIntakePreparation.prepare(model, InputValidator.checkModel(model),
            new ModelIntakePreparation.Data(data, null, data, null, null), false).shapes())
            .as("a named method needs no shapes").isEmpty();
        var plan = JobPlanTest.submitter().plan(JobOptions.builder().method("auto").build(), out.model(),
            new MethodSelection.Inputs(true, false, false), out.shapes());
        assertThat(plan.getMethodReason()).contains("MACs").doesNotContain("not available");
    }

    @Test
    void textDataIsTokenizedForTheCheckAsTheStagesWillGetIt() throws Exception {
        byte[] minilm;
        byte[] tokenizer;
        try (var in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx");
             var tok = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            minilm = in.readAllBytes();
            tokenizer = tok.readAllBytes();
        }
        // an Identity before the output, as old exports leave them: something for the preparation to do
        OnnxMl.ModelProto.Builder proto = OnnxMl.ModelProto.parseFrom(minilm).toBuilder();
        OnnxMl.GraphProto.Builder graph = proto.getGraphBuilder();
        String out0 = graph.getOutput(0).getName();
        for (OnnxMl.NodeProto.Builder n : graph.getNodeBuilderList()) {
            for (int i = 0; i < n.getOutputCount(); i++) {
                if (n.getOutput(i).equals(out0)) {
                    n.setOutput(i, out0 + "_before_identity");
                }
            }
        }
        graph.addNode(Nodes.create("Identity", "left_in", List.of(out0 + "_before_identity"), List.of(out0)));
        byte[] upload = proto.build().toByteArray();
        byte[] text = Files.readAllBytes(Path.of("../../fixtures/text/calibration.txt"));

        ModelIntakePreparation.Outcome out = ModelIntakePreparation.prepare(upload, InputValidator.checkModel(upload),
            new ModelIntakePreparation.Data(text, "calibration.txt", text, "calibration.txt", tokenizer), false);

        assertThat(out.changed()).isTrue();
        assertThat(out.report().removedIdentities()).isEqualTo(1);
        assertThat(out.report().checkedFromData()).as("rows of the tokenized text, no synthesized ids")
            .isEqualTo(ModelIntakePreparation.SAMPLE_ROWS);
        assertThat(out.report().maxAbsDiff()).isZero();
    }

    @Test
    void withoutCalibrationDataTheValidationRowsAreTheSample() throws Exception {
        byte[] upload = Files.readAllBytes(LEGACY);
        byte[] five = InputValidatorTest.npz(NdArray.ofFloats("input", new float[5 * 784], 5, 1, 28, 28));
        ModelIntakePreparation.Outcome out = ModelIntakePreparation.prepare(upload, InputValidator.checkModel(upload),
            null, five);
        assertThat(out.report().checkedInputs()).isEqualTo(5);
        assertThat(out.report().checkedFromData()).isEqualTo(5);
        byte[] misnamed = InputValidatorTest.npz(NdArray.ofFloats("image", new float[784], 1, 1, 28, 28));
        assertThatThrownBy(() -> ModelIntakePreparation.prepare(upload, InputValidator.checkModel(upload), null, misnamed))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.code()).isEqualTo("DATASET_MISMATCH");
                assertThat(e.getMessage()).contains("validation data").contains("'input'");
            });
    }

    @Test
    void aModelThePreparationCannotUpgradeIsRefusedAtSubmitWith422NamingTheOpAndNothingIsStored() {
        byte[] model = UnupgradableModel.onnx();
        byte[] data = InputValidatorTest.npz(UnupgradableModel.input());

        // the submitter has no store nor publisher: anything stored or started would fail differently
        JobSubmitter submitter = JobPlanTest.submitter();
        assertThatThrownBy(() -> submitter.submitUpload("test", new JobSubmitter.Upload(model, data, data),
            JobOptions.builder().method("static").build()))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.status()).isEqualTo(422);
                assertThat(e.code()).isEqualTo("INVALID_MODEL");
                assertThat(e.getMessage()).startsWith("model preparation").contains("ImageScaler").contains("opset 9")
                    .doesNotContain("Exception", "\tat ");
            });
    }

    /**
     * The PaddleOCR direction classifier (paddle2onnx, opset 9, every weight a Constant; {@code fixtures/paddleocr/
     * fetch.sh}) through the submit path's preparation, checked on 8 rows of calibration data in its input range.
     */
    @Test
    void thePaddleOcrDirectionClassifierIsPreparedAtSubmit() throws Exception {
        Path file = paddleOcr("ch_ppocr_mobile_v2.0_cls_infer.onnx");
        byte[] upload = Files.readAllBytes(file);
        OnnxModel original = InputValidator.checkModel(upload);
        java.util.Random random = new java.util.Random(7);
        float[] x = new float[8 * 3 * 48 * 192];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextFloat() * 2 - 1; // (pixel/255 - 0.5) / 0.5, as PaddleOCR normalises
        }
        byte[] calib = InputValidatorTest.npz(NdArray.ofFloats("x", x, 8, 3, 48, 192));

        ModelIntakePreparation.Outcome out = ModelIntakePreparation.prepare(upload, original, calib, calib);

        assertThat(out.changed()).isTrue();
        assertThat(out.model().opsetVersion()).isEqualTo(17);
        assertThat(ops(out.model())).doesNotContain("Constant", "BatchNormalization");
        assertThat(out.report().checkedFromData()).isEqualTo(8);
        assertThat(out.report().maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(out.shapes().get("x")).containsExactly(1, 3, 48, 192);
        // auto on the prepared graph with the shapes of the check run: by compute, with the numbers
        var plan = JobPlanTest.submitter().plan(JobOptions.builder().method("auto").build(), out.model(),
            new MethodSelection.Inputs(true, false, false), out.shapes());
        System.out.println("cls at submit: " + out.report().summary() + "; max |diff| " + out.report().maxAbsDiff()
            + " on " + out.report().checkedInputs() + " rows, " + out.report().seconds() + " s; auto: "
            + plan.getMethodReason());
        assertThat(plan.getMethod()).isEqualTo("static");
        assertThat(plan.getMethodReason()).containsPattern("Conv \\d+\\.\\d% of [\\d.]+ M MACs");
        // without them the input's dynamic H and W leave the estimate incomplete
        assertThat(JobPlanTest.submitter().plan(JobOptions.builder().method("auto").build(), out.model(), true)
            .getMethodReason()).contains("MAC estimate not available");
    }

    /**
     * The PaddleOCR text detector (opset 11, dynamic H and W, Constant weights) on 32 rows of 320×320: prepared, and
     * auto decides by compute with the shapes bound from the data.
     */
    @Test
    void thePaddleOcrDetectorIsPreparedAtSubmitAndAutoDecidesByCompute() throws Exception {
        byte[] upload = Files.readAllBytes(paddleOcr("ch_PP-OCRv4_det_infer.onnx"));
        OnnxModel original = InputValidator.checkModel(upload);
        java.util.Random random = new java.util.Random(11);
        float[] x = new float[32 * 3 * 320 * 320];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextFloat() * 2 - 1;
        }
        byte[] calib = InputValidatorTest.npz(NdArray.ofFloats("x", x, 32, 3, 320, 320));
        x = null;

        ModelIntakePreparation.Outcome out = ModelIntakePreparation.prepare(upload, original, calib, calib);

        var plan = JobPlanTest.submitter().plan(JobOptions.builder().method("auto").build(), out.model(),
            new MethodSelection.Inputs(true, false, false), out.shapes());
        System.out.println("det at submit: " + out.report().summary() + "; max |diff| " + out.report().maxAbsDiff()
            + " on " + out.report().checkedInputs() + " rows, " + out.report().seconds() + " s; auto: "
            + plan.getMethodReason());
        assertThat(out.changed()).isTrue();
        assertThat(out.report().opsetFrom()).isEqualTo(11);
        assertThat(out.model().opsetVersion()).isEqualTo(17);
        assertThat(ops(out.model())).doesNotContain("Constant", "BatchNormalization");
        assertThat(out.report().checkedFromData()).isEqualTo(32);
        assertThat(out.report().maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(plan.getMethod()).isEqualTo("static");
        assertThat(plan.getMethodReason()).containsPattern("Conv \\d+\\.\\d% of [\\d.]+ [MG] MACs");
    }

    /**
     * A model fetched by {@code fixtures/paddleocr/fetch.sh}: {@code -Dtest.paddleocr.dir}, {@code
     * QUANTFLOW_PADDLEOCR_DIR}, or the script's default cache; absent, the test is skipped (failed with
     * {@code -Dtest.require-real-models=true}, as in CI).
     */
    static Path paddleOcr(String file) {
        String dir = System.getProperty("test.paddleocr.dir");
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("QUANTFLOW_PADDLEOCR_DIR");
        }
        Path base;
        if (dir != null && !dir.isBlank()) {
            base = Path.of(dir);
        } else {
            String cache = System.getenv("QUANTFLOW_CACHE");
            base = (cache == null || cache.isBlank() ? Path.of(System.getProperty("user.home"), ".cache", "quantflow")
                : Path.of(cache)).resolve("paddleocr");
        }
        Path path = base.resolve(file);
        if (!Files.isRegularFile(path)) {
            String message = file + " not found in " + base + ": run fixtures/paddleocr/fetch.sh";
            if (Boolean.getBoolean("test.require-real-models")) {
                throw new AssertionError(message + " (test.require-real-models=true)");
            }
            org.junit.jupiter.api.Assumptions.abort(message);
        }
        return path;
    }

    private static List<String> ops(OnnxModel m) {
        return m.graph().getNodeList().stream().map(OnnxMl.NodeProto::getOpType).toList();
    }
}
