package dev.quantflow.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;

import ai.onnx.proto.OnnxMl;

/** Hostile models: external-data paths, size claims beyond the data or the file, deep nesting, huge declared shapes. */
class ModelSafetyTest {

    /** x → Add(x, w) → y, with {@code w} as given. */
    static OnnxModel withWeight(OnnxMl.TensorProto w) {
        return wrap(graph(w).build());
    }

    static OnnxMl.GraphProto.Builder graph(OnnxMl.TensorProto w) {
        return OnnxMl.GraphProto.newBuilder().setName("g")
            .addNode(Nodes.create("Add", "add", List.of("x", w.getName()), List.of("y")))
            .addInitializer(w)
            .addInput(GraphEditorTest.value("x")).addOutput(GraphEditorTest.value("y"));
    }

    static OnnxModel wrap(OnnxMl.GraphProto g) {
        return OnnxModel.parse(OnnxMl.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13)).build().toByteArray());
    }

    static OnnxMl.TensorProto external(String location, long offset, long length) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName("w").addDims(4)
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
            .setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
            .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue(location));
        if (offset >= 0) {
            t.addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("offset").setValue(String.valueOf(offset)));
        }
        if (length >= 0) {
            t.addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("length").setValue(String.valueOf(length)));
        }
        return t.build();
    }

    @Test
    void externalDataOutsideTheFolderByDotDotAbsolutePathOrSymlinkAndMissingFilesAreRefusedNamingThePath(@TempDir Path tmp)
            throws Exception {
        Path folder = Files.createDirectories(tmp.resolve("model"));
        Files.write(folder.resolve("weights.bin"), new byte[16]);
        Path secret = Files.write(tmp.resolve("secret.bin"), new byte[16]);
        Files.createSymbolicLink(folder.resolve("link.bin"), secret);
        Files.createDirectories(folder.resolve("sub"));
        Files.write(folder.resolve("sub/inner.bin"), new byte[16]);

        assertThat(ModelSafety.externalDataProblems(withWeight(external("weights.bin", 0, 16)), folder)).isEmpty();
        assertThat(ModelSafety.externalDataProblems(withWeight(external("sub/inner.bin", -1, -1)), folder)).isEmpty();
        assertThat(ModelSafety.externalDataProblems(withWeight(external("../secret.bin", 0, 16)), folder))
            .singleElement().asString().contains("'../secret.bin'").contains("outside the model's folder");
        assertThat(ModelSafety.externalDataProblems(withWeight(external("sub/../../secret.bin", 0, 16)), folder))
            .singleElement().asString().contains("outside the model's folder");
        assertThat(ModelSafety.externalDataProblems(withWeight(external(secret.toString(), 0, 16)), folder))
            .singleElement().asString().contains("absolute path '" + secret + "'");
        assertThat(ModelSafety.externalDataProblems(withWeight(external("/etc/passwd", 0, 16)), folder))
            .singleElement().asString().contains("absolute path '/etc/passwd'");
        assertThat(ModelSafety.externalDataProblems(withWeight(external("link.bin", 0, 16)), folder))
            .singleElement().asString().contains("'link.bin'").contains("symlink leading outside");
        assertThat(ModelSafety.externalDataProblems(withWeight(external("gone.bin", 0, 16)), folder))
            .singleElement().asString().contains("'gone.bin'").contains("missing");
        assertThat(ModelSafety.externalDataProblems(withWeight(external("weights.bin", 8, 4096)), folder))
            .singleElement().asString().contains("which has 16 bytes");
        // a model that came as bytes alone (an upload) has no folder: any file reference is refused
        assertThat(ModelSafety.externalDataProblems(withWeight(external("weights.bin", 0, 16)), null))
            .singleElement().asString().contains("'weights.bin'").contains("self-contained");
        assertThat(ModelSafety.externalDataProblems(withWeight(Tensors.floatTensor("w", new long[] {4}, new float[4])), null))
            .isEmpty();
    }

    @Test
    void externalDataInsideSubgraphsIsFoundToo() {
        OnnxMl.GraphProto body = graph(external("../../etc/shadow", 0, 16)).setName("then").build();
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("g")
            .addNode(OnnxMl.NodeProto.newBuilder().setOpType("If").setName("if").addInput("x").addOutput("y")
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("then_branch").setG(body))
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("else_branch").setG(body)))
            .addInput(GraphEditorTest.value("x")).addOutput(GraphEditorTest.value("y")).build();
        assertThat(ModelSafety.externalDataProblems(wrap(g), null)).hasSize(2)
            .allSatisfy(p -> assertThat(p).contains("subgraph of node 'if'").contains("'../../etc/shadow'"));
    }

    @Test
    void tensorsHoldingLessThanTheirDimsClaimAreNamed() {
        OnnxMl.TensorProto huge = OnnxMl.TensorProto.newBuilder().setName("w").addDims(1 << 20).addDims(1 << 20)
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(new byte[4])).build();
        assertThat(ModelSafety.payloadProblems(withWeight(huge))).singleElement().asString()
            .contains("initializer 'w'").contains("4.0 TiB").contains("holds 4 bytes");
        OnnxMl.TensorProto typed = OnnxMl.TensorProto.newBuilder().setName("w").addDims(3)
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).addFloatData(1f).build();
        assertThat(ModelSafety.payloadProblems(withWeight(typed))).singleElement().asString().contains("holds 4 bytes");
        OnnxMl.TensorProto overflow = OnnxMl.TensorProto.newBuilder().setName("w").addDims(Long.MAX_VALUE).addDims(4)
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).build();
        assertThat(ModelSafety.payloadProblems(withWeight(overflow))).singleElement().asString().contains("more elements than a long");
        assertThat(ModelSafety.payloadProblems(withWeight(Tensors.floatTensor("w", new long[] {2, 2}, new float[4])))).isEmpty();
    }

    @Test
    void realModelsPassEveryCheck() throws Exception {
        OnnxModel cnn = OnnxModel.parse(Files.readAllBytes(Path.of("../../fixtures/fashion-cnn/model.onnx")));
        assertThat(ModelSafety.payloadProblems(cnn)).isEmpty();
        assertThat(ModelSafety.externalDataProblems(cnn, null)).isEmpty();
        assertThat(ModelSafety.overBudget(cnn, 64L << 20)).isNull();
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            OnnxModel minilm = OnnxModel.parse(in.readAllBytes());
            assertThat(ModelSafety.payloadProblems(minilm)).isEmpty();
            assertThat(ModelSafety.externalDataProblems(minilm, null)).isEmpty();
            long weights = ModelSafety.declaredBytes(minilm).initializers();
            assertThat(weights).isBetween(80L << 20, 100L << 20); // the 22.7 M-parameter FP32 model, ~90 MB
            assertThat(ModelSafety.overBudget(minilm, 8L << 30)).isNull();
            assertThat(ModelSafety.overBudget(minilm, 16L << 20)).contains("weights are declared as").contains("16.0 MiB");
        }
    }

    /** Every model the repository ships, plus the PaddleOCR exports when fixtures/paddleocr/fetch.sh has run. */
    @Test
    void everyShippedAndFetchedModelPassesThePayloadAndExternalDataChecks() throws Exception {
        List<Path> models = new java.util.ArrayList<>();
        try (var files = Files.walk(Path.of("../../fixtures"))) {
            files.filter(p -> p.toString().endsWith(".onnx")).forEach(models::add);
        }
        Path paddle = Path.of(System.getProperty("user.home"), ".cache/quantflow/paddleocr");
        if (Files.isDirectory(paddle)) {
            try (var files = Files.list(paddle)) {
                files.filter(p -> p.toString().endsWith(".onnx")).forEach(models::add);
            }
        }
        assertThat(models).hasSizeGreaterThanOrEqualTo(10);
        for (Path p : models) {
            OnnxModel m = OnnxModel.parse(Files.readAllBytes(p));
            assertThat(ModelSafety.payloadProblems(m)).as(p.toString()).isEmpty();
            assertThat(ModelSafety.externalDataProblems(m, p.getParent())).as(p.toString()).isEmpty();
            assertThat(ModelSafety.overBudget(m, 8L << 30)).as(p.toString()).isNull();
        }
    }

    @Test
    void aDeclaredShapeOverTheMemoryBudgetIsNamed() {
        OnnxMl.ValueInfoProto big = OnnxMl.ValueInfoProto.newBuilder().setName("activation").setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                .setShape(OnnxMl.TensorShapeProto.newBuilder()
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(65536))
                    .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(65536))))).build();
        OnnxModel model = wrap(graph(Tensors.floatTensor("w", new long[] {1}, new float[1])).addValueInfo(big).build());
        assertThat(ModelSafety.overBudget(model, 8L << 30)).contains("tensor 'activation'").contains("16.0 GiB")
            .contains("8.0 GiB");
        assertThat(ModelSafety.overBudget(model, 32L << 30)).isNull();
    }

    @Test
    void aLengthClaimBeyondTheFileEndIsRefusedWithoutAllocatingIt() throws Exception {
        // ModelProto field 7 (graph), length-delimited, claiming 2 GiB - 1 with 10 bytes behind it
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeInt64(1, 7);
        out.writeTag(7, 2);
        out.writeUInt32NoTag(Integer.MAX_VALUE);
        out.writeRawBytes(new byte[10]);
        out.flush();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> OnnxModel.parse(bytes.toByteArray())).isInstanceOf(OnnxFormatException.class)
            .hasMessageContaining("truncated");
        assertThat(System.nanoTime() - t0).as("no 2 GiB buffer is filled").isLessThan(2_000_000_000L);
    }

    @Test
    void nestingDeeperThanProtobufsLimitIsRefused() {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("leaf").build();
        for (int i = 0; i < 200; i++) {
            g = OnnxMl.GraphProto.newBuilder().setName("g" + i)
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("If").addInput("x").addOutput("y")
                    .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("then_branch").setG(g)))
                .addInput(GraphEditorTest.value("x")).addOutput(GraphEditorTest.value("y")).build();
        }
        byte[] deep = OnnxMl.ModelProto.newBuilder().setIrVersion(7).setGraph(g)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13)).build().toByteArray();
        assertThatThrownBy(() -> OnnxModel.parse(deep)).isInstanceOf(OnnxFormatException.class)
            .hasMessageContaining("nesting");
    }
}
