package dev.quantflow.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's {@code fixtures/} (real models and data), found from the module a test runs in. */
public final class Fixtures {

    private Fixtures() {
    }

    /** e.g. {@code path("fashion-cnn/model.onnx")}. */
    public static Path path(String relative) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path f = dir.resolve("fixtures").resolve(relative);
            if (Files.exists(f)) {
                return f;
            }
        }
        throw new IllegalStateException("no fixtures/" + relative + " above " + Path.of("").toAbsolutePath());
    }
}
