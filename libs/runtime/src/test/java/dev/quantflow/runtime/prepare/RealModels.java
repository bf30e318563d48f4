package dev.quantflow.runtime.prepare;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;

/**
 * Where the third-party models fetched by {@code fixtures/paddleocr/fetch.sh} are: system property
 * {@code test.paddleocr.dir}, else env {@code QUANTFLOW_PADDLEOCR_DIR}, else
 * {@code ${QUANTFLOW_CACHE:-$HOME/.cache/quantflow}/paddleocr} (the script's default). A missing model skips the test
 * with a message saying how to get it, or fails it when {@code -Dtest.require-real-models=true} (CI).
 */
final class RealModels {

    private RealModels() {
    }

    static Path paddleOcrDir() {
        String dir = System.getProperty("test.paddleocr.dir");
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("QUANTFLOW_PADDLEOCR_DIR");
        }
        if (dir == null || dir.isBlank()) {
            String cache = System.getenv("QUANTFLOW_CACHE");
            Path base = cache == null || cache.isBlank()
                ? Path.of(System.getProperty("user.home"), ".cache", "quantflow") : Path.of(cache);
            return base.resolve("paddleocr");
        }
        return Path.of(dir);
    }

    static Path paddleOcr(String file) {
        Path path = paddleOcrDir().resolve(file);
        if (!Files.isRegularFile(path)) {
            String message = file + " not found in " + paddleOcrDir() + ": run fixtures/paddleocr/fetch.sh";
            if (Boolean.getBoolean("test.require-real-models")) {
                throw new AssertionError(message + " (test.require-real-models=true)");
            }
            Assumptions.abort(message);
        }
        return path;
    }

    /**
     * A model fetched by {@code fixtures/silero/fetch.sh}: system property {@code test.silero.dir}, else env
     * QUANTFLOW_SILERO_DIR, else the script's cache dir.
     */
    static Path silero(String file) {
        String dir = System.getProperty("test.silero.dir");
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("QUANTFLOW_SILERO_DIR");
        }
        if (dir == null || dir.isBlank()) {
            String cache = System.getenv("QUANTFLOW_CACHE");
            Path base = cache == null || cache.isBlank()
                ? Path.of(System.getProperty("user.home"), ".cache", "quantflow") : Path.of(cache);
            dir = base.resolve("silero").toString();
        }
        Path path = Path.of(dir).resolve(file);
        if (!Files.isRegularFile(path)) {
            String message = file + " not found in " + dir + ": run fixtures/silero/fetch.sh";
            if (Boolean.getBoolean("test.require-real-models")) {
                throw new AssertionError(message + " (test.require-real-models=true)");
            }
            Assumptions.abort(message);
        }
        return path;
    }
}
