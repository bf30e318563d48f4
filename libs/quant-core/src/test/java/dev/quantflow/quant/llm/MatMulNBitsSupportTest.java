package dev.quantflow.quant.llm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.Nodes;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.onnx.Tensors;
import dev.quantflow.quant.OrtSupport;
import dev.quantflow.quant.TestModels;

/**
 * Which {@code bits} ONNX Runtime's CPU MatMulNBits actually runs, correctly, for our packing: the set
 * {@link LlmWeightQuantizer#MATMUL_NBITS_BITS} must be exactly that (so a new ORT version that adds or drops one
 * fails here).
 */
class MatMulNBitsSupportTest {

    @Test
    void supportedBitsAreThoseOrtRunsCorrectly() {
        Set<Integer> works = new TreeSet<>();
        for (int bits = 2; bits <= 8; bits++) {
            if (runsCorrectly(bits, 64, 45, 6)) {
                works.add(bits);
            }
        }
        assertThat(works).isEqualTo(new TreeSet<>(LlmWeightQuantizer.MATMUL_NBITS_BITS));
    }

    private static boolean runsCorrectly(int bits, int blockSize, int k, int n) {
        Random r = new Random(bits);
        float[] w = LlmTestData.gaussian(r, k * n, 0.3f);
        BlockQuantizedWeight q = new RtnQuantizer(new BlockQuantGrid(bits, false), blockSize).quantize(w, k, n);
        int blocks = q.blocks();
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("nbits");
        g.addInput(TestModels.value("x", "B", k)).addOutput(TestModels.value("y", "B", n));
        g.addInitializer(Tensors.uint8Tensor("B", new long[] {n, blocks, MatMulNBitsPacking.blobSize(blockSize, bits)},
            MatMulNBitsPacking.packB(q)));
        g.addInitializer(Tensors.floatTensor("S", new long[] {(long) n * blocks}, MatMulNBitsPacking.packScales(q)));
        byte[] zp = MatMulNBitsPacking.packZeroPoints(q);
        g.addInitializer(Tensors.uint8Tensor("Z", new long[] {zp.length}, zp));
        g.addNode(Nodes.createInDomain("com.microsoft", "MatMulNBits", "mm", List.of("x", "B", "S", "Z"), List.of("y"),
            Nodes.intAttribute("K", k), Nodes.intAttribute("N", n), Nodes.intAttribute("bits", bits),
            Nodes.intAttribute("block_size", blockSize), Nodes.intAttribute("accuracy_level", 0)));
        OnnxModel model = TestModels.model(g, 17).withOpsetImport("com.microsoft", 1);
        int rows = 3;
        float[] x = LlmTestData.gaussian(r, rows * k, 1f);
        float[] y;
        try {
            y = OrtSupport.run(model, "x", x, new long[] {rows, k}, OrtSession.SessionOptions.OptLevel.ALL_OPT).get("y");
        } catch (RuntimeException e) {
            return false;
        }
        double[] expected = LlmTestData.matmul(x, rows, k, q.dequantize(), n);
        return LlmWeightQuantizerTest.relativeDiff(y, expected) < 1e-4;
    }
}
