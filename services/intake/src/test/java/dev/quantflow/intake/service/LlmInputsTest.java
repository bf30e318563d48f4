package dev.quantflow.intake.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.npz.NpzWriter;

class LlmInputsTest {

    static final Path GPT = Path.of("../../fixtures/gpt");

    static OnnxModel gpt() throws Exception {
        return OnnxModel.parse(Files.readAllBytes(GPT.resolve("model.onnx")));
    }

    static NpzArchive read(byte[] npz) {
        return NpzArchive.read(new ByteArrayInputStream(npz));
    }

    static byte[] npz(NdArray a) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NpzWriter.write(out, List.of(a), false);
        return out.toByteArray();
    }

    @Test
    void textCalibrationBecomesWindowsOfTheContextAndHeldOutTextOneTokenStream() throws Exception {
        byte[] tokenizer = Files.readAllBytes(GPT.resolve("tokenizer.json"));
        NpzArchive calib = read(LlmInputs.calibrationNpz(gpt(), Files.readAllBytes(GPT.resolve("calib.txt")), "calib.txt", tokenizer));
        NdArray windows = calib.array("input_ids");
        assertThat(windows.shape()[1]).isEqualTo(128);
        assertThat(windows.shape()[0]).isBetween(1L, (long) LlmInputs.MAX_CALIBRATION_WINDOWS);
        NpzArchive held = read(LlmInputs.validationNpz(gpt(), Files.readAllBytes(GPT.resolve("heldout.txt")), "heldout.txt", tokenizer));
        long[] tokens = held.array("tokens").toLongs();
        assertThat(tokens.length).isGreaterThan(129);
        // heldout.txt is the start of the held-out stream the fixture script tokenized in Python (heldout.npz):
        // tokenized here with the tokenizer.json, its ids are the same
        long[] python = NpzArchive.read(GPT.resolve("heldout.npz")).array("tokens").toLongs();
        int n = Math.min(2000, Math.min(tokens.length, python.length));
        assertThat(java.util.Arrays.copyOf(tokens, n)).containsExactly(java.util.Arrays.copyOf(python, n));
    }

    @Test
    void tokenStreamsAndWindowsPassAndBadIdsOrTooFewTokensAreRefused() throws Exception {
        OnnxModel gpt = gpt();
        long[] stream = new long[300];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = i % 1000;
        }
        NpzArchive fromStream = read(LlmInputs.calibrationNpz(gpt, npz(NdArray.ofLongs("tokens", stream, stream.length)), "c.npz", null));
        assertThat(fromStream.array("input_ids").shape()).containsExactly(2, 128);
        long[] windows = new long[3 * 64];
        NpzArchive given = read(LlmInputs.calibrationNpz(gpt, npz(NdArray.ofLongs("input_ids", windows, 3, 64)), "c.npz", null));
        assertThat(given.array("input_ids").shape()).containsExactly(3, 64);

        stream[5] = 5000;
        assertThatThrownBy(() -> LlmInputs.validationNpz(gpt, npz(NdArray.ofLongs("tokens", stream, stream.length)), "v.npz", null))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> {
                assertThat(e.code()).isEqualTo("DATASET_MISMATCH");
                assertThat(e.getMessage()).contains("5000").contains("vocabulary of 1025");
            });
        assertThatThrownBy(() -> LlmInputs.validationNpz(gpt, npz(NdArray.ofLongs("tokens", new long[100], 100)), "v.npz", null))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("fewer than one perplexity window"));
        assertThatThrownBy(() -> LlmInputs.calibrationNpz(gpt, "just text".getBytes(), "c.txt", null))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("tokenizer.json"));
        assertThatThrownBy(() -> LlmInputs.calibrationNpz(gpt, npz(NdArray.ofFloats("input", new float[4], 4)), "c.npz", null))
            .isInstanceOfSatisfying(RejectedInputException.class, e -> assertThat(e.getMessage()).contains("'tokens'"));
    }
}
