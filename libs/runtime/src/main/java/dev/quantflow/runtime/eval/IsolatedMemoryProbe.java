package dev.quantflow.runtime.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.npz.NpzWriter;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Peak memory of a model measured in a fresh JVM, so that no earlier model's pages or allocator arenas are reused
 * (an in-process measurement charges the first model with memory that the second one then finds already resident).
 *
 * <p>The child loads ONNX Runtime, records {@code VmRSS}, resets the peak ({@code /proc/self/clear_refs}), creates
 * the session (all graph optimizations), runs one batch of the given data twice, and reports
 * {@code VmHWM - VmRSS_before}: the memory the model adds to a process that already has the runtime loaded.
 */
public final class IsolatedMemoryProbe {

    private static final String RESULT_PREFIX = "quantflow-peak-kb=";

    private IsolatedMemoryProbe() {
    }

    /**
     * @param batch the data to run (one batch; every array sliced to the same rows)
     * @return peak MB, or empty when a child JVM cannot be started here (no /proc, classes not in files, …)
     */
    public static Optional<Double> measureMb(byte[] modelBytes, NpzArchive batch, int intraOpThreads) {
        Optional<String> classpath = classpath();
        Optional<String> java = ProcessHandle.current().info().command();
        if (classpath.isEmpty() || java.isEmpty() || !Files.isReadable(Path.of("/proc/self/status"))) {
            return Optional.empty();
        }
        Path dir = null;
        try {
            dir = Files.createTempDirectory("qf-memprobe");
            Path model = dir.resolve("model.onnx");
            Path data = dir.resolve("batch.npz");
            Files.write(model, modelBytes);
            NpzWriter.write(data, batch.arrays(), false);
            Process p = new ProcessBuilder(java.get(), "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-cp", classpath.get(), IsolatedMemoryProbe.class.getName(), model.toString(), data.toString(),
                String.valueOf(intraOpThreads))
                .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return Optional.empty();
            }
            for (String line : out.split("\n")) {
                if (line.startsWith(RESULT_PREFIX)) {
                    return Optional.of(Long.parseLong(line.substring(RESULT_PREFIX.length()).trim()) / 1024.0);
                }
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } finally {
            deleteQuietly(dir);
        }
    }

    /** Child entry point: {@code model.onnx batch.npz threads}; prints {@value #RESULT_PREFIX}N. */
    public static void main(String[] args) throws Exception {
        byte[] model = Files.readAllBytes(Path.of(args[0]));
        NpzArchive data = NpzArchive.read(Path.of(args[1]));
        int threads = Integer.parseInt(args[2]);
        OrtModels.environment();
        System.gc();
        OptionalLong before = ProcessMemory.rssKb();
        if (before.isEmpty() || !ProcessMemory.resetPeak()) {
            System.exit(2);
        }
        try (OrtSession session = OrtModels.createSession(model, threads, OrtSession.SessionOptions.OptLevel.ALL_OPT);
             OrtModels.InputBatch in = OrtModels.feed(session, data, 0,
                 dev.quantflow.runtime.dataset.SampleAxes.samples(session, data))) {
            for (int i = 0; i < 2; i++) {
                try (OrtSession.Result r = session.run(in.tensors())) {
                    r.size();
                }
            }
        }
        OptionalLong peak = ProcessMemory.peakKb();
        if (peak.isEmpty()) {
            System.exit(2);
        }
        System.out.println(RESULT_PREFIX + Math.max(0, peak.getAsLong() - before.getAsLong()));
        System.exit(0);
    }

    /** The runtime's own jar (or classes folder) and ONNX Runtime's jar, when both are plain files. */
    static Optional<String> classpath() {
        List<String> parts = new ArrayList<>();
        for (Class<?> c : List.of(IsolatedMemoryProbe.class, OrtEnvironment.class)) {
            try {
                var source = c.getProtectionDomain().getCodeSource();
                if (source == null || source.getLocation() == null || !"file".equals(source.getLocation().getProtocol())) {
                    return Optional.empty();
                }
                Path path = Path.of(source.getLocation().toURI());
                if (!Files.exists(path)) {
                    return Optional.empty();
                }
                parts.add(path.toString());
            } catch (Exception e) {
                return Optional.empty();
            }
        }
        return Optional.of(String.join(java.io.File.pathSeparator, parts));
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a temp folder left behind is harmless
        }
    }
}
