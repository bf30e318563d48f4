package dev.quantflow.bench;

import ai.onnxruntime.OrtEnvironment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.Locale;

/** The one line every MiniLM bench prints before its table: date, ORT and JDK versions, input and CPU count. */
final class BenchEnvironment {

    private BenchEnvironment() {
    }

    static String line(OrtEnvironment env, int sentences, Path sentencesFile, double meanTokens) {
        return String.format(Locale.ROOT, "date %s, ORT %s, JDK %s, %d sentences (%s), mean %.1f tokens, %d availableProcessors",
            ZonedDateTime.now().toLocalDate(), env.getVersion(), Runtime.version(), sentences,
            Files.exists(sentencesFile) ? sentencesFile : "generated", meanTokens,
            Runtime.getRuntime().availableProcessors());
    }
}
