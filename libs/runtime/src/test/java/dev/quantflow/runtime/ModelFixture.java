package dev.quantflow.runtime;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import dev.quantflow.runtime.npz.NpzArchive;

/**
 * A model fixture of the repository ({@code fixtures/<name>}, made by its train.py): the ONNX model and its
 * calibration and eval sets, read.
 */
public record ModelFixture(Path dir, byte[] model, NpzArchive calib, NpzArchive eval) {

    /** {@code fixtures/<name>}; the calling test is skipped (an assumption) while the fixture is not built. */
    public static ModelFixture load(String name) throws IOException {
        Path dir = Path.of("../../fixtures", name);
        assumeTrue(Stream.of("model.onnx", "calib.npz", "eval.npz").allMatch(f -> Files.isRegularFile(dir.resolve(f))),
            "fixture fixtures/" + name + " not built yet");
        return new ModelFixture(dir, Files.readAllBytes(dir.resolve("model.onnx")), NpzArchive.read(dir.resolve("calib.npz")),
            NpzArchive.read(dir.resolve("eval.npz")));
    }
}
